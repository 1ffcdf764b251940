// Static assets, embedded in the binary (no CDN): the stylesheet and the one small
// script (copy buttons, confirmations). No inline script or style anywhere, so the
// Content-Security-Policy can forbid both.
#include "app_impl.hpp"

namespace tern::web::detail {

namespace {

constexpr std::string_view kStyle = R"CSS(
:root{--bg:#f4f6f9;--card:#fff;--ink:#1c2430;--muted:#5b6675;--line:#dde3ea;--accent:#1f5fbf;--accent-ink:#fff;
--ok:#1d7a46;--warn:#9a6200;--bad:#b3261e;--chip:#eef2f7;--radius:10px}
*{box-sizing:border-box}
html{font-size:16px}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem;padding:.6rem 1.25rem;background:#16202e;color:#e9eef5}
header.top a{color:#e9eef5}
.brand{font-weight:700;font-size:1.1rem;letter-spacing:.02em;display:flex;align-items:center;gap:.4rem}
.brand .host{font-weight:400;font-size:.85rem;color:#9fb0c5}
.logo{display:inline-grid;place-items:center;width:1.7rem;height:1.7rem;border-radius:6px;background:var(--accent);font-size:1rem}
nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;flex:1}
nav a{padding:.2rem 0;opacity:.9}
form.logout{display:flex;align-items:center;gap:.6rem;margin:0}
.who{color:#9fb0c5;font-size:.85rem;overflow-wrap:anywhere}
button.link{background:none;border:0;color:#e9eef5;text-decoration:underline;cursor:pointer;padding:0;font:inherit}
main{max-width:1100px;margin:1.25rem auto;padding:0 1rem}
footer{max-width:1100px;margin:2rem auto;padding:0 1rem;color:var(--muted);font-size:.8rem}
h1{font-size:1.45rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.4rem 0 .6rem}h3{font-size:1rem;margin:1rem 0 .4rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:1rem 1.2rem;margin:0 0 1rem;box-shadow:0 1px 2px rgba(16,24,40,.04)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:1rem;margin-bottom:1rem}.grid .card{margin:0}
.stat{display:flex;flex-direction:column}.stat .n{font-size:1.6rem;font-weight:650}.stat .l{color:var(--muted);font-size:.85rem}
.muted{color:var(--muted)}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}
form.stack{display:flex;flex-direction:column;gap:.35rem;max-width:460px}
form.inline{display:flex;flex-wrap:wrap;align-items:flex-end;gap:.5rem .75rem}
form.inline .f{display:flex;flex-direction:column;gap:.2rem;min-width:0}
label{font-weight:600;font-size:.85rem}
input[type=text],input[type=password],input[type=email],input[type=date],input[type=number],input[type=search],select,textarea{
font:inherit;padding:.5rem .6rem;border:1px solid #c5ced9;border-radius:7px;background:#fff;color:var(--ink);width:100%;max-width:100%}
textarea{min-height:8rem;resize:vertical}
input:focus,select:focus,textarea:focus{outline:2px solid #9cc0f5;border-color:var(--accent)}
button{font:inherit;cursor:pointer;border-radius:7px;border:1px solid #c5ced9;background:#fff;color:var(--ink);padding:.45rem .9rem}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--accent-ink);font-weight:600}
button.danger{background:#fff;border-color:var(--bad);color:var(--bad)}
button.danger.solid{background:var(--bad);color:#fff}
button.small{padding:.2rem .55rem;font-size:.82rem}
.actions{display:flex;flex-wrap:wrap;gap:.4rem}
.actions form{margin:0}
.notice{background:#e8f5ee;border:1px solid #b8e0c8;color:#14532d;padding:.55rem .8rem;border-radius:7px}
.error{background:#fdecea;border:1px solid #f5c2bd;color:#7f1d1d;padding:.55rem .8rem;border-radius:7px}
.field-error{color:var(--bad);font-size:.85rem;margin:.1rem 0 .3rem}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.75rem;font-weight:600;background:var(--chip);color:var(--muted)}
.badge.ok{background:#e3f4ea;color:var(--ok)}.badge.warn{background:#fff3dc;color:var(--warn)}.badge.bad{background:#fdecea;color:var(--bad)}
.bar{height:.5rem;background:var(--chip);border-radius:999px;overflow:hidden;min-width:6rem}
.bar>span{display:block;height:100%;background:var(--accent)}
.bar>span.hi{background:var(--bad)}
.login{max-width:420px;margin:3rem auto}
.chart{width:100%;height:auto;max-height:180px}
.chart .ax{stroke:#c9d2dd;stroke-width:1}
.chart text{font-size:10px;fill:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:.3rem .9rem;font-size:.8rem;color:var(--muted);margin:.3rem 0}
.legend i{display:inline-block;width:.7rem;height:.7rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
.c-received{fill:#1f5fbf;background:#1f5fbf}.c-delivered{fill:#2f9e66;background:#2f9e66}.c-sent{fill:#7b61c9;background:#7b61c9}
.c-rejected{fill:#d08a10;background:#d08a10}.c-bounced{fill:#c0392b;background:#c0392b}
.w-0{width:0}.w-5{width:5%}.w-10{width:10%}.w-15{width:15%}.w-20{width:20%}.w-25{width:25%}.w-30{width:30%}.w-35{width:35%}.w-40{width:40%}
.w-45{width:45%}.w-50{width:50%}.w-55{width:55%}.w-60{width:60%}.w-65{width:65%}.w-70{width:70%}.w-75{width:75%}.w-80{width:80%}.w-85{width:85%}
.w-90{width:90%}.w-95{width:95%}.w-100{width:100%}
.dns td.val{max-width:520px}.dns td.val code{overflow-wrap:anywhere;word-break:break-all}
.published{margin-top:.3rem;padding:.3rem .5rem;background:#fff3dc;border-radius:6px}
pre.policy{white-space:pre-wrap;background:var(--chip);padding:.6rem .8rem;border-radius:7px;margin:.4rem 0}
label.check{font-weight:400;display:flex;gap:.5rem;align-items:center}
.rotate-warning{background:#fff3dc;border:1px solid #f0d9a8;padding:.55rem .8rem;border-radius:7px}
.steps{list-style:none;padding:0;margin:0;border-left:2px solid var(--line)}
.steps li{padding:.3rem 0 .6rem 1rem;position:relative}
.steps li:before{content:"";position:absolute;left:-6px;top:.7rem;width:10px;height:10px;border-radius:50%;background:var(--accent)}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}
.kv dt{color:var(--muted)}.kv dd{margin:0;overflow-wrap:anywhere}
details summary{cursor:pointer;font-weight:600}
@media (max-width:640px){
header.top{padding:.6rem .8rem}main{padding:0 .6rem}.card{padding:.8rem}
header.top nav{order:3;flex-basis:100%;gap:.2rem 1rem}form.logout{margin-left:auto}
th,td{padding:.45rem .4rem}h1{font-size:1.25rem}
table.responsive thead{display:none}
table.responsive tr{display:block;border-bottom:1px solid var(--line);padding:.4rem 0}
table.responsive td{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.2rem 1rem;border:0;padding:.2rem .2rem;text-align:right;overflow-wrap:anywhere;min-width:0}
table.responsive td>div{flex-basis:100%}table.responsive td:before{flex:0 0 auto}
table.responsive td:before{content:attr(data-label);font-weight:600;color:var(--muted);text-align:left}
}
)CSS";

constexpr std::string_view kScript = R"JS(
// tern panel: copy buttons and confirmation prompts. The panel works without it.
document.addEventListener('click', function (ev) {
  var b = ev.target.closest('[data-copy]');
  if (b) {
    ev.preventDefault();
    var text = b.getAttribute('data-copy');
    var done = function () { var t = b.textContent; b.textContent = 'Copied'; setTimeout(function () { b.textContent = t; }, 1200); };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, function () {});
    else { var ta = document.createElement('textarea'); ta.value = text; document.body.appendChild(ta); ta.select(); try { document.execCommand('copy'); done(); } catch (e) {} ta.remove(); }
  }
});
document.addEventListener('submit', function (ev) {
  var f = ev.target;
  var q = f.getAttribute('data-confirm');
  if (q && !window.confirm(q)) ev.preventDefault();
});
)JS";

Response asset(std::string_view type, std::string_view body) {
  Response r;
  r.set("content-type", std::string(type));
  r.set("cache-control", "public, max-age=3600");
  r.body = std::string(body);
  return r;
}

Response style(Impl&, Ctx&) { return asset("text/css; charset=utf-8", kStyle); }
Response script(Impl&, Ctx&) { return asset("text/javascript; charset=utf-8", kScript); }

}  // namespace

void add_asset_routes(Router<Handler>& r) {
  r.add("GET", "/assets/style.css", open_route(style));
  r.add("GET", "/assets/app.js", open_route(script));
}

}  // namespace tern::web::detail
