// DEVELOPMENT AID — NOT PART OF `make test`, NOT HERALD.
//
// An in-memory stand-in for a Herald node's admin plane, written from docs/admin-api.md, so the
// web console (src/admin/web/) and its browser test can be worked on before the C++ REST API
// exists. It serves the console's static files with the same strict Content-Security-Policy the
// node must send, and implements enough of /api/v1 to click through every page: auth with
// tokens and the login rate limit, envelopes, If-Match, validation errors, domains, users,
// params, services, status and the audit log. Services do not open real sockets.
//
//   node mock_server.mjs                      # serves on 127.0.0.1:8099 (HERALD_MOCK_PORT)
//   node mock_server.mjs -- CMD ARGS...       # serves on a free port, runs CMD with HERALD_URL,
//                                             # HERALD_ADMIN_USER/PASSWORD and
//                                             # HERALD_SCREENSHOT_DIR set, exits with its status
//
// Admin user `admin`, password $HERALD_ADMIN_PASSWORD or "admin-password-1". Node standard
// library only.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB_DIR = path.resolve(HERE, '../../src/admin/web');
const MAX_BODY = 64 * 1024;
const NODE_NAME = 'herald-dev';
const IDLE_MS = 8 * 3600 * 1000;
const ABSOLUTE_MS = 24 * 3600 * 1000;

const STATIC = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/favicon.svg': ['favicon.svg', 'image/svg+xml'],
};
const CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// ---------------------------------------------------------------------------------------------
// Rules (the same as docs/admin-api.md)

const CONTROL = /[\u0000-\u001f\u007f]/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const SIP_USER = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/]{1,64}$/;

function isFqdn(s) {
  return s.length >= 1 && s.length <= 253 && s.split('.').every((l) => LABEL.test(l));
}
function normDomain(s) {
  return s.toLowerCase().replace(/\.$/, '');
}
function isIp(s) {
  const v4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  if (v4.test(s)) return true;
  if (!s.includes(':') || /[^0-9a-fA-F:.]/.test(s)) return false;
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}

class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}
const invalid = (field, rule, message, status = 422, extra = {}) =>
  new ApiError(status, 'invalid_field', message, { field, rule, ...extra });

function checkKeys(body, writable, readOnly = [], identity = []) {
  for (const k of Object.keys(body)) {
    if (!writable.includes(k) && !readOnly.includes(k) && !identity.includes(k)) {
      throw new ApiError(400, 'unknown_field', `unknown field '${k}'`, {
        field: k,
        rule: 'known_field',
      });
    }
  }
}
function str(body, field, { required = false } = {}) {
  if (!(field in body)) {
    if (required) {
      throw new ApiError(422, 'missing_field', `${field} is required`, {
        field,
        rule: 'required',
      });
    }
    return undefined;
  }
  if (typeof body[field] !== 'string') throw invalid(field, 'type', `${field} must be a string`, 400);
  return body[field];
}
function text(body, field, max) {
  const v = str(body, field);
  if (v === undefined) return undefined;
  if (v.length > max) throw invalid(field, 'length', `${field} must have at most ${max} characters`);
  if (CONTROL.test(v)) throw invalid(field, 'characters', `${field} must not contain control characters`);
  return v;
}
function password(body, field, min, max = 128) {
  const v = str(body, field, { required: true });
  if (v.length < min || v.length > max) {
    throw invalid(field, 'password_length', `the password must have ${min} to ${max} characters`);
  }
  if (CONTROL.test(v)) throw invalid(field, 'characters', 'the password must not contain control characters');
  return v;
}

// ---------------------------------------------------------------------------------------------
// State

const now = () => new Date();
const iso = (d = now()) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const startedAt = now();

const db = {
  policyVersion: 1,
  admins: new Map([['admin', process.env.HERALD_ADMIN_PASSWORD || 'admin-password-1']]),
  tokens: new Map(),
  failures: new Map(),
  domains: new Map(),
  users: new Map(),
  paramValues: new Map(), // name -> {value, version, updated_at}
  paramVersions: new Map(), // name -> version after a reset
  services: new Map(),
  audit: [],
  counters: { 'sip.received': 0, 'sip.sent': 0, 'sip.parse_errors': 0, 'admin.logins_failed': 0 },
};

