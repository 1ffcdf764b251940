// tern-web pure code: form/query decoding, cookies, the escaping template layer, routing.
#include <catch2/catch.hpp>

#include "tern/web/cookie.hpp"
#include "tern/web/form.hpp"
#include "tern/web/html.hpp"
#include "tern/web/http.hpp"
#include "tern/web/router.hpp"

using namespace tern::web;

TEST_CASE("percent_decode", "[web][form]") {
  struct Row {
    const char* in;
    bool plus;
    std::optional<std::string> out;
  };
  const Row rows[] = {
      {"abc", true, "abc"},
      {"a+b", true, "a b"},
      {"a+b", false, "a+b"},
      {"%41%62", true, "Ab"},
      {"%e2%82%ac", true, "\xe2\x82\xac"},
      {"%00", true, std::string(1, '\0')},
      {"%", true, std::nullopt},
      {"%4", true, std::nullopt},
      {"ab%4", true, std::nullopt},
      {"%zz", true, std::nullopt},
      {"100%", true, std::nullopt},
      {"", true, ""},
  };
  for (auto& r : rows) {
    INFO(r.in);
    CHECK(percent_decode(r.in, r.plus) == r.out);
  }
  CHECK(percent_encode("a b@c/d~") == "a%20b%40c%2Fd~");
  CHECK(percent_decode(percent_encode("<script>&\"'"), false) == std::optional<std::string>("<script>&\"'"));
}

TEST_CASE("parse_form: fields, repeats, empty pairs, errors and limits", "[web][form]") {
  auto r = parse_form("a=1&b=x+y&&c&a=2&d=%3Cb%3E");
  REQUIRE(r);
  CHECK(r.form->get("a") == "1");
  CHECK(r.form->all("a") == std::vector<std::string>{"1", "2"});
  CHECK(r.form->get("b") == "x y");
  CHECK(r.form->has("c"));
  CHECK(r.form->get("c").empty());
  CHECK(r.form->get("d") == "<b>");
  CHECK(!r.form->has("zz"));
  CHECK(parse_form("").form->fields().empty());
  CHECK(parse_form("a=%G1").error->code == FormError::bad_escape);

  FormLimits lim;
  lim.max_fields = 3;
  lim.max_name = 4;
  lim.max_value = 5;
  CHECK(parse_form("a=1&b=2&c=3", lim));
  CHECK(parse_form("a=1&b=2&c=3&d=4", lim).error->code == FormError::too_many_fields);
  CHECK(parse_form("abcde=1", lim).error->code == FormError::name_too_long);
  CHECK(parse_form("a=123456", lim).error->code == FormError::value_too_long);
  CHECK(parse_form("a=%31%32%33%34%35", lim));  // limits apply to decoded octets
}

