// Bugs abort, loudly: a call that breaks an invariant of a pure state machine (a driver
// bug injected on purpose) aborts with TERN_ASSERT's file:line, in release builds too.
#include <catch2/catch.hpp>

#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <variant>

#include "../expect_abort.hpp"
#include "tern/log/assert.hpp"
#include "tern/pop3/session.hpp"
#include "tern/smtp/data_reader.hpp"

using tern::test::expect_abort;

namespace {

bool names(const std::string& err, const char* expr, const char* file) {
  return tern::test::assert_message(err, expr, file);
}

tern::pop3::SessionOptions tls_opts() {
  tern::pop3::SessionOptions o;
  o.tls_active = true;
  return o;
}

}  // namespace

TEST_CASE("POP3 session: callbacks out of order abort", "[pop3][session][assert]") {
  using tern::pop3::Session;
  // UPDATE's result without a QUIT.
  CHECK(names(expect_abort([] {
                Session s(tls_opts());
                std::string out;
                s.on_update_done(true, out);
              }),
              "state_ == State::Update", "common/src/pop3/session.cpp"));
  // A second login of the same session.
  CHECK(names(expect_abort([] {
                Session s(tls_opts());
                std::string out;
                s.on_login_ok("a@example.test", {}, out);
                s.on_login_ok("b@example.test", {}, out);
              }),
              "state_ == State::Authorization", "common/src/pop3/session.cpp"));
  // STLS twice.
  CHECK(names(expect_abort([] {
                Session s(tern::pop3::SessionOptions{});
                s.on_tls_started();
                s.on_tls_started();
              }),
              "state_ == State::Authorization && !opts_.tls_active", "common/src/pop3/session.cpp"));
  // The legal order does not abort.
  CHECK(expect_abort([] {
          Session s(tls_opts());
          std::string out;
          s.on_login_ok("a@example.test", {}, out);
          s.handle_line("QUIT", out);
          s.on_update_done(true, out);
        }) == "");
}

TEST_CASE("DATA decoder: misuse by the driver aborts", "[smtp][data][assert]") {
  using tern::smtp::DataMode;
  using tern::smtp::DataReader;
  // finish() is the end of a BDAT body; a DATA body ends at its terminator.
  CHECK(names(expect_abort([] {
                DataReader r(DataMode::Dot, 1000);
                r.finish();
              }),
              "mode_ == DataMode::Raw", "common/src/smtp/data_reader.cpp"));
  // Feeding on past the terminator (what follows it is the next command).
  CHECK(names(expect_abort([] {
                DataReader r(DataMode::Dot, 1000);
                std::string out;
                r.feed("hi\r\n.\r\n", out);
                r.feed("MAIL FROM:<a@b>\r\n", out);
              }),
              "!done_", "common/src/smtp/data_reader.cpp"));
}

TEST_CASE("which exceptions are bugs (abort) and which the environment's", "[log][assert]") {
  using tern::log::is_internal_error;
  CHECK(is_internal_error(std::logic_error("x")));
  CHECK(is_internal_error(std::out_of_range("x")));
  CHECK(is_internal_error(std::invalid_argument("x")));
  CHECK(is_internal_error(std::bad_optional_access()));
  CHECK(is_internal_error(std::bad_variant_access()));
  CHECK_FALSE(is_internal_error(std::runtime_error("disk")));
  CHECK_FALSE(is_internal_error(std::system_error(std::make_error_code(std::errc::no_space_on_device))));
  CHECK_FALSE(is_internal_error(std::bad_alloc()));
}