const PARAMS = [
  { name: 'federation-routing-fqdn', scope: 'cluster', type: 'fqdn', default: 'herald-dev.example.net',
    description: 'Public FQDN of this cluster for federation: the _sipfederationtls._tcp SRV target, written into Record-Route.' },
  { name: 'default-federation-routing-domain', scope: 'cluster', type: 'fqdn', default: 'aol.com',
    description: 'Clearinghouse domain through which AOL-type federated domains are reached.' },
  { name: 'virtual-ip-address', scope: 'cluster', type: 'ip', empty_allowed: true, default: '',
    description: 'Virtual IP address of a load balancer in front of the cluster; empty when none.' },
  { name: 'virtual-server-name', scope: 'cluster', type: 'fqdn', empty_allowed: true, default: '',
    description: 'FQDN of a load balancer in front of the cluster; empty when none.' },
  { name: 'im-gateway-status', scope: 'cluster', type: 'bool', default: true,
    description: 'IM gateway on. Federation needs it on.' },
  { name: 'record-route-transport', scope: 'cluster', type: 'bool', default: false,
    description: 'Write transport= into Record-Route (TCP direct federation with OCS).' },
  { name: 'email-federation', scope: 'cluster', type: 'bool', default: false,
    description: 'Use the email address of users for inter-domain federation.' },
  { name: 'availability-without-approval', scope: 'cluster', type: 'bool', default: false,
    description: 'Local users see each other\u2019s availability without approving each other.' },
  { name: 'sip-t1', scope: 'node', type: 'integer', min: 50, max: 10000, unit: 'ms', default: 500,
    config_key: 'sip.timers.t1', description: 'RFC 3261 T1, the round-trip estimate.' },
  { name: 'sip-t2', scope: 'node', type: 'integer', min: 500, max: 60000, unit: 'ms', default: 4000,
    config_key: 'sip.timers.t2', description: 'RFC 3261 T2, the longest retransmission interval. At least T1.' },
  { name: 'sip-t4', scope: 'node', type: 'integer', min: 500, max: 60000, unit: 'ms', default: 5000,
    config_key: 'sip.timers.t4', description: 'RFC 3261 T4, how long a message may stay in the network.' },
  { name: 'registrar-min-expires', scope: 'node', type: 'integer', min: 1, max: 86400, unit: 's',
    default: 60, config_key: 'registrar.min_expires', description: 'Shortest registration accepted (423 below it).' },
  { name: 'registrar-max-expires', scope: 'node', type: 'integer', min: 1, max: 604800, unit: 's',
    default: 3600, config_key: 'registrar.max_expires', description: 'Longest registration; longer ones are shortened.' },
  { name: 'tcp-idle-timeout', scope: 'node', type: 'integer', min: 10, max: 86400, unit: 's',
    default: 3605, config_key: 'sip.tcp_idle_timeout', description: 'A TCP/TLS connection idle this long is closed.' },
  { name: 'max-connections', scope: 'node', type: 'integer', min: 1, max: 1000000, default: 10000,
    config_key: 'sip.max_connections', description: 'Open TCP/TLS connections at most.' },
  { name: 'log-level', scope: 'node', type: 'enum', default: 'info', config_key: 'log.level',
    allowed: ['trace', 'debug', 'info', 'warn', 'error', 'critical', 'off'], description: 'Level of the node log.' },
];
const ORDERING = [
  { low: 'sip-t1', high: 'sip-t2' },
  { low: 'registrar-min-expires', high: 'registrar-max-expires' },
];

const SERVICE_DEFS = [
  ['sip-proxy', 'SIP proxy, registrar and IM for local clients',
    [{ transport: 'udp', address: '0.0.0.0', port: 5060 }, { transport: 'tcp', address: '0.0.0.0', port: 5060 }]],
  ['sip-federation', 'Federation with other domains over mutual TLS',
    [{ transport: 'tls', address: '0.0.0.0', port: 5061 }]],
  ['presence', 'Presence: PUBLISH, SUBSCRIBE and NOTIFY', []],
];
for (const [name, description, listeners] of SERVICE_DEFS) {
  db.services.set(name, { name, description, activated: true, state: 'running', since: iso(startedAt), defListeners: listeners });
}

