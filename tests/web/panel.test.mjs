// Browser test of tern-web: playwright-core drives Debian's Chromium (never a
// downloaded browser). Run by tests/integration/test_web_browser.py, which starts the
// daemons and passes:
//   TERN_WEB_URL       http://127.0.0.1:PORT
//   TERN_SHOTS         directory for screenshots (test artifacts, under the build dir)
//   TERN_ADMIN / TERN_ADMIN_PW, TERN_DOMAIN_ADMIN / TERN_DOMAIN_ADMIN_PW
// It prints "STEP name" lines and exits non-zero on the first failed check.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const URL0 = process.env.TERN_WEB_URL;
const SHOTS = process.env.TERN_SHOTS;
const ADMIN = process.env.TERN_ADMIN, ADMIN_PW = process.env.TERN_ADMIN_PW;
const DADMIN = process.env.TERN_DOMAIN_ADMIN, DADMIN_PW = process.env.TERN_DOMAIN_ADMIN_PW;
// Fits every field's maxlength (the quota field takes 20); attribute quoting is
// covered by the unit tests' '"' and '\'' cases.
const XSS = '<script>x=1</script>';
fs.mkdirSync(SHOTS, { recursive: true });

function check(cond, what) {
  if (!cond) { console.error('FAILED: ' + what); process.exit(1); }
}

// launch() gives Chromium a fresh temporary --user-data-dir of its own (Playwright
// refuses the flag here and removes that profile on close).
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run'],
});
const pageErrors = [];
let shotN = 0;

