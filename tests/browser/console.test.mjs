// Browser test of the Herald web console (src/admin/web/), driven like a person would use it.
//
// Environment:
//   HERALD_URL              base URL of a node's admin listener, e.g. http://127.0.0.1:8080
//   HERALD_ADMIN_USER       administrator name (default "admin")
//   HERALD_ADMIN_PASSWORD   its password
//   HERALD_SCREENSHOT_DIR   where full-page screenshots go (default: a new temporary folder)
//   HERALD_CHROMIUM         browser binary (default /usr/bin/chromium, Debian's package)
//
//   cd tests/browser && npm install && HERALD_URL=... HERALD_ADMIN_PASSWORD=... node --test
//
// It signs in, adds, edits and deletes a domain, a user and a service parameter change through
// the UI, triggers client-side and server-side validation errors and checks that each is shown
// next to its field, stops and starts the presence service in the Control Center, checks the
// status page, and takes a full-page screenshot of every page. Any browser console error or
// uncaught page error fails the test, except the "Failed to load resource" line Chromium
// always logs for an HTTP error status, and only for the API answers a step expects
// (a wrong password's 401, a duplicate's 409, ...). Object names carry a per-run suffix, so
// the test can run again against the same node.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import { chromium } from 'playwright-core';

const BASE = (process.env.HERALD_URL || '').replace(/\/$/, '');
const USER = process.env.HERALD_ADMIN_USER || 'admin';
const PASSWORD = process.env.HERALD_ADMIN_PASSWORD || '';
const CHROMIUM = process.env.HERALD_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.HERALD_SCREENSHOT_DIR || mkdtempSync(path.join(os.tmpdir(), 'herald-console-'));

if (!BASE || !PASSWORD) {
  console.error('console.test.mjs: set HERALD_URL and HERALD_ADMIN_PASSWORD (and HERALD_ADMIN_USER if not "admin")');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });

const SUFFIX = Date.now().toString(36);
const DOMAIN = `console-${SUFFIX}.example`;
const USERNAME = `alice-${SUFFIX}`;
const ADDRESS = `${USERNAME}@${DOMAIN}`;

let browser;
let page;
let problems = []; // console errors and page errors not expected by the current step
let allowed = []; // [{status, path: RegExp}] HTTP errors the current step expects
let apiRequests = []; // "METHOD /api/v1/..." in order
let loginBodies = []; // the JSON bodies of POST /api/v1/login, in order
let shot = 0;

before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(msg.text());
    if (m) {
      const p = new URL(msg.location().url).pathname;
      const i = allowed.findIndex((a) => a.status === Number(m[1]) && a.path.test(p));
      if (i >= 0) {
        allowed.splice(i, 1);
        return;
      }
    }
    problems.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) apiRequests.push(`${r.method()} ${u.pathname}`);
    if (u.pathname === '/api/v1/login') loginBodies.push(r.postDataJSON());
  });
});

after(async () => {
  if (browser) await browser.close();
  console.log(`screenshots: ${SHOTS}`);
});

afterEach(() => {
  const found = problems;
  problems = [];
  allowed = [];
  assert.deepEqual(found, [], 'the browser logged errors');
});

// ---------------------------------------------------------------------------------------------
// Helpers

const byId = (id) => page.getByTestId(id);
const expectHttpError = (status, pathRe) => allowed.push({ status, path: pathRe });