function audit(req, action, objectType, objectId, before, after, pv) {
  db.audit.push({
    id: db.audit.length + 1,
    at: iso(),
    actor: req.admin ?? 'anonymous',
    source_address: req.socket.remoteAddress ?? '',
    action,
    object_type: objectType,
    object_id: objectId,
    before: before ?? null,
    after: after ?? null,
    policy_version: pv ?? null,
  });
}
const bump = () => ++db.policyVersion;

// ---------------------------------------------------------------------------------------------
// Views

function domainView(d) {
  let count = 0;
  for (const u of db.users.values()) if (u.domain === d.name) count++;
  return { name: d.name, description: d.description, user_count: count, created_at: d.created_at,
           updated_at: d.updated_at, version: d.version };
}
function userView(u) {
  return { address: `${u.username}@${u.domain}`, username: u.username, domain: u.domain,
           display_name: u.display_name, registered_contacts: 0, created_at: u.created_at,
           updated_at: u.updated_at, version: u.version };
}
function paramView(p) {
  const stored = db.paramValues.get(p.name);
  const item = { name: p.name, scope: p.scope };
  if (p.scope === 'node') item.node = NODE_NAME;
  Object.assign(item, {
    type: p.type,
    value: stored ? stored.value : p.default,
    default: p.default,
    is_default: !stored,
  });
  if ('empty_allowed' in p) item.empty_allowed = p.empty_allowed;
  if (p.allowed) item.allowed = p.allowed;
  if (p.type === 'integer') Object.assign(item, { min: p.min, max: p.max });
  if (p.unit) item.unit = p.unit;
  if (p.config_key) item.config_key = p.config_key;
  Object.assign(item, {
    restart_required: false,
    description: p.description,
    updated_at: stored ? stored.updated_at : iso(startedAt),
    version: stored ? stored.version : (db.paramVersions.get(p.name) ?? 1),
  });
  return item;
}
function serviceView(s) {
  return { name: s.name, description: s.description, activated: s.activated, state: s.state,
           listeners: s.state === 'running' ? s.defListeners : [], since: s.since };
}
const paramValue = (name) => paramView(PARAMS.find((p) => p.name === name)).value;

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

function send(res, status, body, headers = {}) {
  const data = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(data);
}
function sendError(res, e) {
  const error = { status: e.status, code: e.code, message: e.message, ...e.extra };
  const headers = e.headers ?? {};
  send(res, e.status, { error }, headers);
}

async function readBody(req) {
  const len = Number(req.headers['content-length'] ?? 0);
  if (len > MAX_BODY) throw new ApiError(413, 'payload_too_large', 'the body is larger than 64 KiB');
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > MAX_BODY) throw new ApiError(413, 'payload_too_large', 'the body is larger than 64 KiB');
    chunks.push(c);
  }
  if (size === 0) return null;
  const ct = (req.headers['content-type'] ?? '').toLowerCase().split(';').map((s) => s.trim());
  if (ct[0] !== 'application/json' || ct.slice(1).some((p) => p.startsWith('charset=') && p !== 'charset=utf-8')) {
    throw new ApiError(415, 'unsupported_media_type', 'the body must be application/json');
  }
  let body;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'bad_json', 'the body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, 'bad_json', 'the body must be a JSON object');
  }
  return body;
}
const needBody = (b) => {
  if (b === null) throw new ApiError(400, 'bad_json', 'a JSON object body is required');
  return b;
};

function checkIfMatch(req, version) {
  const h = req.headers['if-match'];
  if (h === undefined || h.trim() === '*') return;
  if (h.trim() !== `"${version}"`) {
    throw new ApiError(412, 'precondition_failed',
      `the object changed since you read it (now version ${version}); reload and try again`);
  }
}