TEST_CASE("is_clean_text: UTF-8 and control characters", "[web][form]") {
  CHECK(is_clean_text("plain text", true));
  CHECK(is_clean_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", true));
  CHECK(!is_clean_text("a\nb", true));
  CHECK(is_clean_text("a\r\nb\tc", false));
  CHECK(!is_clean_text(std::string("a\0b", 3), false));
  CHECK(!is_clean_text("\x1b[31m", false));
  CHECK(!is_clean_text("\xc3", true));          // truncated
  CHECK(!is_clean_text("\xc0\xaf", true));      // overlong '/'
  CHECK(!is_clean_text("\xed\xa0\x80", true));  // surrogate
  CHECK(!is_clean_text("\xc2\x85", true));      // C1 control (NEL)
  CHECK(!is_clean_text("\xff", true));
}

TEST_CASE("cookies: parse and set", "[web][cookie]") {
  auto c = parse_cookies("a=1; tern_session=abc; b=\"q\"; bad name=x; noeq; c=");
  REQUIRE(c.size() == 4);
  CHECK(c[1] == std::pair<std::string, std::string>{"tern_session", "abc"});
  CHECK(c[2].second == "q");
  CHECK(c[3] == std::pair<std::string, std::string>{"c", ""});
  CHECK(find_cookie("x=1; tern_session=tok", "tern_session") == std::optional<std::string>("tok"));
  CHECK(!find_cookie("x=1", "tern_session"));
  std::string many;
  for (int i = 0; i < 200; ++i) many += "k" + std::to_string(i) + "=v; ";
  CHECK(parse_cookies(many).size() == kMaxCookies);

  CookieOptions o;
  CHECK(set_cookie("s", "v", o) == "s=v; Path=/; HttpOnly; Secure; SameSite=Strict");
  o.secure = false;
  o.max_age = std::chrono::seconds(0);
  CHECK(set_cookie("s", "", o) == "s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  CHECK_THROWS_AS(set_cookie("s", "a;b", o), std::invalid_argument);
  CHECK_THROWS_AS(set_cookie("a b", "v", o), std::invalid_argument);
}

TEST_CASE("templates escape every text value", "[web][html]") {
  CHECK(escape("<script>alert('x')</script> & \"q\"") ==
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  CHECK(escape("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(escape("\xff") == "\xEF\xBF\xBD");
  CHECK(escape(std::string("a\0b", 3)) == "a\xEF\xBF\xBD" "b");
  Html h = render(R"(<p title="{{t}}">{{t}} {{raw}} {{n}}</p>)",
                  {{"t", std::string("\"><script>x</script>")}, {"raw", Html("<b>ok</b>")}, {"n", 42}});
  CHECK(h.str() == "<p title=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\">&quot;&gt;&lt;script&gt;x&lt;/script&gt; <b>ok</b> 42</p>");
  // A value that looks like a slot is text, not a template.
  CHECK(render("<i>{{a}}</i>", {{"a", "{{b}}"}}).str() == "<i>{{b}}</i>");
  CHECK_THROWS_AS(render("<i>{{missing}}</i>", {{"a", "x"}}), std::logic_error);
  CHECK_THROWS_AS(render("<i>{{open</i>", {}), std::logic_error);
  CHECK(join({Html("<a>"), text("<"), Html("</a>")}).str() == "<a>&lt;</a>");
}

TEST_CASE("router: captures, methods, decoding", "[web][router]") {
  Router<int> r;
  r.add("GET", "/", 1);
  r.add("GET", "/domains", 2);
  r.add("POST", "/domains", 3);
  r.add("GET", "/domains/{domain}", 4);
  r.add("POST", "/mailboxes/{address}/password", 5);
  auto m = r.match("GET", "/");
  REQUIRE(m.handler);
  CHECK(*m.handler == 1);
  CHECK(*r.match("POST", "/domains").handler == 3);
  CHECK(*r.match("GET", "/domains/").handler == 2);
  CHECK(*r.match("HEAD", "/domains").handler == 2);
  m = r.match("GET", "/domains/ex%61mple.test");
  REQUIRE(m.handler);
  CHECK(param(m.params, "domain") == "example.test");
  m = r.match("POST", "/mailboxes/a%40b.test/password");
  REQUIRE(m.handler);
  CHECK(param(m.params, "address") == "a@b.test");
  CHECK(!r.match("GET", "/domains/a%2Fb").handler);    // no '/' smuggled into a capture
  CHECK(!r.match("GET", "/domains/%0a").handler);      // no control characters
  CHECK(!r.match("GET", "/domains/%zz").handler);
  CHECK(!r.match("GET", "/domains/x/y").handler);
  CHECK(!r.match("GET", "domains").handler);
  m = r.match("DELETE", "/domains");
  CHECK(!m.handler);
  CHECK(m.method_not_allowed);
  CHECK(!r.match("GET", "/nope").method_not_allowed);
}

TEST_CASE("split_target", "[web][http]") {
  CHECK(split_target("/a?b=1") == std::pair<std::string, std::string>{"/a", "b=1"});
  CHECK(split_target("/a") == std::pair<std::string, std::string>{"/a", ""});
  CHECK(split_target("/a?b#frag") == std::pair<std::string, std::string>{"/a", "b"});
}