async function shots(page, name) {
  // Every page at desktop and phone widths.
  for (const [w, h, tag] of [[1280, 900, 'desktop'], [390, 844, 'phone']]) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: path.join(SHOTS, `${String(++shotN).padStart(2, '0')}-${name}-${tag}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function newPage(ctx) {
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(String(e)));
  // Error statuses are expected here (403, 422, 429); CSP violations and script errors are not.
  p.on('console', (m) => { if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) pageErrors.push(m.text()); });
  return p;
}

async function login(page, user, pw) {
  await page.goto(URL0 + '/login');
  await page.fill('#login', user);
  await page.fill('#password', pw);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

try {
  // Clipboard access for the copy buttons of the DNS page.
  const ctx = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await newPage(ctx);

  console.log('STEP login page');
  await page.goto(URL0 + '/login');
  await shots(page, 'login');
  await page.fill('#login', ADMIN);
  await page.fill('#password', 'wrong-password-1');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  check((await page.textContent('.error')).includes('Wrong login or password'), 'wrong password message');
  check(!(await page.content()).includes('wrong-password-1'), 'password not echoed');
  await shots(page, 'login-error');
  await login(page, ADMIN, ADMIN_PW);
  check(page.url() === URL0 + '/', 'dashboard after login: ' + page.url());
  await shots(page, 'dashboard');

  console.log('STEP create domain');
  await page.goto(URL0 + '/domains');
  await page.fill('#domain', 'not a domain');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/domains"] button')]);
  check((await page.textContent('.field-error')).includes('not a valid domain'), 'domain validation message');
  await shots(page, 'domains-error');
  await page.fill('#domain', 'shop.test');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/domains"] button')]);
  check(page.url().startsWith(URL0 + '/domains/shop.test'), 'domain page: ' + page.url());
  check((await page.textContent('.notice')).includes('Domain added'), 'domain added notice');

  console.log('STEP create mailbox');
  await page.fill('#local', 'carol');
  await page.fill('#password', 'carol-password-1');
  await page.fill('#quota', '1G');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/mailboxes"] button')]);
  check(page.url().includes('/mailboxes/carol%40shop.test'), 'mailbox page: ' + page.url());
  await shots(page, 'mailbox');

  console.log('STEP auto-responder');
  await page.fill('#subject', 'Out of office');
  await page.fill('#body', 'I am away until Monday.');
  await page.fill('#days', '7');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/autoreply"] button')]);
  check((await page.textContent('.notice')).includes('Auto-responder saved'), 'autoreply saved');

  console.log('STEP forwarder');
  await page.goto(URL0 + '/domains/shop.test');
  await page.fill('#flocal', 'sales');
  await page.fill('#targets', 'carol@shop.test, alice@example.test');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/forwarders"] button')]);
  check((await page.textContent('.notice')).includes('Forwarder added'), 'forwarder added');
  await shots(page, 'domain');

  console.log('STEP DNS page: records with live state, copy button, DKIM key, rotation');
  await page.goto(URL0 + '/domains/shop.test');
  await Promise.all([page.waitForNavigation(), page.click('a[href$="/dns"]')]);
  check(page.url() === URL0 + '/domains/shop.test/dns', 'DNS page: ' + page.url());
  check((await page.locator('tr.rec').count()) >= 10, 'records listed');
  check((await page.getAttribute('tr.rec[data-type="MX"]', 'data-status')) === 'present', 'MX present in dnsmasq');
  check((await page.getAttribute('tr.rec[data-name="shop.test"][data-type="TXT"]', 'data-status')) === 'different', 'SPF different');
  check((await page.getAttribute('tr.rec[data-name="_dmarc.shop.test"]', 'data-status')) === 'missing', 'DMARC missing');
  await page.click('tr.rec[data-type="MX"] button[data-copy]');
  await page.waitForFunction(() => document.querySelector('tr.rec[data-type="MX"] button[data-copy]').textContent === 'Copied');
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  check(clip === 'shop.test. IN MX 10 mx.example.test.', 'copied zone line: ' + clip);
  await page.fill('#selector', XSS);
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/dkim"] button')]);
  check((await page.inputValue('#selector')) === XSS, 'selector field keeps the text');
  check((await page.textContent('.field-error')).includes('lower-case letters'), 'selector validation');
  await page.fill('#selector', 'web1');
  await page.selectOption('#algorithm', 'ed25519');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/dkim"] button')]);
  check((await page.textContent('.notice')).includes('DKIM key generated'), 'key generated');
  check((await page.content()).includes('web1._domainkey.shop.test'), 'the new record is listed');
  let dialogText = '';
  page.once('dialog', (d) => { dialogText = d.message(); d.accept(); });
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/dkim/rotate"] button')]);
  check(dialogText.includes('The old selector web1 is NOT deleted'), 'rotation prompt names the old selector: ' + dialogText);
  check((await page.textContent('.field-error')).includes('tick the box'), 'rotation needs the box ticked');
  await page.check('#rotate_confirm');
  page.once('dialog', (d) => d.accept());
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/dkim/rotate"] button')]);
  check((await page.textContent('.notice')).includes('New DKIM keys made'), 'rotated');
  check((await page.locator('form[action*="/dkim/"][action$="/delete"]').count()) === 2, 'old and new key both listed');
  await shots(page, 'dns');

  console.log('STEP script typed into every text field comes back escaped');
  // Text fields that re-display their value: domain, mailbox (local, quota), forwarder
  // (local, targets), archive, auto-responder (subject, body), tracking search.
  await page.goto(URL0 + '/domains');
  await page.fill('#domain', XSS);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/domains"] button')]);
  check((await page.inputValue('#domain')) === XSS, 'domain field keeps the text');
  await page.goto(URL0 + '/domains/shop.test');
  await page.fill('#local', XSS); await page.fill('#password', 'long-enough-pw'); await page.fill('#quota', XSS);
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/mailboxes"] button')]);
  check((await page.inputValue('#local')) === XSS && (await page.inputValue('#quota')) === XSS, 'mailbox fields');
  await page.fill('#flocal', XSS); await page.fill('#targets', XSS);
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/forwarders"] button')]);
  check((await page.inputValue('#targets')) === XSS, 'forwarder fields');
  await page.fill('#archive', XSS);
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/archive"] button')]);
  check((await page.inputValue('#archive')) === XSS, 'archive field');
  await page.goto(URL0 + '/mailboxes/carol%40shop.test');
  await page.fill('#subject', XSS); await page.fill('#body', XSS); await page.fill('#start', '2030-01-02');
  await page.fill('#end', '2030-01-01');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/autoreply"] button')]);
  check((await page.inputValue('#subject')) === XSS && (await page.inputValue('#body')) === XSS, 'autoreply fields');
  check((await page.textContent('.field-error')).includes('before the start'), 'date validation');
  await page.goto(URL0 + '/tracking?sender=' + encodeURIComponent(XSS));
  check((await page.inputValue('#sender')) === XSS, 'tracking field');
  await page.goto(URL0 + '/login?x=' + encodeURIComponent(XSS));
  check(await page.evaluate(() => typeof window.x === 'undefined'), 'no injected script ran');
  check(!(await page.content()).includes(XSS), 'no raw script tag in the page');

  console.log('STEP screenshots of the other pages');
  await page.goto(URL0 + '/tracking');
  await shots(page, 'tracking');
  await page.goto(URL0 + '/queue');
  await shots(page, 'queue');
  await page.goto(URL0 + '/domains');
  await shots(page, 'domains');

  console.log('STEP state change without CSRF token → 403');
  const noCsrf = await page.evaluate(async () => {
    const r = await fetch('/domains', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'domain=csrf.test' });
    return r.status;
  });
  check(noCsrf === 403, 'POST without CSRF: ' + noCsrf);
  const apiNoCsrf = await page.evaluate(async () => {
    const r = await fetch('/api/domains', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"domain":"csrf.test"}' });
    return r.status;
  });
  check(apiNoCsrf === 403, 'API POST without X-CSRF-Token: ' + apiNoCsrf);

  console.log('STEP unauthenticated API → 401');
  const anon = await browser.newContext();
  const ap = await newPage(anon);
  const r401 = await ap.request.get(URL0 + '/api/domains');
  check(r401.status() === 401 && (await r401.json()).error.status === 401, 'anonymous API');

  console.log('STEP domain admin cannot see or change another domain');
  const dctx = await browser.newContext();
  const dp = await newPage(dctx);
  await login(dp, DADMIN, DADMIN_PW);
  await dp.goto(URL0 + '/domains');
  check(!(await dp.content()).includes('shop.test'), 'shop.test hidden from the domain admin');
  await shots(dp, 'domain-admin');
  let r = await dp.goto(URL0 + '/domains/shop.test');
  check(r.status() === 403, 'domain page of another domain: ' + r.status());
  r = await dp.goto(URL0 + '/mailboxes/carol%40shop.test');
  check(r.status() === 403, 'mailbox of another domain: ' + r.status());
  const apiCross = await dp.evaluate(async () => {
    const s = await (await fetch('/api/session')).json();
    const a = await fetch('/api/domains/shop.test/mailboxes');
    const b = await fetch('/api/mailboxes/carol%40shop.test', { method: 'PATCH', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf_token }, body: '{"enabled":false}' });
    return [a.status, b.status];
  });
  check(apiCross[0] === 403 && apiCross[1] === 403, 'API across domains: ' + apiCross);

  console.log('STEP mailbox user self-service');
  const uctx = await browser.newContext();
  const up = await newPage(uctx);
  await login(up, 'carol@shop.test', 'carol-password-1');
  check(up.url() === URL0 + '/me', 'user lands on /me: ' + up.url());
  await shots(up, 'me');
  r = await up.goto(URL0 + '/domains/shop.test');
  check(r.status() === 403, 'user cannot open the domain page');
  r = await up.goto(URL0 + '/domains/shop.test/dns');
  check(r.status() === 403, 'user cannot open the DNS page');

  console.log('STEP forwarding of the user\'s own address');
  await up.goto(URL0 + '/me');
  await up.fill('#fwd_targets', XSS);
  await Promise.all([up.waitForNavigation(), up.click('form[action="/me/forwarding"] button')]);
  check((await up.inputValue('#fwd_targets')) === XSS, 'forwarding field keeps the text');
  check((await up.textContent('#forwarding .field-error')).includes('each target must be an address'), 'forwarding validation');
  check(await up.evaluate(() => typeof window.x === 'undefined'), 'no injected script ran');
  await up.fill('#fwd_targets', 'alice@example.test');
  check(await up.isChecked('#keep_copy'), 'keep a copy is ticked by default');
  await Promise.all([up.waitForNavigation(), up.click('form[action="/me/forwarding"] button')]);
  check((await up.textContent('.notice')).includes('Forwarding saved'), 'forwarding saved');
  check((await up.textContent('#forwarding h2')).includes('keeping a copy'), 'forwarding state shown');
  await shots(up, 'me-forwarding');

  console.log('STEP wrong password throttled');
  const tctx = await browser.newContext();
  const tp = await newPage(tctx);
  let refused = false;
  for (let i = 0; i < 8 && !refused; i++) {
    await tp.goto(URL0 + '/login');
    await tp.fill('#login', DADMIN);
    await tp.fill('#password', 'bad-password-' + i);
    const [resp] = await Promise.all([tp.waitForNavigation(), tp.click('button[type=submit]')]);
    if (resp.status() === 429) refused = true;
  }
  check(refused, 'repeated wrong passwords end in 429');
  check((await tp.textContent('.error')).includes('Too many failed logins'), 'throttle message');
  await shots(tp, 'login-throttled');

  check(pageErrors.length === 0, 'no page errors: ' + pageErrors.join(' | '));
  console.log('OK');
} finally {
  await browser.close();
}