function listParams(url, items) {
  const limitS = url.searchParams.get('limit');
  const offsetS = url.searchParams.get('offset');
  const limit = limitS === null ? 100 : Number(limitS);
  const offset = offsetS === null ? 0 : Number(offsetS);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('limit', 'range', 'limit must be 1 to 1000', 400);
  if (!Number.isInteger(offset) || offset < 0) throw invalid('offset', 'range', 'offset must be 0 or more', 400);
  return { items: items.slice(offset, offset + limit), total: items.length, policy_version: db.policyVersion };
}
const qMatch = (url, ...texts) => {
  const q = (url.searchParams.get('q') ?? '').toLowerCase();
  return !q || texts.some((t) => t.toLowerCase().includes(q));
};
const envelope = (item) => ({ item, policy_version: db.policyVersion });
const notFound = (what) => new ApiError(404, 'not_found', `no ${what}`);
const methodNotAllowed = (allow) => {
  const e = new ApiError(405, 'method_not_allowed', `method not allowed; use ${allow}`);
  e.headers = { Allow: allow };
  return e;
};

// ---------------------------------------------------------------------------------------------
// Handlers

function authenticate(req) {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer (\S+)$/.exec(h);
  const t = m && db.tokens.get(m[1]);
  const at = Date.now();
  if (!t || at - t.lastUsed > IDLE_MS || at - t.created > ABSOLUTE_MS) {
    if (t) db.tokens.delete(m[1]);
    const e = new ApiError(401, 'unauthorized', 'sign in first: no valid token');
    e.headers = { 'WWW-Authenticate': 'Bearer realm="herald"' };
    throw e;
  }
  t.lastUsed = at;
  req.admin = t.username;
  req.token = m[1];
}

async function login(req, res) {
  const ip = req.socket.remoteAddress ?? '';
  const at = Date.now();
  const recent = (db.failures.get(ip) ?? []).filter((t) => at - t < 60_000);
  db.failures.set(ip, recent);
  if (recent.length >= 5) {
    const e = new ApiError(429, 'rate_limited', 'too many failed logins from your address; wait and try again');
    e.headers = { 'Retry-After': String(Math.max(1, Math.ceil((recent[0] + 60_000 - at) / 1000))) };
    throw e;
  }
  const body = needBody(await readBody(req));
  checkKeys(body, ['username', 'password', 'device_token']);
  const username = str(body, 'username', { required: true });
  const pw = str(body, 'password', { required: true });
  str(body, 'device_token');
  if (db.admins.get(username) !== pw) {
    recent.push(at);
    db.counters['admin.logins_failed']++;
    req.admin = username.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 64);
    audit(req, 'login_failed', 'admin', req.admin, null, null, null);
    const e = new ApiError(401, 'unauthorized', 'wrong user name or password');
    e.headers = { 'WWW-Authenticate': 'Bearer realm="herald"' };
    throw e;
  }
  const token = randomBytes(32).toString('base64url');
  db.tokens.set(token, { username, created: at, lastUsed: at });
  req.admin = username;
  audit(req, 'login', 'admin', username, null, null, null);
  const device_token = `d1.${Math.floor(at / 1000) + 90 * 86400}.${randomBytes(16).toString('base64url')}.mock`;
  send(res, 200, { token, expires_at: iso(new Date(at + IDLE_MS)), username, device_token });
}