async function screenshot(name) {
  shot += 1;
  await page.screenshot({ path: path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function waitText(locator, text) {
  await locator.filter({ hasText: text }).first().waitFor();
}

async function navigate(navId, title) {
  await byId(navId).click();
  await waitText(byId('page-title'), title);
  await byId('loading').waitFor({ state: 'detached' });
}

async function flashSays(text) {
  await waitText(byId('flash'), text);
}

async function fieldError(name, text) {
  const err = byId(`error-${name}`);
  await err.waitFor({ state: 'visible' });
  if (text) await waitText(err, text);
  // "Next to the field": inside the same field block as the input.
  const sameBlock = await page.evaluate((n) => {
    const e = document.querySelector(`[data-testid="error-${n}"]`);
    const i = document.querySelector(`[data-testid="field-${n}"]`);
    return !!e && !!i && e.closest('.field') === i.closest('.field') &&
      (i.getAttribute('aria-describedby') || '').includes(e.id);
  }, name);
  assert.ok(sameBlock, `error-${name} is not attached to field-${name}`);
  return (await err.textContent()).trim();
}

async function confirm(okLabel) {
  const dlg = byId('confirm-dialog');
  await dlg.waitFor({ state: 'visible' });
  if (okLabel) assert.equal((await byId('confirm-ok').textContent()).trim(), okLabel);
  await byId('confirm-ok').click();
  await dlg.waitFor({ state: 'hidden' });
}

// ---------------------------------------------------------------------------------------------
// Steps (they run in order and share one page)

test('sign-in screen refuses a wrong password, then signs in', async () => {
  await page.goto(`${BASE}/`);
  await byId('login-form').waitFor();
  await screenshot('login');

  expectHttpError(401, /\/api\/v1\/login$/);
  await byId('login-username').fill(USER);
  await byId('login-password').fill(`${PASSWORD}-wrong`);
  await byId('login-submit').click();
  await waitText(byId('login-error'), 'Wrong user name or password');
  await screenshot('login-error');

  await byId('login-password').fill(PASSWORD);
  await byId('login-submit').click();
  await waitText(byId('page-title'), 'Status');
  assert.equal((await byId('user-name').textContent()).trim(), USER);
  const token = await page.evaluate(() => sessionStorage.getItem('herald.token'));
  assert.ok(token && token.length >= 16, 'token kept in sessionStorage');
});

test('menu mirrors the incumbent and marks what is coming', async () => {
  for (const id of ['nav-status', 'nav-params', 'nav-admins', 'nav-domains', 'nav-users',
    'nav-sip-federation', 'nav-activation', 'nav-control', 'nav-audit']) {
    assert.equal(await byId(id).evaluate((e) => e.tagName), 'A', `${id} is a link`);
  }
  for (const id of ['nav-tls-peer-subjects', 'nav-tls-contexts', 'nav-static-routes', 'nav-acls']) {
    const el = byId(id);
    assert.match(await el.textContent(), /\(coming\)/, `${id} says (coming)`);
    assert.equal(await el.evaluate((e) => e.tagName), 'SPAN', `${id} is not a link`);
    assert.equal(await el.getAttribute('aria-disabled'), 'true');
  }
  const nav = await byId('nav').textContent();
  for (const words of ['System', 'Security', 'Presence', 'Inter-Domain Federation', 'SIP Federation', 'Routing',
    'Static Routes', 'TLS Peer Subjects', 'TLS Context', 'Service Parameters', 'Tools', 'Service Activation',
    'Control Center']) {
    assert.ok(nav.includes(words), `menu has "${words}"`);
  }
});

test('status page shows version, uptime, listeners, counters and refreshes', async () => {
  await navigate('nav-status', 'Status');
  for (const id of ['status-version', 'status-node', 'status-uptime', 'status-policy-version']) {
    assert.notEqual((await byId(id).textContent()).trim(), '', `${id} is filled`);
  }
  assert.equal((await byId('node-name').textContent()).trim(), (await byId('status-node').textContent()).trim());
  assert.ok(await byId('status-listeners').locator('tbody tr').count() >= 1, 'listeners listed');
  assert.ok(await byId('status-counters').locator('tbody tr').count() >= 1, 'counters listed');
  const first = await byId('status-refreshed').textContent();
  const before = apiRequests.filter((r) => r === 'GET /api/v1/status').length;
  await page.waitForFunction(
    (t) => document.querySelector('[data-testid="status-refreshed"]')?.textContent !== t, first, { timeout: 12_000 });
  assert.ok(apiRequests.filter((r) => r === 'GET /api/v1/status').length > before, 'status fetched again');
  await screenshot('status');
});

test('domains: add with validation, edit, refuse a duplicate', async () => {
  await navigate('nav-domains', 'Domains');
  await screenshot('domains');

  await byId('add-button').click();
  await byId('domain-form').waitFor();
  // Client-side rule: no request is sent, the message sits under the field.
  const sent = apiRequests.length;
  await byId('field-name').fill('bad..name');
  await byId('save-button').click();
  assert.match(await fieldError('name'), /empty label|not a domain name/);
  assert.equal(apiRequests.length, sent, 'nothing sent while the form is invalid');
  await screenshot('domain-add-invalid');

  // Mixed case and a trailing dot: the server stores it lower-cased without the dot.
  await byId('field-name').fill(`${DOMAIN.toUpperCase()}.`);
  await byId('field-description').fill('Added by the console test');
  assert.equal(await byId('error-name').isHidden(), true, 'the message goes once the value is right');
  await byId('save-button').click();
  await flashSays('Applied — policy version');
  await byId(`row-${DOMAIN}`).waitFor();

  // Server-side rule: the duplicate's 409 names the field; the console shows it there.
  await byId('add-button').click();
  await byId('domain-form').waitFor();
  expectHttpError(409, /\/api\/v1\/domains$/);
  await byId('field-name').fill(DOMAIN);
  await byId('save-button').click();
  const msg = await fieldError('name');
  assert.ok(msg.includes(DOMAIN), `server message names the domain: ${msg}`);
  await screenshot('domain-add-duplicate');
  await byId('cancel-button').click();
  await byId('domains-table').waitFor();

  // Edit.
  await byId(`edit-${DOMAIN}`).click();
  await byId('domain-form').waitFor();
  assert.equal(await byId('field-name').inputValue(), DOMAIN);
  assert.equal(await byId('field-name').getAttribute('readonly'), '', 'the name cannot be changed');
  await byId('field-description').fill('Edited by the console test');
  await screenshot('domain-edit');
  await byId('save-button').click();
  await flashSays('Applied — policy version');
  await waitText(byId(`row-${DOMAIN}`), 'Edited by the console test');

  // Filter.
  await byId('filter').fill(SUFFIX);
  await page.waitForFunction((s) => {
    const rows = document.querySelectorAll('[data-testid="domains-table"] tbody tr[data-testid^="row-"]');
    return rows.length === 1 && rows[0].dataset.testid.includes(s);
  }, SUFFIX);
  await byId('filter').fill('');
});

test('users: add with validation, edit, set the password, refuse a duplicate', async () => {
  await navigate('nav-users', 'Users');
  await screenshot('users');
  await byId('add-button').click();
  await byId('user-form').waitFor();

  const sent = apiRequests.length;
  await byId('field-username').fill('bad user');
  await byId('field-domain').selectOption(DOMAIN);
  await byId('field-password').fill('short');
  await byId('field-password_confirm').fill('short');
  await byId('save-button').click();
  await fieldError('username', 'letters, digits');
  await fieldError('password', '8 to 128');
  assert.equal(apiRequests.length, sent, 'nothing sent while the form is invalid');
  await screenshot('user-add-invalid');

  await byId('field-username').fill(USERNAME);
  await byId('field-display_name').fill('Alice Liddell');
  await byId('field-password').fill('rabbit-hole-42');
  await byId('field-password_confirm').fill('rabbit-hole-43');
  await byId('save-button').click();
  await fieldError('password_confirm', 'differ');
  await byId('field-password_confirm').fill('rabbit-hole-42');
  await byId('save-button').click();
  await flashSays('Applied — policy version');
  await byId(`row-${ADDRESS}`).waitFor();
  // The password never comes back.
  assert.ok(!(await byId('users-table').textContent()).includes('rabbit-hole-42'));

  // Server-side rule: duplicate.
  await byId('add-button').click();
  await byId('user-form').waitFor();
  expectHttpError(409, /\/api\/v1\/users$/);
  await byId('field-username').fill(USERNAME);
  await byId('field-domain').selectOption(DOMAIN);
  await byId('field-password').fill('rabbit-hole-42');
  await byId('field-password_confirm').fill('rabbit-hole-42');
  await byId('save-button').click();
  assert.ok((await fieldError('username')).includes(USERNAME));
  await byId('cancel-button').click();
  await byId('users-table').waitFor();

  // Edit the display name.
  await byId(`edit-${ADDRESS}`).click();
  await byId('user-form').waitFor();
  await byId('field-display_name').fill('Alice P. Liddell');
  await screenshot('user-edit');
  await byId('save-button').click();
  await flashSays('Applied — policy version');
  await waitText(byId(`row-${ADDRESS}`), 'Alice P. Liddell');

  // Set the password (the version moved with the edit; If-Match must follow).
  await byId(`edit-${ADDRESS}`).click();
  const pwForm = byId('password-form');
  await pwForm.waitFor();
  await pwForm.getByTestId('field-password').fill('looking-glass-7');
  await pwForm.getByTestId('field-password_confirm').fill('looking-glass-7');
  await byId('set-password-button').click();
  await waitText(byId('password-flash'), 'Password set. Applied — policy version');
  await byId('cancel-button').click();
  await byId('users-table').waitFor();
});

test('domains: a domain with users is not deleted; delete asks first', async () => {
  await navigate('nav-domains', 'Domains');
  expectHttpError(409, /\/api\/v1\/domains\//);
  await byId(`delete-${DOMAIN}`).click();
  await screenshot('domain-delete-dialog');
  await confirm('Delete');
  await flashSays('Not deleted');
  await waitText(byId('flash'), 'user');
  await byId(`row-${DOMAIN}`).waitFor();
});

test('users: delete through the dialog (cancel first)', async () => {
  await navigate('nav-users', 'Users');
  await byId(`delete-${ADDRESS}`).click();
  await byId('confirm-dialog').waitFor({ state: 'visible' });
  await byId('confirm-cancel').click();
  await byId('confirm-dialog').waitFor({ state: 'hidden' });
  await byId(`row-${ADDRESS}`).waitFor();

  await byId(`delete-${ADDRESS}`).click();
  await confirm('Delete');
  await flashSays('Applied — policy version');
  await byId(`row-${ADDRESS}`).waitFor({ state: 'detached' });
});

test('domains: delete through the dialog', async () => {
  await navigate('nav-domains', 'Domains');
  await byId(`delete-${DOMAIN}`).click();
  await confirm('Delete');
  await flashSays(`Deleted domain ${DOMAIN}`);
  await byId(`row-${DOMAIN}`).waitFor({ state: 'detached' });
  await screenshot('domains-after');
});

test('federated domains: add with validation, edit, delete', async () => {
  await navigate('nav-sip-federation', 'SIP Federation');
  await screenshot('federated-domains');
  await byId('add-button').click();
  await byId('federated-domain-form').waitFor();
  // Client-side: a clearinghouse domain on a plain SIP domain is refused before sending.
  const sent = apiRequests.length;
  await byId('field-name').fill('K.Test');
  await byId('field-description').fill('K Corp');
  await byId('field-via_domain').fill('hub.test');
  await byId('save-button').click();
  assert.match(await fieldError('via_domain'), /Only for the clearinghouse/);
  assert.equal(apiRequests.length, sent, 'nothing sent while the form is invalid');
  await byId('field-via_domain').fill('');
  await byId('field-integration').selectOption('lync');
  await byId('save-button').click();
  await flashSays('Added federated domain k.test');
  await byId('row-k.test').waitFor();
  assert.match(await byId('row-k.test').textContent(), /Inter-domain to OCS\/Lync\/S4B/);

  // Server-side: a local domain cannot be federated; the 409 is shown under the name.
  await byId('add-button').click();
  await byId('federated-domain-form').waitFor();
  expectHttpError(409, /\/api\/v1\/federated-domains$/);
  await byId('field-name').fill('example.com'); // the node's local domain (sip.domains)
  await byId('save-button').click();
  assert.match(await fieldError('name'), /either local or federated/);
  await screenshot('federated-domain-add-local');
  await byId('cancel-button').click();

  // Edit: the identity default of a Microsoft domain is shown; the ACL entry is read-only.
  await byId('edit-k.test').click();
  await byId('federated-domain-form').waitFor();
  assert.equal(await byId('field-identity_policy').inputValue(), 'srv-target');
  assert.match(await byId('incoming-acl').textContent(), /k\.test \(created with the domain, read-only\)/);
  await byId('field-direct_federation').selectOption('true');
  await screenshot('federated-domain-edit');
  await byId('save-button').click();
  await flashSays('Saved federated domain k.test');
  assert.match(await byId('row-k.test').textContent(), /Yes/);

  await byId('delete-k.test').click();
  await confirm('Delete');
  await flashSays('Deleted federated domain k.test');
  await byId('row-k.test').waitFor({ state: 'detached' });
});

test('service parameters: validation, set, reset', async () => {
  await navigate('nav-params', 'Service Parameters');
  await byId('params-cluster-table').waitFor();
  await byId('row-federation-routing-fqdn').waitFor();
  await byId('row-sip-t1').waitFor();
  await screenshot('params');

  await byId('edit-sip-t1').click();
  await byId('param-form').waitFor();
  const original = await byId('field-value').inputValue();
  const sent = apiRequests.length;
  await byId('field-value').fill('20');
  await byId('save-button').click();
  await fieldError('value', 'between');
  await byId('field-value').fill('abc');
  await byId('save-button').click();
  await fieldError('value', 'whole number');
  assert.equal(apiRequests.length, sent, 'nothing sent while the form is invalid');
  await screenshot('param-invalid');

  const next = original === '510' ? '520' : '510';
  await byId('field-value').fill(next);
  await byId('save-button').click();
  await flashSays('Applied — policy version');
  await waitText(byId('value-sip-t1'), `${next} ms`);
  await waitText(byId('row-sip-t1'), 'changed');

  await byId('edit-sip-t1').click();
  await byId('param-form').waitFor();
  await byId('reset-button').click();
  await confirm('Reset');
  await flashSays('back to its default');
  await waitText(byId('row-sip-t1'), 'default');

  // A cluster parameter of another type: a bool, set and reset.
  await byId('edit-record-route-transport').click();
  await byId('param-form').waitFor();
  const was = await byId('field-value').inputValue();
  await byId('field-value').selectOption(was === 'true' ? 'false' : 'true');
  await screenshot('param-edit');
  await byId('save-button').click();
  await flashSays('Applied — policy version');
  await byId('edit-record-route-transport').click();
  await byId('param-form').waitFor();
  await byId('reset-button').click();
  await confirm('Reset');
  await flashSays('back to its default');
});

test('control center: stop and start presence', async () => {
  await navigate('nav-control', 'Control Center');
  await byId('service-sip-proxy').waitFor();
  await byId('service-sip-federation').waitFor();
  await waitText(byId('state-presence'), 'Running');
  await screenshot('control-center');

  await byId('stop-presence').click();
  await confirm('Stop');
  await flashSays('presence stopped. Applied — policy version');
  await waitText(byId('state-presence'), 'Stopped');
  assert.equal(await byId('start-presence').isEnabled(), true);
  assert.equal(await byId('stop-presence').isDisabled(), true);
  await screenshot('control-center-stopped');

  await byId('start-presence').click();
  await flashSays('presence started. Applied — policy version');
  await waitText(byId('state-presence'), 'Running');
});

test('service activation page lists the services', async () => {
  await navigate('nav-activation', 'Service Activation');
  for (const s of ['sip-proxy', 'sip-federation', 'presence']) {
    assert.equal(await byId(`activate-${s}`).isChecked(), true, `${s} activated`);
  }
  await screenshot('service-activation');
});

test('audit log shows the changes just made', async () => {
  await navigate('nav-audit', 'Audit Log');
  await byId('audit-table').waitFor();
  const text = await byId('audit-table').textContent();
  for (const s of [DOMAIN, ADDRESS, 'sip-t1', 'presence', 'deactivate', 'activate', 'create', 'delete']) {
    assert.ok(text.includes(s), `audit log mentions ${s}`);
  }
  assert.ok(!text.includes('rabbit-hole-42') && !text.includes('looking-glass-7'), 'no password in the audit log');
  await screenshot('audit');
});

test('administrators page checks the new password before sending', async () => {
  await navigate('nav-admins', 'Administrators');
  const sent = apiRequests.length;
  await byId('field-current_password').fill('whatever');
  await byId('field-password').fill('too-short');
  await byId('field-password_confirm').fill('too-short');
  await byId('save-button').click();
  await fieldError('password', '12 to 128');
  assert.equal(apiRequests.length, sent);
  await screenshot('administrators');
});

test('an expired or revoked token leads back to the sign-in screen', async () => {
  const token = await page.evaluate(() => sessionStorage.getItem('herald.token'));
  await page.evaluate(() => sessionStorage.setItem('herald.token', 'revoked-token'));
  expectHttpError(401, /\/api\/v1\/domains$/);
  await byId('nav-domains').click();
  await byId('login-form').waitFor();
  await waitText(byId('login-message'), 'session has ended');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('herald.token')), null);
  assert.notEqual(token, null);
  // Signing in again returns to the page asked for, and presents this browser's device token.
  const device = await page.evaluate((u) => localStorage.getItem(`herald.device.${u}`), USER);
  assert.match(device ?? '', /^d1\./);
  await byId('login-username').fill(USER);
  await byId('login-password').fill(PASSWORD);
  await byId('login-submit').click();
  await waitText(byId('page-title'), 'Domains');
  assert.equal(loginBodies.at(-1).device_token, device);
  assert.equal(loginBodies[0].device_token, undefined, 'the first login had none');
});

test('sign out returns to the sign-in screen and forgets the token', async () => {
  await byId('logout-button').click();
  await byId('login-form').waitFor();
  await waitText(byId('login-message'), 'signed out');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('herald.token')), null);
  await page.goto(`${BASE}/#/domains`);
  await byId('login-form').waitFor();
});
