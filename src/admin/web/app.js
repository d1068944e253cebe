// Herald web console: one page, vanilla JavaScript (ES2020), no framework, no external URL.
//
// It talks only to the node's admin REST API (/api/v1, see docs/admin-api.md) with a bearer
// token kept in sessionStorage. Pages are hash routes (#/domains, #/users/edit/alice@x.org ...).
// Everything is built with DOM calls (never innerHTML), and no inline script, style or event
// handler attribute is used, so the node can serve it under `Content-Security-Policy:
// default-src 'self'`. Main controls carry data-testid attributes for the browser test
// (tests/browser/console.test.mjs).
'use strict';

(() => {
  const API = '/api/v1';
  const PAGE_SIZE = 100;

  // -------------------------------------------------------------------------------------------
  // Session (sessionStorage: one tab, gone when the tab closes)

  const session = {
    get token() { return sessionStorage.getItem('herald.token'); },
    get username() { return sessionStorage.getItem('herald.username') || ''; },
    set(token, username) {
      sessionStorage.setItem('herald.token', token);
      sessionStorage.setItem('herald.username', username);
    },
    clear() {
      sessionStorage.removeItem('herald.token');
      sessionStorage.removeItem('herald.username');
    },
  };

  // Device tokens (localStorage: they outlive the tab and sign-out): a login from this browser
  // before lets the next one through while guessers have spent the shared login limits.
  const deviceTokens = {
    get(username) { return localStorage.getItem(`herald.device.${username}`) || ''; },
    set(username, token) {
      if (token) localStorage.setItem(`herald.device.${username}`, token);
    },
  };

  // -------------------------------------------------------------------------------------------
  // DOM helpers

  const $ = (id) => document.getElementById(id);
  const PROPS = new Set(['hidden', 'disabled', 'checked', 'readOnly', 'required', 'selected', 'value', 'open']);

  // h('button', {class: 'btn', testid: 'save', onclick: fn}, 'Save')
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'testid') el.dataset.testid = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (PROPS.has(k)) el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, kids);
    return el;
  }
  function append(el, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === null || k === undefined || k === false) continue;
      el.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return el;
  }

  const pad = (n) => String(n).padStart(2, '0');
  function fmtTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  const timeEl = (iso) => h('time', { datetime: iso || '', title: iso || '' }, fmtTime(iso));
  function fmtDuration(total) {
    let s = Math.max(0, Math.floor(total));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const hr = Math.floor(s / 3600); s -= hr * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d) return `${d} d ${hr} h ${m} min`;
    if (hr) return `${hr} h ${m} min`;
    if (m) return `${m} min ${s} s`;
    return `${s} s`;
  }
  const fmtNumber = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n));
  const enc = encodeURIComponent;

  // -------------------------------------------------------------------------------------------
  // API client

  class ApiError extends Error {
    constructor(status, body, headers) {
      const e = (body && body.error) || {};
      super(e.message || `The node answered ${status}.`);
      this.status = status;
      this.code = e.code || 'http_error';
      this.field = e.field;
      this.rule = e.rule;
      this.related = e.related;
      this.retryAfter = headers ? Number(headers.get('Retry-After')) || 0 : 0;
      this.handled = false;
    }
  }

  async function api(method, path, { body, ifMatch, auth = true } = {}) {
    const headers = { Accept: 'application/json' };
    if (auth) headers.Authorization = `Bearer ${session.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (ifMatch !== undefined && ifMatch !== null) headers['If-Match'] = `"${ifMatch}"`;
    let res;
    try {
      res = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new ApiError(0, { error: { code: 'network', message: 'The node did not answer. Is it running?' } });
    }
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch { data = null; }
    }
    if (res.ok) return data || {};
    const err = new ApiError(res.status, data, res.headers);
    if (res.status === 401 && auth) {
      err.handled = true;
      sessionEnded('Your session has ended. Sign in again.');
    }
    throw err;
  }

  const applied = (pv) => `Applied — policy version ${pv}.`;

  // -------------------------------------------------------------------------------------------
  // Sign-in, sign-out

  function showLogin(message) {
    stopTimers();
    $('app-view').hidden = true;
    $('login-view').hidden = false;
    $('login-error').hidden = true;
    $('login-message').hidden = !message;
    $('login-message').textContent = message || '';
    $('login-password').value = '';
    $('login-username').focus();
  }

  function sessionEnded(message) {
    session.clear();
    showLogin(message);
  }

  async function onLogin(ev) {
    ev.preventDefault();
    const user = $('login-username').value.trim();
    const password = $('login-password').value;
    const errorEl = $('login-error');
    errorEl.hidden = true;
    if (!user || !password) {
      errorEl.textContent = 'Enter your user name and password.';
      errorEl.hidden = false;
      return;
    }
    const button = $('login-form').querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const body = { username: user, password };
      const device = deviceTokens.get(user);
      if (device) body.device_token = device;
      const r = await api('POST', '/login', { body, auth: false });
      session.set(r.token, r.username);
      deviceTokens.set(r.username, r.device_token);
      $('login-password').value = '';
      $('login-message').hidden = true;
      if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/status';
      else route();
    } catch (e) {
      if (e.status === 429) {
        errorEl.textContent = `Too many failed sign-ins (${e.message}). Try again in ${e.retryAfter || 60} s.`;
      } else if (e.status === 401) {
        errorEl.textContent = 'Wrong user name or password.';
      } else {
        errorEl.textContent = e.message;
      }
      errorEl.hidden = false;
      $('login-password').focus();
    } finally {
      button.disabled = false;
    }
  }

  async function onLogout() {
    try { await api('POST', '/logout', { body: {} }); } catch { /* signed out either way */ }
    sessionEnded('You have signed out.');
  }

  async function refreshNodeName() {
    try {
      const s = await api('GET', '/status');
      $('node-name').textContent = s.node;
      document.title = `Herald Administration — ${s.node}`;
    } catch { /* a 401 is handled by api(); the status page shows other errors */ }
  }

  // -------------------------------------------------------------------------------------------
  // Confirmation dialog (a real in-page <dialog>, not window.confirm)

  function confirmDialog({ title, message, ok = 'Delete', danger = true }) {
    const dlg = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-message').textContent = message;
    const okBtn = $('confirm-ok');
    okBtn.textContent = ok;
    okBtn.className = danger ? 'btn btn-danger' : 'btn btn-primary';
    dlg.returnValue = '';
    return new Promise((resolve) => {
      dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
      dlg.showModal();
      dlg.querySelector('[data-testid="confirm-cancel"]').focus();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Router

  const routes = [
    [/^\/status$/, pageStatus, 'status'],
    [/^\/params$/, pageParams, 'params'],
    [/^\/params\/edit\/([^/]+)$/, pageParamEdit, 'params'],
    [/^\/admins\/password$/, pageAdminPassword, 'admins'],
    [/^\/domains$/, pageDomains, 'domains'],
    [/^\/domains\/add$/, pageDomainForm, 'domains'],
    [/^\/domains\/edit\/([^/]+)$/, pageDomainForm, 'domains'],
    [/^\/federated-domains$/, pageFederatedDomains, 'federated-domains'],
    [/^\/federated-domains\/add$/, pageFederatedDomainForm, 'federated-domains'],
    [/^\/federated-domains\/edit\/([^/]+)$/, pageFederatedDomainForm, 'federated-domains'],
    [/^\/users$/, pageUsers, 'users'],
    [/^\/users\/add$/, pageUserForm, 'users'],
    [/^\/users\/edit\/([^/]+)$/, pageUserForm, 'users'],
    [/^\/services\/activation$/, pageActivation, 'activation'],
    [/^\/services\/control$/, pageControl, 'control'],
    [/^\/audit$/, pageAudit, 'audit'],
  ];

  let renderSeq = 0;
  let timers = [];
  let flash = null; // {kind, text}: shown once by the next page mounted

  function stopTimers() {
    timers.forEach(clearInterval);
    timers = [];
  }
  function go(hash, message) {
    if (message) flash = message;
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  function route() {
    stopTimers();
    if (!session.token) {
      showLogin();
      return;
    }
    $('login-view').hidden = true;
    $('app-view').hidden = false;
    $('user-name').textContent = session.username;
    if ($('node-name').textContent === '…') refreshNodeName();

    const path = location.hash.replace(/^#/, '') || '/status';
    let handler = pageNotFound;
    let args = [];
    let navKey = '';
    for (const [re, fn, key] of routes) {
      const m = re.exec(path);
      if (m) {
        handler = fn;
        args = m.slice(1).map((s) => { try { return decodeURIComponent(s); } catch { return s; } });
        navKey = key;
        break;
      }
    }
    for (const a of document.querySelectorAll('#nav a[data-route]')) {
      const on = a.dataset.route === navKey;
      a.classList.toggle('active', on);
      if (on) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const seq = ++renderSeq;
    const ctx = {
      alive: () => seq === renderSeq,
      every(ms, fn) { timers.push(setInterval(() => { if (seq === renderSeq) fn(); }, ms)); },
      mount(node) {
        if (seq !== renderSeq) return false;
        const main = $('main');
        main.replaceChildren(node);
        if (flash) {
          const head = node.querySelector('.page-head');
          const banner = h('div', {
            class: `banner banner-${flash.kind}`, testid: 'flash', role: flash.kind === 'error' ? 'alert' : 'status',
          }, flash.text);
          if (head) head.after(banner); else node.prepend(banner);
          flash = null;
        }
        return true;
      },
    };
    $('main').replaceChildren(h('p', { class: 'muted', testid: 'loading' }, 'Loading…'));
    Promise.resolve(handler(ctx, ...args)).catch((e) => {
      if (e && e.handled) return;
      ctx.mount(pageShell(['Herald'], 'Something went wrong', null, [
        h('div', { class: 'banner banner-error', testid: 'page-error', role: 'alert' },
          (e && e.message) || String(e)),
      ]));
    });
  }

  // A page: crumbs, title, lead text, optional buttons at the right, then content.
  function pageShell(crumbs, title, lead, content, headActions) {
    return h('section', { class: 'page' },
      h('div', { class: 'page-head' },
        h('div', null,
          h('div', { class: 'crumbs' }, crumbs.join(' › ')),
          h('h1', { testid: 'page-title' }, title),
          lead ? h('p', null, lead) : null),
        headActions ? h('div', { class: 'toolbar' }, headActions) : null),
      content);
  }

  function pageNotFound(ctx) {
    ctx.mount(pageShell(['Herald'], 'Page not found', null,
      h('p', null, 'This page does not exist. ', h('a', { href: '#/status' }, 'Go to Status.'))));
  }

  // -------------------------------------------------------------------------------------------
  // Client-side rules: the same as the server's (docs/admin-api.md); the server has the last word.

  const CONTROL = /[\u0000-\u001f\u007f]/;
  const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  const SIP_USER = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/]+$/;
  const rules = {
    fqdn(v) {
      if (v.length > 253) return 'A domain name has at most 253 characters.';
      const bad = v.split('.').find((l) => !LABEL.test(l));
      if (bad === undefined) return null;
      if (bad === '') return 'A domain name has no empty labels (two dots in a row, or a dot at the start).';
      if (bad.length > 63) return 'Each label (between dots) has at most 63 characters.';
      if (/^-|-$/.test(bad)) return `The label '${bad}' must not start or end with '-'.`;
      return `'${v}' is not a domain name: use letters, digits and '-', separated by dots.`;
    },
    text(max) {
      return (v) => {
        if (v.length > max) return `At most ${max} characters (now ${v.length}).`;
        if (CONTROL.test(v)) return 'Control characters are not allowed.';
        return null;
      };
    },
    password(min, max = 128) {
      return (v) => {
        if (v.length < min || v.length > max) return `A password has ${min} to ${max} characters.`;
        if (CONTROL.test(v)) return 'Control characters are not allowed.';
        return null;
      };
    },
    sipUser(v) {
      if (v.length > 64) return 'A user name has at most 64 characters.';
      if (!SIP_USER.test(v)) return "Use letters, digits and - _ . ! ~ * ' ( ) & = + $ , ; ? / only.";
      return null;
    },
    ip(v) {
      const v4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
      if (v4.test(v)) return null;
      if (v.includes(':') && !/[^0-9a-fA-F:.]/.test(v)) {
        try { new URL(`http://[${v}]/`); return null; } catch { /* not IPv6 */ }
      }
      return `'${v}' is not an IPv4 or IPv6 address.`;
    },
  };
  const normDomain = (v) => v.trim().toLowerCase().replace(/\.$/, '');

  // -------------------------------------------------------------------------------------------
  // Forms
  //
  // fields: [{name, label, type: text|password|select|textarea, required, readOnly, hint,
  //           options: [[value, label]], validate(value, values) -> message|null, autocomplete,
  //           dependsOn: another field whose typing re-checks this one}]
  // Each field gets an input (data-testid="field-NAME") and an error line
  // (data-testid="error-NAME") that shows client-side and server-side (4xx field) messages.

  function buildForm({ testid, fields, values = {}, submitLabel = 'Save', submitTestid = 'save-button', onSubmit, cancelHash, extra }) {
    const inputs = {};
    const errors = {};
    const rows = [];
    const touched = new Set();
    const formError = h('div', { class: 'banner banner-error', testid: 'form-error', role: 'alert', hidden: true });

    for (const f of fields) {
      const id = `f-${testid}-${f.name}`;
      let input;
      if (f.type === 'select') {
        input = h('select', { id, name: f.name, testid: `field-${f.name}` },
          (f.options || []).map(([v, label]) => h('option', { value: v }, label)));
        input.value = values[f.name] === undefined ? (f.options[0] || [''])[0] : String(values[f.name]);
      } else if (f.type === 'textarea') {
        input = h('textarea', { id, name: f.name, rows: 3, testid: `field-${f.name}` });
        input.value = values[f.name] ?? '';
      } else {
        input = h('input', {
          id, name: f.name, type: f.type === 'password' ? 'password' : 'text',
          testid: `field-${f.name}`, autocomplete: f.autocomplete || (f.type === 'password' ? 'new-password' : 'off'),
          spellcheck: 'false', readOnly: !!f.readOnly, inputmode: f.inputmode,
        });
        input.value = values[f.name] ?? '';
      }
      if (f.required) input.setAttribute('aria-required', 'true');
      const err = h('div', { class: 'field-error', id: `${id}-error`, testid: `error-${f.name}`, role: 'alert', hidden: true });
      const hint = f.hint ? h('div', { class: 'hint', id: `${id}-hint` }, f.hint) : null;
      input.setAttribute('aria-describedby', [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' '));
      inputs[f.name] = input;
      errors[f.name] = err;
      const row = h('div', { class: 'field', 'data-field': f.name },
        h('label', { for: id }, f.label, f.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, '*') : null),
        input, hint, err);
      rows.push(row);
      // Messages appear on submit and then follow the typing. Not on blur: a message that
      // appears on blur moves the buttons under the pointer between mouse-down and click.
      const recheck = () => { if (touched.has(f.name)) check(f); };
      input.addEventListener('input', recheck);
      input.addEventListener('change', recheck);
    }
    for (const f of fields) {
      if (f.dependsOn && inputs[f.dependsOn]) {
        inputs[f.dependsOn].addEventListener('input', () => { if (touched.has(f.name)) check(f); });
      }
    }

    function current() {
      const out = {};
      for (const f of fields) out[f.name] = inputs[f.name].value;
      return out;
    }
    function setError(name, message) {
      const err = errors[name];
      if (!err) return false;
      err.textContent = message || '';
      err.hidden = !message;
      err.parentElement.classList.toggle('invalid', !!message);
      if (message) inputs[name].setAttribute('aria-invalid', 'true');
      else inputs[name].removeAttribute('aria-invalid');
      return true;
    }
    function check(f) {
      if (f.readOnly) return null;
      const v = inputs[f.name].value;
      let msg = null;
      if (f.required && v.trim() === '') msg = 'Required.';
      else if (f.validate && !(v === '' && !f.required && !f.validateEmpty)) msg = f.validate(v, current());
      setError(f.name, msg);
      return msg;
    }
    function setFormError(...kids) {
      formError.replaceChildren();
      append(formError, kids);
      formError.hidden = kids.length === 0;
    }

    const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', testid: submitTestid }, submitLabel);
    const form = h('form', { class: 'form', testid, novalidate: true },
      h('div', { class: 'panel' },
        h('div', { class: 'panel-pad' }, formError, rows),
        h('div', { class: 'form-actions' },
          saveBtn,
          cancelHash ? h('a', { class: 'btn', href: cancelHash, testid: 'cancel-button' }, 'Cancel') : null,
          h('span', { class: 'spacer' }),
          extra || null)));

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      setFormError();
      let first = null;
      for (const f of fields) {
        touched.add(f.name);
        if (check(f) && !first) first = f.name;
      }
      if (first) {
        inputs[first].focus();
        return;
      }
      saveBtn.disabled = true;
      try {
        await onSubmit(current());
      } catch (e) {
        if (e.handled) return;
        showServerError(e);
      } finally {
        saveBtn.disabled = false;
      }
    });

    function showServerError(e) {
      if (e.field && setError(e.field, e.message)) {
        inputs[e.field].focus();
      } else if (e.status === 412) {
        setFormError('Someone changed this since you opened it. ',
          h('button', { type: 'button', class: 'btn btn-small', testid: 'reload-button', onclick: () => route() },
            'Reload to see the change'));
      } else {
        setFormError(e.message);
      }
    }

    return { form, inputs, setError, setFormError, showServerError };
  }

  // -------------------------------------------------------------------------------------------
  // Lists: filter box, count, pager. load(query) -> {items, total}; row(item) -> <tr>.

  const listState = {};
  function buildList({ key, columns, load, row, placeholder, emptyText, extraTools }) {
    const st = listState[key] || (listState[key] = { q: '', offset: 0 });
    const tbody = h('tbody');
    const count = h('span', { class: 'count', testid: 'list-count', 'aria-live': 'polite' });
    const pager = h('div', { class: 'pager' });
    const filter = h('input', {
      type: 'search', placeholder: placeholder || 'Filter by name', 'aria-label': 'Filter', testid: 'filter', value: st.q,
    });
    let timer = null;
    filter.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => { st.q = filter.value; st.offset = 0; reload(); }, 250);
    });
    const table = h('table', { class: 'grid', testid: `${key}-table` },
      h('thead', null, h('tr', null, columns.map((c) => h('th', { class: c.num ? 'num' : null, scope: 'col' }, c.label)))),
      tbody);

    async function reload() {
      const q = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(st.offset) });
      if (st.q) q.set('q', st.q);
      const r = await load(q);
      if (st.offset > 0 && r.items.length === 0 && r.total > 0) {
        st.offset = 0;
        return reload();
      }
      tbody.replaceChildren();
      if (r.items.length === 0) {
        tbody.append(h('tr', null, h('td', { class: 'empty', colspan: columns.length, testid: 'list-empty' },
          st.q ? `Nothing matches "${st.q}".` : emptyText)));
      }
      for (const it of r.items) tbody.append(row(it));
      const last = st.offset + r.items.length;
      count.textContent = r.total === 0 ? '' : `${st.offset + 1}–${last} of ${r.total}`;
      pager.replaceChildren();
      if (r.total > PAGE_SIZE) {
        pager.append(
          h('button', { type: 'button', class: 'btn btn-small', disabled: st.offset === 0, testid: 'page-prev',
            onclick: () => { st.offset = Math.max(0, st.offset - PAGE_SIZE); reload(); } }, '‹ Previous'),
          h('button', { type: 'button', class: 'btn btn-small', disabled: last >= r.total, testid: 'page-next',
            onclick: () => { st.offset += PAGE_SIZE; reload(); } }, 'Next ›'));
      }
    }

    const node = h('div', null,
      h('div', { class: 'toolbar' }, filter, extraTools || null, count),
      h('div', { class: 'panel' }, table),
      pager);
    return { node, reload };
  }

  // Delete with confirmation; reports the outcome as a banner on the page reloaded.
  async function confirmDelete({ what, name, detail, path, version, back }) {
    const ok = await confirmDialog({
      title: `Delete ${what}`,
      message: `Delete ${what} ${name}? ${detail || ''}The change applies at once.`,
    });
    if (!ok) return;
    try {
      const r = await api('DELETE', path, { ifMatch: version });
      go(back, { kind: 'ok', text: `Deleted ${what} ${name}. ${applied(r.policy_version)}` });
    } catch (e) {
      if (e.handled) return;
      const text = e.status === 412
        ? `${name} was changed by someone else; look at it again before deleting.`
        : e.message;
      go(back, { kind: 'error', text: `Not deleted: ${text}` });
    }
  }

  const rowActions = (id, editHash, onDelete) => h('td', { class: 'actions' },
    h('a', { class: 'btn btn-small', href: editHash, testid: `edit-${id}` }, 'Edit'),
    onDelete ? h('button', { type: 'button', class: 'btn btn-small btn-danger', testid: `delete-${id}`, onclick: onDelete }, 'Delete') : null);

  // -------------------------------------------------------------------------------------------
  // System > Status

  async function pageStatus(ctx) {
    const body = h('div', { testid: 'status' });
    const refreshed = h('span', { class: 'muted small', testid: 'status-refreshed' });
    const page = pageShell(['System', 'Status'], 'Status',
      'This node at a glance. Refreshed every 5 seconds.', body, refreshed);

    const card = (label, value, testid) =>
      h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { class: 'value', testid }, value));

    async function load() {
      const s = await api('GET', '/status');
      if (!ctx.alive()) return;
      $('node-name').textContent = s.node;
      const listeners = (s.listeners || []).map((l) =>
        h('tr', { testid: `listener-${l.service}-${l.transport}-${l.port}` },
          h('td', null, l.service), h('td', null, l.transport.toUpperCase()),
          h('td', { class: 'mono' }, l.address), h('td', { class: 'num' }, l.port)));
      const counters = Object.keys(s.counters || {}).sort().map((k) =>
        h('tr', { testid: `counter-${k}` }, h('td', { class: 'mono' }, k), h('td', { class: 'num' }, fmtNumber(s.counters[k]))));
      body.replaceChildren(
        h('div', { class: 'cards' },
          card('Version', s.version, 'status-version'),
          card('Node', s.node, 'status-node'),
          card('Uptime', fmtDuration(s.uptime_s), 'status-uptime'),
          card('Started', fmtTime(s.started_at), 'status-started'),
          card('Policy version', String(s.policy_version), 'status-policy-version')),
        h('div', { class: 'two-col' },
          h('div', null,
            h('h2', null, 'Listeners'),
            h('div', { class: 'panel' }, h('table', { class: 'grid', testid: 'status-listeners' },
              h('thead', null, h('tr', null, h('th', null, 'Service'), h('th', null, 'Transport'),
                h('th', null, 'Address'), h('th', { class: 'num' }, 'Port'))),
              h('tbody', null, listeners.length ? listeners
                : h('tr', null, h('td', { class: 'empty', colspan: 4 }, 'No listener is open.'))))),
            h('h2', null, 'Store'),
            h('div', { class: 'panel panel-pad' }, h('dl', { class: 'facts', testid: 'status-store' },
              h('dt', null, 'Backend'), h('dd', null, s.store ? s.store.backend : '—'),
              h('dt', null, 'Path'), h('dd', { class: 'mono' }, s.store ? s.store.path : '—'),
              h('dt', null, 'Schema version'), h('dd', null, s.store ? String(s.store.schema_version) : '—')))),
          h('div', null,
            h('h2', null, 'Counters'),
            h('div', { class: 'panel' }, h('table', { class: 'grid', testid: 'status-counters' },
              h('thead', null, h('tr', null, h('th', null, 'Counter'), h('th', { class: 'num' }, 'Value'))),
              h('tbody', null, counters))))));
      refreshed.textContent = `Refreshed ${fmtTime(new Date().toISOString())}`;
    }

    await load();
    ctx.mount(page);
    ctx.every(5000, () => load().catch((e) => {
      if (!e.handled) refreshed.textContent = `Refresh failed: ${e.message}`;
    }));
  }

  // -------------------------------------------------------------------------------------------
  // System > Service Parameters

  const ORDERING = [
    { low: 'sip-t1', high: 'sip-t2' },
    { low: 'registrar-min-expires', high: 'registrar-max-expires' },
  ];

  function fmtValue(p, v) {
    if (p.type === 'bool') return v ? 'On' : 'Off';
    if (v === '') return '(not set)';
    if (p.type === 'integer') return `${fmtNumber(v)}${p.unit ? ` ${p.unit}` : ''}`;
    return String(v);
  }

  async function pageParams(ctx) {
    const st = listState.params || (listState.params = { q: '', offset: 0 });
    const tables = h('div');
    const filter = h('input', { type: 'search', placeholder: 'Filter by name', 'aria-label': 'Filter', testid: 'filter', value: st.q });
    let timer = null;
    filter.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => { st.q = filter.value; load().catch(() => {}); }, 250);
    });

    function table(title, items, testid) {
      return [
        h('h2', null, title),
        h('div', { class: 'panel' }, h('table', { class: 'grid', testid },
          h('thead', null, h('tr', null, h('th', null, 'Parameter'), h('th', null, 'Value'), h('th', null, 'Default'),
            h('th', null, ''), h('th', null, ''))),
          h('tbody', null, items.length ? items.map((p) => h('tr', { testid: `row-${p.name}` },
            h('td', null, h('a', { href: `#/params/edit/${enc(p.name)}`, class: 'mono' }, p.name),
              h('div', { class: 'desc small' }, p.description)),
            h('td', { testid: `value-${p.name}` }, fmtValue(p, p.value)),
            h('td', { class: 'muted' }, fmtValue(p, p.default)),
            h('td', null, p.is_default ? h('span', { class: 'badge badge-off' }, 'default')
              : h('span', { class: 'badge badge-changed' }, 'changed')),
            rowActions(p.name, `#/params/edit/${enc(p.name)}`, null)))
            : h('tr', null, h('td', { class: 'empty', colspan: 5 }, 'Nothing matches the filter.'))))),
      ];
    }

    async function load() {
      const q = new URLSearchParams({ limit: '1000' });
      if (st.q) q.set('q', st.q);
      const r = await api('GET', `/params?${q}`);
      if (!ctx.alive()) return;
      const cluster = r.items.filter((p) => p.scope === 'cluster');
      const node = r.items.filter((p) => p.scope === 'node');
      const nodeName = (node[0] && node[0].node) || $('node-name').textContent;
      tables.replaceChildren(
        ...table('Cluster-wide parameters', cluster, 'params-cluster-table'),
        ...table(`Node parameters — ${nodeName}`, node, 'params-node-table'));
    }

    await load();
    ctx.mount(pageShell(['System', 'Service Parameters'], 'Service Parameters',
      'Every change applies at once on the running node; nothing needs a restart.',
      h('div', null, h('div', { class: 'toolbar' }, filter), tables)));
  }

  async function pageParamEdit(ctx, name) {
    const [one, all] = await Promise.all([
      api('GET', `/params/${enc(name)}`),
      api('GET', '/params?limit=1000'),
    ]);
    const p = one.item;
    const values = Object.fromEntries(all.items.map((x) => [x.name, x.value]));
    const unit = p.unit ? ` ${p.unit}` : '';

    const field = { name: 'value', label: 'Value', required: p.type === 'integer' || (p.type === 'fqdn' && !p.empty_allowed) };
    let toValue = (v) => v;
    if (p.type === 'bool') {
      Object.assign(field, { type: 'select', options: [['true', 'On (true)'], ['false', 'Off (false)']] });
      toValue = (v) => v === 'true';
    } else if (p.type === 'enum') {
      Object.assign(field, { type: 'select', options: p.allowed.map((a) => [a, a]) });
    } else if (p.type === 'integer') {
      Object.assign(field, {
        inputmode: 'numeric',
        hint: `An integer from ${fmtNumber(p.min)} to ${fmtNumber(p.max)}${unit}.`,
        validate(v) {
          if (!/^-?\d+$/.test(v.trim())) return 'Enter a whole number.';
          const n = Number(v);
          if (n < p.min || n > p.max) return `Must be between ${fmtNumber(p.min)} and ${fmtNumber(p.max)}${unit}.`;
          for (const o of ORDERING) {
            if (p.name === o.high && o.low in values && n < values[o.low]) {
              return `Must be at least ${o.low} (${fmtNumber(values[o.low])}${unit}).`;
            }
            if (p.name === o.low && o.high in values && n > values[o.high]) {
              return `Must be at most ${o.high} (${fmtNumber(values[o.high])}${unit}).`;
            }
          }
          return null;
        },
      });
      toValue = (v) => Number(v.trim());
    } else if (p.type === 'fqdn') {
      Object.assign(field, {
        hint: p.empty_allowed ? 'A domain name, or empty for none.' : 'A domain name.',
        validate: (v) => rules.fqdn(normDomain(v)),
      });
      toValue = (v) => normDomain(v);
    } else if (p.type === 'ip') {
      Object.assign(field, {
        hint: p.empty_allowed ? 'An IPv4 or IPv6 address, or empty for none.' : 'An IPv4 or IPv6 address.',
        validate: (v) => rules.ip(v.trim()),
      });
      toValue = (v) => v.trim();
    }

    const resetBtn = h('button', { type: 'button', class: 'btn', testid: 'reset-button', disabled: p.is_default }, 'Reset to default');
    const f = buildForm({
      testid: 'param-form',
      fields: [field],
      values: { value: String(p.value) },
      cancelHash: '#/params',
      extra: resetBtn,
      async onSubmit(v) {
        const r = await api('PUT', `/params/${enc(p.name)}`, { body: { value: toValue(v.value) }, ifMatch: p.version });
        go('#/params', { kind: 'ok', text: `${p.name} is ${fmtValue(r.item, r.item.value)}. ${applied(r.policy_version)}` });
      },
    });
    resetBtn.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Reset parameter',
        message: `Reset ${p.name} to its default, ${fmtValue(p, p.default)}? The change applies at once.`,
        ok: 'Reset',
        danger: false,
      });
      if (!ok) return;
      f.setFormError();
      try {
        const r = await api('DELETE', `/params/${enc(p.name)}`, { ifMatch: p.version });
        go('#/params', { kind: 'ok', text: `${p.name} is back to its default, ${fmtValue(r.item, r.item.value)}. ${applied(r.policy_version)}` });
      } catch (e) {
        if (!e.handled) f.showServerError(e);
      }
    });

    const facts = h('dl', { class: 'facts', testid: 'param-facts' },
      h('dt', null, 'Scope'), h('dd', null, p.scope === 'cluster' ? 'Cluster-wide' : `Node ${p.node}`),
      h('dt', null, 'Type'), h('dd', null, p.type === 'enum' ? `one of ${p.allowed.join(', ')}` : p.type),
      h('dt', null, 'Default'), h('dd', null, fmtValue(p, p.default)),
      p.config_key ? [h('dt', null, 'Config file key'), h('dd', { class: 'mono' }, p.config_key)] : null,
      h('dt', null, 'Restart needed'), h('dd', null, p.restart_required ? 'Yes' : 'No — applies at once'),
      h('dt', null, 'Last changed'), h('dd', null, p.is_default ? 'never (default)' : timeEl(p.updated_at)));

    ctx.mount(pageShell(['System', 'Service Parameters', p.name], p.name, p.description,
      h('div', null, h('div', { class: 'panel panel-pad form' }, facts), h('h2', null, 'Change'), f.form)));
  }

  // -------------------------------------------------------------------------------------------
  // System > Administrators

  async function pageAdminPassword(ctx) {
    const me = session.username;
    const done = h('div', { class: 'banner banner-ok', testid: 'flash', role: 'status', hidden: true });
    const f = buildForm({
      testid: 'admin-password-form',
      submitLabel: 'Change password',
      fields: [
        { name: 'current_password', label: 'Current password', type: 'password', required: true, autocomplete: 'current-password' },
        { name: 'password', label: 'New password', type: 'password', required: true, hint: '12 to 128 characters.', validate: rules.password(12) },
        { name: 'password_confirm', label: 'New password again', type: 'password', required: true, dependsOn: 'password',
          validate: (v, all) => (v === all.password ? null : 'The two passwords differ.') },
      ],
      async onSubmit(v) {
        done.hidden = true;
        await api('PUT', `/admins/${enc(me)}/password`, { body: { current_password: v.current_password, password: v.password } });
        for (const k of ['current_password', 'password', 'password_confirm']) f.inputs[k].value = '';
        done.textContent = 'Password changed. Your other sessions were signed out.';
        done.hidden = false;
      },
    });
    ctx.mount(pageShell(['System', 'Administrators'], 'Administrators',
      `You are signed in as ${me}. Administrator accounts are separate from SIP users.`,
      h('div', null, done, h('h2', null, 'Change your password'), f.form)));
  }

  // -------------------------------------------------------------------------------------------
  // Presence > Domains

  async function pageDomains(ctx) {
    const list = buildList({
      key: 'domains',
      emptyText: 'No local domain yet. Add the domain your users\u2019 addresses end with.',
      columns: [{ label: 'Domain' }, { label: 'Description' }, { label: 'Users', num: true }, { label: 'Changed' }, { label: '' }],
      load: (q) => api('GET', `/domains?${q}`),
      row: (d) => h('tr', { testid: `row-${d.name}` },
        h('td', null, h('a', { href: `#/domains/edit/${enc(d.name)}` }, d.name)),
        h('td', { class: 'desc' }, d.description),
        h('td', { class: 'num' }, d.user_count),
        h('td', null, timeEl(d.updated_at)),
        rowActions(d.name, `#/domains/edit/${enc(d.name)}`, () => confirmDelete({
          what: 'domain', name: d.name, path: `/domains/${enc(d.name)}`, version: d.version, back: '#/domains',
          detail: d.user_count ? `It still has ${d.user_count} user${d.user_count === 1 ? '' : 's'}, to be deleted first. ` : '',
        }))),
    });
    await list.reload();
    ctx.mount(pageShell(['Presence', 'Domains'], 'Domains',
      'The IM domains this node serves (local domains). Requests for any other domain are not served here.',
      list.node,
      h('a', { class: 'btn btn-primary', href: '#/domains/add', testid: 'add-button' }, 'Add domain')));
  }

  async function pageDomainForm(ctx, name) {
    let d = null;
    if (name !== undefined) d = (await api('GET', `/domains/${enc(name)}`)).item;
    const fields = [
      d ? { name: 'name', label: 'Domain name', readOnly: true }
        : { name: 'name', label: 'Domain name', required: true, autocomplete: 'off',
            hint: 'For example example.org. Stored in lower case; it cannot be renamed later.',
            validate: (v) => rules.fqdn(normDomain(v)) },
      { name: 'description', label: 'Description', hint: 'Optional, at most 512 characters.', validate: rules.text(512) },
    ];
    const f = buildForm({
      testid: 'domain-form',
      fields,
      values: d || {},
      submitLabel: d ? 'Save' : 'Add domain',
      cancelHash: '#/domains',
      async onSubmit(v) {
        if (d) {
          const r = await api('PATCH', `/domains/${enc(d.name)}`, { body: { description: v.description }, ifMatch: d.version });
          go('#/domains', { kind: 'ok', text: `Saved domain ${r.item.name}. ${applied(r.policy_version)}` });
        } else {
          const r = await api('POST', '/domains', { body: { name: normDomain(v.name), description: v.description } });
          go('#/domains', { kind: 'ok', text: `Added domain ${r.item.name}. ${applied(r.policy_version)}` });
        }
      },
    });
    const facts = d ? h('div', { class: 'panel panel-pad form' }, h('dl', { class: 'facts' },
      h('dt', null, 'Users'), h('dd', null, h('a', { href: '#/users', testid: 'domain-users-link', onclick: () => {
        listState.users = { q: '', offset: 0, domain: d.name };
      } }, String(d.user_count))),
      h('dt', null, 'Created'), h('dd', null, timeEl(d.created_at)),
      h('dt', null, 'Changed'), h('dd', null, timeEl(d.updated_at)),
      h('dt', null, 'Version'), h('dd', null, String(d.version)))) : null;
    ctx.mount(pageShell(['Presence', 'Domains', d ? d.name : 'Add'], d ? `Domain ${d.name}` : 'Add domain', null,
      h('div', null, facts, facts ? h('h2', null, 'Edit') : null, f.form)));
  }

  // -------------------------------------------------------------------------------------------
  // Presence > Inter-Domain Federation > SIP Federation (federated domains)

  const INTEGRATIONS = [
    ['sip', 'Standards-based SIP peer'],
    ['lync', 'Inter-domain to OCS/Lync/S4B'],
    ['clearinghouse', 'Inter-domain to AOL (clearinghouse)'],
  ];
  const IDENTITY_POLICIES = [
    ['', 'Default for the integration type'],
    ['rfc5922', 'Certificate names the domain (RFC 5922)'],
    ['srv-target', 'Certificate names the domain\u2019s SRV target (Microsoft edges)'],
    ['subjects', 'A listed TLS peer subject'],
  ];
  const DISCOVERIES = [
    ['both', '_sipfederationtls._tcp, then RFC 3263'],
    ['sipfederationtls', '_sipfederationtls._tcp only'],
    ['rfc3263', 'RFC 3263 only (NAPTR, _sips._tcp, _sip._tcp, A/AAAA)'],
  ];
  const labelOf = (table, v) => (table.find(([k]) => k === v) || [v, v])[1];

  async function pageFederatedDomains(ctx) {
    const list = buildList({
      key: 'federated-domains',
      emptyText: 'No federated domain yet. Add the domain of an organisation your users may talk to.',
      columns: [{ label: 'Domain' }, { label: 'Integration' }, { label: 'Direct' }, { label: 'Description' }, { label: 'Changed' }, { label: '' }],
      load: (q) => api('GET', `/federated-domains?${q}`),
      row: (d) => h('tr', { testid: `row-${d.name}` },
        h('td', null, h('a', { href: `#/federated-domains/edit/${enc(d.name)}` }, d.name),
          d.discovered ? h('span', { class: 'nav-note' }, ' discovered') : null),
        h('td', null, labelOf(INTEGRATIONS, d.integration) + (d.via_domain ? ` via ${d.via_domain}` : '')),
        h('td', null, d.direct_federation ? 'Yes' : 'No'),
        h('td', { class: 'desc' }, d.description),
        h('td', null, timeEl(d.updated_at)),
        rowActions(d.name, `#/federated-domains/edit/${enc(d.name)}`, () => confirmDelete({
          what: 'federated domain', name: d.name, path: `/federated-domains/${enc(d.name)}`, version: d.version,
          back: '#/federated-domains', detail: 'Its incoming ACL entry goes with it. ',
        }))),
    });
    await list.reload();
    ctx.mount(pageShell(['Presence', 'Inter-Domain Federation', 'SIP Federation'], 'SIP Federation',
      'Other organisations\u2019 domains your users may exchange IM and presence with. A domain is either local or federated.',
      list.node,
      h('a', { class: 'btn btn-primary', href: '#/federated-domains/add', testid: 'add-button' }, 'Add federated domain')));
  }

  async function pageFederatedDomainForm(ctx, name) {
    let d = null;
    if (name !== undefined) d = (await api('GET', `/federated-domains/${enc(name)}`)).item;
    const fields = [
      d ? { name: 'name', label: 'Domain name', readOnly: true }
        : { name: 'name', label: 'Domain name', required: true, autocomplete: 'off',
            hint: 'The other organisation\u2019s IM domain, e.g. partner.example. It cannot be renamed later.',
            validate: (v) => rules.fqdn(normDomain(v)) },
      { name: 'description', label: 'Description', hint: 'Shown to your users in their privacy settings. At most 512 characters.', validate: rules.text(512) },
      { name: 'integration', label: 'Integration type', type: 'select', required: true, options: INTEGRATIONS },
      { name: 'direct_federation', label: 'Direct federation', type: 'select', options: [['false', 'No (through an edge or Expressway)'], ['true', 'Yes']] },
      { name: 'identity_policy', label: 'Peer identity', type: 'select', options: d ? IDENTITY_POLICIES.slice(1) : IDENTITY_POLICIES },
      { name: 'discovery', label: 'DNS discovery', type: 'select', options: DISCOVERIES },
      { name: 'via_domain', label: 'Clearinghouse domain', autocomplete: 'off', dependsOn: 'integration',
        hint: 'Clearinghouse only: the hub it is reached through. Empty: the default federation routing domain.',
        validate: (v, all) => (all.integration !== 'clearinghouse' ? 'Only for the clearinghouse integration type; leave it empty.' : rules.fqdn(normDomain(v))) },
    ];
    const values = d ? { ...d, direct_federation: String(d.direct_federation) } : { integration: 'sip', direct_federation: 'false', identity_policy: '', discovery: 'both' };
    const f = buildForm({
      testid: 'federated-domain-form',
      fields,
      values,
      submitLabel: d ? 'Save' : 'Add federated domain',
      cancelHash: '#/federated-domains',
      async onSubmit(v) {
        const body = {
          description: v.description, integration: v.integration,
          direct_federation: v.direct_federation === 'true', discovery: v.discovery,
          via_domain: v.integration === 'clearinghouse' ? normDomain(v.via_domain) : '',
        };
        if (v.identity_policy) body.identity_policy = v.identity_policy;
        if (d) {
          const r = await api('PATCH', `/federated-domains/${enc(d.name)}`, { body, ifMatch: d.version });
          go('#/federated-domains', { kind: 'ok', text: `Saved federated domain ${r.item.name}. ${applied(r.policy_version)}` });
        } else {
          body.name = normDomain(v.name);
          const r = await api('POST', '/federated-domains', { body });
          go('#/federated-domains', { kind: 'ok', text: `Added federated domain ${r.item.name}. ${applied(r.policy_version)}` });
        }
      },
    });
    const facts = d ? h('div', { class: 'panel panel-pad form' }, h('dl', { class: 'facts' },
      h('dt', null, 'Incoming ACL'), h('dd', { testid: 'incoming-acl' }, `${d.incoming_acl} (created with the domain, read-only)`),
      h('dt', null, 'Discovered'), h('dd', null, d.discovered ? 'Yes, by open federation' : 'No, added by an administrator'),
      h('dt', null, 'Created'), h('dd', null, timeEl(d.created_at)),
      h('dt', null, 'Changed'), h('dd', null, timeEl(d.updated_at)),
      h('dt', null, 'Version'), h('dd', null, String(d.version)))) : null;
    ctx.mount(pageShell(['Presence', 'Inter-Domain Federation', 'SIP Federation', d ? d.name : 'Add'],
      d ? `Federated domain ${d.name}` : 'Add federated domain', null,
      h('div', null, facts, facts ? h('h2', null, 'Edit') : null, f.form)));
  }

  // -------------------------------------------------------------------------------------------
  // Presence > Users

  async function pageUsers(ctx) {
    const st = listState.users || (listState.users = { q: '', offset: 0 });
    const domains = (await api('GET', '/domains?limit=1000')).items;
    const domainSel = h('select', { 'aria-label': 'Domain', testid: 'domain-filter' },
      h('option', { value: '' }, 'All domains'),
      domains.map((d) => h('option', { value: d.name }, d.name)));
    domainSel.value = domains.some((d) => d.name === st.domain) ? st.domain : '';
    const list = buildList({
      key: 'users',
      placeholder: 'Filter by address or name',
      emptyText: domains.length ? 'No user yet.' : 'No user yet. Add a local domain first, then its users.',
      extraTools: domainSel,
      columns: [{ label: 'Address' }, { label: 'Display name' }, { label: 'Registered', num: true }, { label: 'Changed' }, { label: '' }],
      load: (q) => {
        if (domainSel.value) q.set('domain', domainSel.value);
        return api('GET', `/users?${q}`);
      },
      row: (u) => h('tr', { testid: `row-${u.address}` },
        h('td', null, h('a', { href: `#/users/edit/${enc(u.address)}` }, u.address)),
        h('td', null, u.display_name),
        h('td', { class: 'num' }, u.registered_contacts),
        h('td', null, timeEl(u.updated_at)),
        rowActions(u.address, `#/users/edit/${enc(u.address)}`, () => confirmDelete({
          what: 'user', name: u.address, path: `/users/${enc(u.address)}`, version: u.version, back: '#/users',
          detail: 'Its registrations end too. ',
        }))),
    });
    domainSel.addEventListener('change', () => {
      st.domain = domainSel.value;
      st.offset = 0;
      list.reload().catch(() => {});
    });
    await list.reload();
    ctx.mount(pageShell(['Presence', 'Users'], 'Users',
      'Local SIP users: they register and sign in with these passwords (digest authentication).',
      list.node,
      h('a', { class: 'btn btn-primary', href: '#/users/add', testid: 'add-button' }, 'Add user')));
  }

  const passwordFields = () => [
    { name: 'password', label: 'Password', type: 'password', required: true, hint: '8 to 128 characters.', validate: rules.password(8) },
    { name: 'password_confirm', label: 'Password again', type: 'password', required: true, dependsOn: 'password',
      validate: (v, all) => (v === all.password ? null : 'The two passwords differ.') },
  ];

  async function pageUserForm(ctx, address) {
    if (address === undefined) {
      const domains = (await api('GET', '/domains?limit=1000')).items;
      if (domains.length === 0) {
        ctx.mount(pageShell(['Presence', 'Users', 'Add'], 'Add user', null,
          h('div', { class: 'banner banner-warn', testid: 'no-domain' }, 'A user belongs to a local domain, and there is none yet. ',
            h('a', { href: '#/domains/add' }, 'Add a domain first.'))));
        return;
      }
      const st = listState.users || {};
      const f = buildForm({
        testid: 'user-form',
        submitLabel: 'Add user',
        cancelHash: '#/users',
        values: { domain: st.domain || domains[0].name },
        fields: [
          { name: 'username', label: 'User name', required: true, hint: 'The part before @, e.g. alice. It cannot be changed later.', validate: rules.sipUser },
          { name: 'domain', label: 'Domain', type: 'select', required: true, options: domains.map((d) => [d.name, d.name]) },
          { name: 'display_name', label: 'Display name', hint: 'Optional, at most 128 characters.', validate: rules.text(128) },
          ...passwordFields(),
        ],
        async onSubmit(v) {
          const r = await api('POST', '/users', {
            body: { username: v.username.trim(), domain: v.domain, display_name: v.display_name, password: v.password },
          });
          go('#/users', { kind: 'ok', text: `Added user ${r.item.address}. ${applied(r.policy_version)}` });
        },
      });
      ctx.mount(pageShell(['Presence', 'Users', 'Add'], 'Add user', null, f.form));
      return;
    }

    let u = (await api('GET', `/users/${enc(address)}`)).item;
    const f = buildForm({
      testid: 'user-form',
      cancelHash: '#/users',
      values: u,
      fields: [
        { name: 'address', label: 'Address', readOnly: true },
        { name: 'display_name', label: 'Display name', hint: 'At most 128 characters.', validate: rules.text(128) },
      ],
      async onSubmit(v) {
        const r = await api('PATCH', `/users/${enc(u.address)}`, { body: { display_name: v.display_name }, ifMatch: u.version });
        go('#/users', { kind: 'ok', text: `Saved user ${r.item.address}. ${applied(r.policy_version)}` });
      },
    });
    const pwDone = h('div', { class: 'banner banner-ok', testid: 'password-flash', role: 'status', hidden: true });
    const pw = buildForm({
      testid: 'password-form',
      submitLabel: 'Set password',
      submitTestid: 'set-password-button',
      fields: passwordFields(),
      async onSubmit(v) {
        pwDone.hidden = true;
        const r = await api('PUT', `/users/${enc(u.address)}/password`, { body: { password: v.password }, ifMatch: u.version });
        u = r.item;
        pw.inputs.password.value = '';
        pw.inputs.password_confirm.value = '';
        pwDone.textContent = `Password set. ${applied(r.policy_version)}`;
        pwDone.hidden = false;
      },
    });
    const facts = h('div', { class: 'panel panel-pad form' }, h('dl', { class: 'facts' },
      h('dt', null, 'Registered contacts'), h('dd', null, String(u.registered_contacts)),
      h('dt', null, 'Created'), h('dd', null, timeEl(u.created_at)),
      h('dt', null, 'Changed'), h('dd', null, timeEl(u.updated_at))));
    ctx.mount(pageShell(['Presence', 'Users', u.address], `User ${u.address}`, null,
      h('div', null, facts, h('h2', null, 'Edit'), f.form,
        h('h2', null, 'Set or reset the password'),
        h('p', { class: 'muted' }, 'The password is never shown. Registered clients must use the new one from their next request.'),
        pwDone, pw.form)));
  }

  // -------------------------------------------------------------------------------------------
  // Tools > Service Activation, Control Center

  const stateBadge = (s, testid) => {
    const cls = s === 'running' ? 'badge-ok' : s === 'stopped' ? 'badge-off' : 'badge-busy';
    const label = { running: 'Running', stopped: 'Stopped', starting: 'Starting…', stopping: 'Stopping…' }[s] || s;
    return h('span', { class: `badge ${cls}`, testid }, label);
  };
  const listenersText = (ls) => (ls.length ? ls.map((l) => `${l.transport.toUpperCase()} ${l.address}:${l.port}`).join(', ') : '—');

  async function pageActivation(ctx) {
    const r = await api('GET', '/services');
    const boxes = {};
    const rows = r.items.map((s) => {
      const box = h('input', { type: 'checkbox', id: `act-${s.name}`, testid: `activate-${s.name}`, checked: s.activated });
      boxes[s.name] = { box, was: s.activated };
      return h('tr', { testid: `row-${s.name}` },
        h('td', null, h('label', { class: 'check', for: `act-${s.name}` }, box, h('strong', { class: 'mono' }, s.name))),
        h('td', null, s.description),
        h('td', null, stateBadge(s.state, `state-${s.name}`)));
    });
    const error = h('div', { class: 'banner banner-error', testid: 'form-error', role: 'alert', hidden: true });
    const save = h('button', { type: 'button', class: 'btn btn-primary', testid: 'save-activation' }, 'Save');
    save.addEventListener('click', async () => {
      error.hidden = true;
      const changes = Object.entries(boxes).filter(([, b]) => b.box.checked !== b.was);
      if (changes.length === 0) {
        go('#/services/activation', { kind: 'info', text: 'Nothing changed.' });
        return;
      }
      const off = changes.filter(([, b]) => !b.box.checked).map(([n]) => n);
      if (off.length) {
        const ok = await confirmDialog({
          title: 'Deactivate services',
          message: `Deactivate ${off.join(', ')}? They stop at once: their listeners close and clients lose that service until it is activated again.`,
          ok: 'Deactivate',
        });
        if (!ok) return;
      }
      save.disabled = true;
      let pv = null;
      try {
        for (const [n, b] of changes) {
          const res = await api('POST', `/services/${enc(n)}/${b.box.checked ? 'activate' : 'deactivate'}`);
          b.was = b.box.checked;
          pv = res.policy_version;
        }
        go('#/services/activation', { kind: 'ok', text: `Saved. ${applied(pv)}` });
      } catch (e) {
        if (e.handled) return;
        error.textContent = e.message;
        error.hidden = false;
      } finally {
        save.disabled = false;
      }
    });
    ctx.mount(pageShell(['Tools', 'Service Activation'], 'Service Activation',
      'An activated service runs on this node and stays activated across restarts. In Herald activating is starting: there is no separate start step.',
      h('div', null, error,
        h('div', { class: 'panel' }, h('table', { class: 'grid', testid: 'activation-table' },
          h('thead', null, h('tr', null, h('th', null, 'Activated'), h('th', null, 'Description'), h('th', null, 'State'))),
          h('tbody', null, rows))),
        h('div', { class: 'toolbar toolbar-bottom' }, save))));
  }

  async function pageControl(ctx) {
    const tbody = h('tbody');
    let busy = false;

    async function act(s, action) {
      const verbs = { activate: 'Start', deactivate: 'Stop', restart: 'Restart' };
      if (action !== 'activate') {
        const ok = await confirmDialog({
          title: `${verbs[action]} ${s.name}`,
          message: action === 'deactivate'
            ? `Stop ${s.name}? Its listeners close at once and it stays stopped (deactivated) until started again.`
            : `Restart ${s.name}? Its listeners close and open again; connections through them are dropped.`,
          ok: verbs[action],
          danger: action === 'deactivate',
        });
        if (!ok) return;
      }
      busy = true;
      render(s.name, action === 'activate' ? 'starting' : 'stopping');
      try {
        const r = await api('POST', `/services/${enc(s.name)}/${action}`);
        const done = { activate: 'started', deactivate: 'stopped', restart: 'restarted' }[action];
        busy = false;
        go('#/services/control', { kind: 'ok', text: `${s.name} ${done}. ${applied(r.policy_version)}` });
      } catch (e) {
        busy = false;
        if (e.handled) return;
        go('#/services/control', { kind: 'error', text: `${s.name}: ${e.message}` });
      }
    }

    let items = [];
    function render(pendingName, pendingState) {
      tbody.replaceChildren(...items.map((s) => {
        const state = s.name === pendingName ? pendingState : s.state;
        const running = state === 'running';
        const stopped = state === 'stopped';
        const lock = !!pendingName;
        return h('tr', { testid: `service-${s.name}` },
          h('td', null, h('strong', { class: 'mono' }, s.name), h('div', { class: 'desc small' }, s.description)),
          h('td', null, stateBadge(state, `state-${s.name}`)),
          h('td', null, s.activated ? 'Yes' : 'No'),
          h('td', { class: 'mono small', testid: `listeners-${s.name}` }, listenersText(s.listeners)),
          h('td', null, timeEl(s.since)),
          h('td', { class: 'actions' },
            h('button', { type: 'button', class: 'btn btn-small', testid: `start-${s.name}`, disabled: lock || !stopped,
              onclick: () => act(s, 'activate') }, 'Start'),
            h('button', { type: 'button', class: 'btn btn-small btn-danger', testid: `stop-${s.name}`, disabled: lock || !running,
              onclick: () => act(s, 'deactivate') }, 'Stop'),
            h('button', { type: 'button', class: 'btn btn-small', testid: `restart-${s.name}`, disabled: lock || !running,
              onclick: () => act(s, 'restart') }, 'Restart')));
      }));
    }
    async function load() {
      const r = await api('GET', '/services');
      if (!ctx.alive() || busy) return;
      items = r.items;
      render();
    }

    await load();
    ctx.mount(pageShell(['Tools', 'Control Center'], 'Control Center',
      'Start, stop and restart this node\u2019s services. Stop deactivates: the service stays stopped across node restarts. Refreshed every 5 seconds.',
      h('div', { class: 'panel' }, h('table', { class: 'grid', testid: 'services-table' },
        h('thead', null, h('tr', null, h('th', null, 'Service'), h('th', null, 'State'), h('th', null, 'Activated'),
          h('th', null, 'Listeners'), h('th', null, 'Since'), h('th', null, ''))),
        tbody))));
    ctx.every(5000, () => load().catch(() => {}));
  }

  // -------------------------------------------------------------------------------------------
  // Tools > Audit Log

  async function pageAudit(ctx) {
    const st = listState.audit || (listState.audit = { type: '' });
    const tbody = h('tbody');
    const count = h('span', { class: 'count', testid: 'list-count' });
    const more = h('button', { type: 'button', class: 'btn', testid: 'audit-more', hidden: true }, 'Load older entries');
    const typeSel = h('select', { 'aria-label': 'Object type', testid: 'audit-type' },
      [['', 'All objects'], ['domain', 'Domains'], ['federated_domain', 'Federated domains'], ['user', 'Users'], ['param', 'Service parameters'],
        ['service', 'Services'], ['admin', 'Administrators']].map(([v, l]) => h('option', { value: v }, l)));
    typeSel.value = st.type;
    let lastId = null;
    let shown = 0;

    const json = (label, v) => (v === null || v === undefined ? null
      : h('details', { class: 'json' }, h('summary', null, label), h('pre', null, JSON.stringify(v, null, 2))));

    async function load(append) {
      const q = new URLSearchParams({ limit: '50' });
      if (append && lastId !== null) q.set('before_id', String(lastId));
      if (typeSel.value) q.set('object_type', typeSel.value);
      const r = await api('GET', `/audit?${q}`);
      if (!ctx.alive()) return;
      if (!append) { tbody.replaceChildren(); shown = 0; }
      for (const e of r.items) {
        tbody.append(h('tr', { testid: `audit-${e.id}` },
          h('td', null, timeEl(e.at)),
          h('td', null, e.actor, e.source_address ? h('div', { class: 'muted small mono' }, e.source_address) : null),
          h('td', { testid: `audit-action-${e.id}` }, e.action),
          h('td', null, h('span', { class: 'muted' }, `${e.object_type} `), h('span', { class: 'mono' }, e.object_id)),
          h('td', { class: 'num' }, e.policy_version ?? '—'),
          h('td', null, json('before', e.before), json('after', e.after))));
      }
      shown += r.items.length;
      if (r.items.length) lastId = r.items[r.items.length - 1].id;
      if (shown === 0) {
        tbody.append(h('tr', null, h('td', { class: 'empty', colspan: 6 }, 'No entry.')));
      }
      count.textContent = `${shown} of ${r.total}`;
      more.hidden = shown >= r.total;
    }
    typeSel.addEventListener('change', () => { st.type = typeSel.value; lastId = null; load(false).catch(() => {}); });
    more.addEventListener('click', () => load(true).catch(() => {}));

    await load(false);
    ctx.mount(pageShell(['Tools', 'Audit Log'], 'Audit Log',
      'Who changed what and when, newest first. Passwords never appear here.',
      h('div', null,
        h('div', { class: 'toolbar' }, typeSel,
          h('button', { type: 'button', class: 'btn', testid: 'audit-refresh', onclick: () => { lastId = null; load(false).catch(() => {}); } }, 'Refresh'),
          count),
        h('div', { class: 'panel' }, h('table', { class: 'grid', testid: 'audit-table' },
          h('thead', null, h('tr', null, h('th', null, 'When'), h('th', null, 'Who'), h('th', null, 'Action'),
            h('th', null, 'Object'), h('th', { class: 'num' }, 'Policy version'), h('th', null, 'Change'))),
          tbody)),
        h('div', { class: 'pager' }, more))));
  }

  // -------------------------------------------------------------------------------------------
  // Start

  function start() {
    $('login-form').addEventListener('submit', onLogin);
    $('logout-button').addEventListener('click', onLogout);
    window.addEventListener('hashchange', route);
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