async function domains(req, res, url, key) {
  if (key === undefined) {
    if (req.method === 'GET') {
      const items = [...db.domains.values()].filter((d) => qMatch(url, d.name))
        .sort((a, b) => a.name.localeCompare(b.name)).map(domainView);
      return send(res, 200, listParams(url, items));
    }
    if (req.method !== 'POST') throw methodNotAllowed('GET, POST');
    const body = needBody(await readBody(req));
    checkKeys(body, ['description'], ['user_count', 'created_at', 'updated_at', 'version'], ['name']);
    const raw = str(body, 'name', { required: true });
    const name = normDomain(raw);
    if (!isFqdn(name)) throw invalid('name', 'fqdn', `'${raw}' is not a domain name: labels of letters, digits and '-', separated by dots`);
    const description = text(body, 'description', 512) ?? '';
    if (db.domains.has(name)) {
      throw new ApiError(409, 'conflict', `domain ${name} exists already`, { field: 'name', rule: 'unique' });
    }
    const t = iso();
    const d = { name, description, created_at: t, updated_at: t, version: 1 };
    db.domains.set(name, d);
    const pv = bump();
    audit(req, 'create', 'domain', name, null, domainView(d), pv);
    return send(res, 201, envelope(domainView(d)), { Location: `/api/v1/domains/${encodeURIComponent(name)}`, ETag: '"1"' });
  }
  const d = db.domains.get(normDomain(key));
  if (!d) throw notFound(`domain ${key}`);
  if (req.method === 'GET') return send(res, 200, envelope(domainView(d)), { ETag: `"${d.version}"` });
  if (req.method === 'PATCH') {
    const body = needBody(await readBody(req));
    checkIfMatch(req, d.version);
    checkKeys(body, ['description'], ['user_count', 'created_at', 'updated_at', 'version'], ['name']);
    const name = str(body, 'name');
    if (name !== undefined && normDomain(name) !== d.name) throw invalid('name', 'immutable', 'a domain cannot be renamed');
    const description = text(body, 'description', 512);
    const before = domainView(d);
    if (description !== undefined && description !== d.description) {
      d.description = description;
      d.version++;
      d.updated_at = iso();
      const pv = bump();
      audit(req, 'update', 'domain', d.name, before, domainView(d), pv);
    }
    return send(res, 200, envelope(domainView(d)), { ETag: `"${d.version}"` });
  }
  if (req.method === 'DELETE') {
    checkIfMatch(req, d.version);
    const view = domainView(d);
    if (view.user_count > 0) {
      throw new ApiError(409, 'conflict', `domain ${d.name} still has ${view.user_count} user${view.user_count === 1 ? '' : 's'}; delete them first`);
    }
    db.domains.delete(d.name);
    const pv = bump();
    audit(req, 'delete', 'domain', d.name, view, null, pv);
    return send(res, 200, envelope(view));
  }
  throw methodNotAllowed('GET, PATCH, DELETE');
}

async function users(req, res, url, key, sub) {
  if (key === undefined) {
    if (req.method === 'GET') {
      const dom = url.searchParams.get('domain');
      const items = [...db.users.values()]
        .filter((u) => (!dom || u.domain === normDomain(dom)) && qMatch(url, `${u.username}@${u.domain}`, u.display_name))
        .sort((a, b) => a.domain.localeCompare(b.domain) || (a.username < b.username ? -1 : a.username > b.username ? 1 : 0))
        .map(userView);
      return send(res, 200, listParams(url, items));
    }
    if (req.method !== 'POST') throw methodNotAllowed('GET, POST');
    const body = needBody(await readBody(req));
    checkKeys(body, ['display_name', 'password'], ['address', 'registered_contacts', 'created_at', 'updated_at', 'version'], ['username', 'domain']);
    const username = str(body, 'username', { required: true });
    if (!SIP_USER.test(username)) {
      throw invalid('username', 'sip_user', "a user name has 1 to 64 letters, digits or - _ . ! ~ * ' ( ) & = + $ , ; ? /");
    }
    const domain = normDomain(str(body, 'domain', { required: true }));
    if (!db.domains.has(domain)) throw invalid('domain', 'local_domain', `${domain} is not a local domain of this node`);
    const display_name = text(body, 'display_name', 128) ?? '';
    const pw = password(body, 'password', 8);
    const address = `${username}@${domain}`;
    if (db.users.has(address)) {
      throw new ApiError(409, 'conflict', `user ${address} exists already`, { field: 'username', rule: 'unique' });
    }
    const t = iso();
    const u = { username, domain, display_name, password: pw, created_at: t, updated_at: t, version: 1 };
    db.users.set(address, u);
    const pv = bump();
    audit(req, 'create', 'user', address, null, userView(u), pv);
    return send(res, 201, envelope(userView(u)), { Location: `/api/v1/users/${encodeURIComponent(address)}`, ETag: '"1"' });
  }
  const at = key.lastIndexOf('@');
  const address = at < 0 ? key : `${key.slice(0, at)}@${normDomain(key.slice(at + 1))}`;
  const u = db.users.get(address);
  if (!u) throw notFound(`user ${key}`);
  if (sub === 'password') {
    if (req.method !== 'PUT') throw methodNotAllowed('PUT');
    const body = needBody(await readBody(req));
    checkIfMatch(req, u.version);
    checkKeys(body, ['password']);
    u.password = password(body, 'password', 8);
    u.version++;
    u.updated_at = iso();
    const pv = bump();
    audit(req, 'password', 'user', address, null, null, pv);
    return send(res, 200, envelope(userView(u)), { ETag: `"${u.version}"` });
  }
  if (sub !== undefined) throw notFound('such path');
  if (req.method === 'GET') return send(res, 200, envelope(userView(u)), { ETag: `"${u.version}"` });
  if (req.method === 'PATCH') {
    const body = needBody(await readBody(req));
    checkIfMatch(req, u.version);
    checkKeys(body, ['display_name', 'password'], ['address', 'registered_contacts', 'created_at', 'updated_at', 'version'], ['username', 'domain']);
    if ('password' in body) throw invalid('password', 'read_only', 'set the password with PUT /users/{address}/password');
    const un = str(body, 'username');
    if (un !== undefined && un !== u.username) throw invalid('username', 'immutable', 'a user cannot be renamed');
    const dn = str(body, 'domain');
    if (dn !== undefined && normDomain(dn) !== u.domain) throw invalid('domain', 'immutable', 'a user cannot move to another domain');
    const display_name = text(body, 'display_name', 128);
    const before = userView(u);
    if (display_name !== undefined && display_name !== u.display_name) {
      u.display_name = display_name;
      u.version++;
      u.updated_at = iso();
      const pv = bump();
      audit(req, 'update', 'user', address, before, userView(u), pv);
    }
    return send(res, 200, envelope(userView(u)), { ETag: `"${u.version}"` });
  }
  if (req.method === 'DELETE') {
    checkIfMatch(req, u.version);
    const view = userView(u);
    db.users.delete(address);
    const pv = bump();
    audit(req, 'delete', 'user', address, view, null, pv);
    return send(res, 200, envelope(view));
  }
  throw methodNotAllowed('GET, PATCH, DELETE');
}

function checkParamValue(p, value) {
  const want = p.type === 'bool' ? 'boolean' : p.type === 'integer' ? 'number' : 'string';
  if (typeof value !== want || (p.type === 'integer' && !Number.isInteger(value))) {
    throw invalid('value', 'type', `${p.name} takes ${p.type === 'bool' ? 'true or false' : p.type === 'integer' ? 'an integer' : 'a string'}`, 400);
  }
  if (p.type === 'integer' && (value < p.min || value > p.max)) {
    throw invalid('value', 'range', `${p.name} must be between ${p.min} and ${p.max}${p.unit ? ` ${p.unit}` : ''}`);
  }
  if (p.type === 'enum' && !p.allowed.includes(value)) {
    throw invalid('value', 'enum', `${p.name} must be one of ${p.allowed.join(', ')}`);
  }
  if (p.type === 'fqdn' && !(value === '' && p.empty_allowed) && !isFqdn(value)) {
    throw invalid('value', 'fqdn', `'${value}' is not a domain name`);
  }
  if (p.type === 'ip' && !(value === '' && p.empty_allowed) && !isIp(value)) {
    throw invalid('value', 'ip', `'${value}' is not an IPv4 or IPv6 address`);
  }
  for (const o of ORDERING) {
    if (p.name === o.high && value < paramValue(o.low)) {
      throw invalid('value', 'ordering', `${o.high} must be at least ${o.low} (${paramValue(o.low)}${p.unit ? ` ${p.unit}` : ''})`, 422, { related: o.low });
    }
    if (p.name === o.low && value > paramValue(o.high)) {
      throw invalid('value', 'ordering', `${o.low} must be at most ${o.high} (${paramValue(o.high)}${p.unit ? ` ${p.unit}` : ''})`, 422, { related: o.high });
    }
  }
}

async function params(req, res, url, key) {
  if (key === undefined) {
    if (req.method !== 'GET') throw methodNotAllowed('GET');
    const scope = url.searchParams.get('scope');
    if (scope && scope !== 'cluster' && scope !== 'node') throw invalid('scope', 'enum', 'scope is cluster or node', 400);
    const items = PARAMS.filter((p) => (!scope || p.scope === scope) && qMatch(url, p.name)).map(paramView);
    return send(res, 200, listParams(url, items));
  }
  const p = PARAMS.find((x) => x.name === key);
  if (!p) throw notFound(`parameter ${key}`);
  const current = paramView(p);
  if (req.method === 'GET') return send(res, 200, envelope(current), { ETag: `"${current.version}"` });
  if (req.method === 'PUT') {
    const body = needBody(await readBody(req));
    checkIfMatch(req, current.version);
    checkKeys(body, ['value'], ['name', 'scope', 'node', 'type', 'default', 'is_default', 'empty_allowed',
      'allowed', 'min', 'max', 'unit', 'config_key', 'restart_required', 'description', 'updated_at', 'version']);
    if (!('value' in body)) throw new ApiError(422, 'missing_field', 'value is required', { field: 'value', rule: 'required' });
    checkParamValue(p, body.value);
    if (body.value === current.value) return send(res, 200, envelope(current), { ETag: `"${current.version}"` });
    const version = current.version + 1;
    db.paramValues.set(p.name, { value: body.value, version, updated_at: iso() });
    const pv = bump();
    audit(req, 'update', 'param', p.name, current, paramView(p), pv);
    return send(res, 200, envelope(paramView(p)), { ETag: `"${version}"` });
  }
  if (req.method === 'DELETE') {
    checkIfMatch(req, current.version);
    if (current.is_default) return send(res, 200, envelope(current));
    checkParamValue(p, p.default);
    db.paramValues.delete(p.name);
    db.paramVersions.set(p.name, current.version + 1);
    const pv = bump();
    audit(req, 'update', 'param', p.name, current, paramView(p), pv);
    return send(res, 200, envelope(paramView(p)), { ETag: `"${current.version + 1}"` });
  }
  throw methodNotAllowed('GET, PUT, DELETE');
}

async function services(req, res, url, key, action) {
  if (key === undefined) {
    if (req.method !== 'GET') throw methodNotAllowed('GET');
    const items = [...db.services.values()].map(serviceView);
    return send(res, 200, { items, total: items.length, policy_version: db.policyVersion });
  }
  const s = db.services.get(key);
  if (!s) throw notFound(`service ${key}`);
  if (action === undefined) {
    if (req.method !== 'GET') throw methodNotAllowed('GET');
    return send(res, 200, envelope(serviceView(s)));
  }
  if (!['activate', 'deactivate', 'restart'].includes(action)) throw notFound('such path');
  if (req.method !== 'POST') throw methodNotAllowed('POST');
  const body = await readBody(req);
  if (body) checkKeys(body, []);
  const before = serviceView(s);
  await new Promise((r) => setTimeout(r, 150)); // a stop or start takes a moment
  if (action === 'activate' && !s.activated) {
    Object.assign(s, { activated: true, state: 'running', since: iso() });
    audit(req, 'activate', 'service', s.name, before, serviceView(s), bump());
  } else if (action === 'deactivate' && s.activated) {
    Object.assign(s, { activated: false, state: 'stopped', since: iso() });
    audit(req, 'deactivate', 'service', s.name, before, serviceView(s), bump());
  } else if (action === 'restart') {
    if (!s.activated) throw new ApiError(409, 'conflict', `${s.name} is not activated; activate it instead`);
    s.since = iso();
    audit(req, 'restart', 'service', s.name, before, serviceView(s), null);
  }
  return send(res, 200, envelope(serviceView(s)));
}

function status(req, res) {
  if (req.method !== 'GET') throw methodNotAllowed('GET');
  db.counters['sip.received'] += 17;
  db.counters['sip.sent'] += 16;
  const listeners = [];
  for (const s of db.services.values()) {
    for (const l of serviceView(s).listeners) listeners.push({ ...l, service: s.name });
  }
  listeners.push({ transport: 'tcp', address: '127.0.0.1', port: req.socket.localPort, service: 'admin' });
  send(res, 200, {
    version: '0.0.0-mock',
    node: NODE_NAME,
    started_at: iso(startedAt),
    uptime_s: Math.floor((Date.now() - startedAt.getTime()) / 1000),
    policy_version: db.policyVersion,
    listeners,
    counters: { ...db.counters, 'registrar.bindings': 0 },
    store: { backend: 'sqlite', path: '/var/lib/herald/herald.db (mock: memory)', schema_version: 1 },
  });
}

function auditLog(req, res, url) {
  if (req.method !== 'GET') throw methodNotAllowed('GET');
  const limit = Number(url.searchParams.get('limit') ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('limit', 'range', 'limit must be 1 to 1000', 400);
  const beforeId = url.searchParams.get('before_id');
  const type = url.searchParams.get('object_type');
  const actor = url.searchParams.get('actor');
  const all = db.audit.filter((e) => (!type || e.object_type === type) && (!actor || e.actor === actor)).reverse();
  const page = all.filter((e) => !beforeId || e.id < Number(beforeId)).slice(0, limit);
  send(res, 200, { items: page, total: all.length, policy_version: db.policyVersion });
}

async function adminPassword(req, res, name, sub) {
  if (sub !== 'password') throw notFound('such path');
  if (req.method !== 'PUT') throw methodNotAllowed('PUT');
  if (!db.admins.has(name)) throw notFound(`administrator ${name}`);
  if (name !== req.admin) throw new ApiError(403, 'forbidden', 'you can change only your own password');
  const body = needBody(await readBody(req));
  checkKeys(body, ['current_password', 'password']);
  const cur = str(body, 'current_password', { required: true });
  const pw = password(body, 'password', 12);
  if (db.admins.get(name) !== cur) throw invalid('current_password', 'current_password', 'the current password is not right');
  db.admins.set(name, pw);
  for (const [t, s] of db.tokens) if (s.username === name && t !== req.token) db.tokens.delete(t);
  audit(req, 'password', 'admin', name, null, null, null);
  send(res, 204);
}

async function handleApi(req, res, url) {
  const segs = url.pathname.slice('/api/v1/'.length).split('/').map((s) => decodeURIComponent(s));
  const [top, key, sub, extra] = segs;
  if (extra !== undefined) throw notFound('such path');
  if (top === 'login' && key === undefined) {
    if (req.method !== 'POST') throw methodNotAllowed('POST');
    return login(req, res);
  }
  authenticate(req);
  switch (top) {
    case 'logout':
      if (req.method !== 'POST') throw methodNotAllowed('POST');
      db.tokens.delete(req.token);
      return send(res, 204);
    case 'domains': if (sub !== undefined) throw notFound('such path'); return domains(req, res, url, key);
    case 'users': return users(req, res, url, key, sub);
    case 'params': if (sub !== undefined) throw notFound('such path'); return params(req, res, url, key);
    case 'services': return services(req, res, url, key, sub);
    case 'status': if (key !== undefined) throw notFound('such path'); return status(req, res);
    case 'audit': if (key !== undefined) throw notFound('such path'); return auditLog(req, res, url);
    case 'admins': return adminPassword(req, res, key, sub);
    default: throw notFound('such path');
  }
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  try {
    if (url.pathname.startsWith('/api/v1/')) return await handleApi(req, res, url);
    const entry = STATIC[url.pathname];
    if (!entry || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found\n');
    }
    const data = await readFile(path.join(WEB_DIR, entry[0]));
    res.writeHead(200, {
      'Content-Type': entry[1],
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : data);
  } catch (e) {
    if (e instanceof ApiError) return sendError(res, e);
    console.error(e);
    sendError(res, new ApiError(500, 'internal_error', 'internal error'));
  }
}

export function startMockServer(port = 0) {
  const server = http.createServer((req, res) => void handle(req, res));
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dash = process.argv.indexOf('--');
  const cmd = dash >= 0 ? process.argv.slice(dash + 1) : [];
  const server = await startMockServer(cmd.length ? 0 : Number(process.env.HERALD_MOCK_PORT ?? 8099));
  const url = `http://127.0.0.1:${server.address().port}`;
  if (!cmd.length) {
    console.log(`mock Herald admin plane on ${url} (admin / ${db.admins.get('admin')})`);
  } else {
    const env = {
      ...process.env,
      HERALD_URL: url,
      HERALD_ADMIN_USER: 'admin',
      HERALD_ADMIN_PASSWORD: db.admins.get('admin'),
      HERALD_SCREENSHOT_DIR: process.env.HERALD_SCREENSHOT_DIR ?? path.join(HERE, 'screenshots'),
    };
    const child = spawn(cmd[0], cmd.slice(1), { env, stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      server.close();
      process.exit(code ?? (signal ? 1 : 0));
    });
  }
}
