#!/usr/bin/env node
// A mock of the audit log API (internal/auditapi/openapi.yaml) for working on
// the viewer without the Go service: it serves dist/ under the service's CSP
// and fake events, made the same way at every start (a fixed seed, times
// relative to the start). Like the service, every read of events records an
// audit_log_accessed event (--no-access-events turns that off).
//
//   node dev/mock-api.mjs [--port 8090] [--host 127.0.0.1] [--dist DIR] [--events 640]
//
// Tokens: dev-admin (admin), dev-viewer (viewer), dev-resource (sees the
// change log of project:p-001 only), dev-actor (sees one user's events only);
// POST /api/v1/viewer-tokens mints more. Prints "mock API listening on URL".

import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) return true;
  return v;
}

const PORT = Number(arg('port', 8090));
const HOST = String(arg('host', '127.0.0.1'));
const DIST = resolve(String(arg('dist', join(here, '..', 'dist'))));
const COUNT = Number(arg('events', 640));
const ACCESS_EVENTS = !process.argv.includes('--no-access-events');
const ORG = 'acme';
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'";

// ---- the catalog --------------------------------------------------------------

const CATEGORIES = [
  { name: 'workspace_management', description: 'Operations related to workspace administration' },
  { name: 'access_control', description: 'Permission settings and role assignments' },
  { name: 'data_permission', description: 'Data access rights and configurations' },
  { name: 'view_data', description: 'Viewing and querying data' },
  { name: 'edit_content', description: 'Modifying content' },
  { name: 'view_content', description: 'Viewing content without modifying it' },
];
const ACTIONS = [
  ['api_key_created', 'Credential', ['access_control'], 'An API key was created'],
  ['api_key_revoked', 'Credential', ['access_control'], 'An API key was revoked'],
  ['file_uploaded', 'File', ['edit_content'], 'A file was uploaded'],
  ['file_deleted', 'File', ['edit_content'], 'A file was deleted'],
  ['file_downloaded', 'File', ['view_data', 'view_content'], 'A file was downloaded'],
  ['job_run_created', 'Job Run', ['edit_content'], 'A job run was started'],
  ['job_run_cancelled', 'Job Run', ['edit_content'], 'A job run was cancelled'],
  ['notebook_created', 'Notebook', ['edit_content'], 'A notebook was created'],
  ['notebook_deleted', 'Notebook', ['edit_content'], 'A notebook was deleted'],
  ['user_invited', 'Organization Settings', ['access_control'], 'A user was invited'],
  ['user_role_updated', 'Organization Settings', ['access_control'], "A user's role changed"],
  ['saml_configuration_updated', 'Organization Settings', ['workspace_management', 'access_control'], 'The SAML configuration changed'],
  ['audit_log_accessed', 'Audit Log', ['view_data'], 'The audit log was read'],
].map(([name, group, categories, description]) => ({ name, group, categories, description }));
const ACTION = new Map(ACTIONS.map((a) => [a.name, a]));

// ---- the events ------------------------------------------------------------------

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(42);
const pick = (list) => list[Math.floor(rnd() * list.length)];

const USERS = [
  { email: '***@acme.example', id: 'u-1001', name: 'Ada L.', hash: 'h-9f2c41' },
  { email: '***@acme.example', id: 'u-1002', name: 'Grace H.', hash: 'h-17ab0e' },
  { email: '***@contractor.example', id: 'u-2001', name: 'Linus T.', hash: 'h-5d6e77' },
  { email: '***@acme.example', id: 'u-1003', hash: 'h-0c3f9a' },
  { id: 'key-ci-deploy', name: 'ci-deploy (API key)' },
  { id: 'svc-scheduler' },
];
const ACTOR_TYPE = (u) => (u.id.startsWith('key-') ? 'api_key' : u.id.startsWith('svc-') ? 'service' : 'user');
const RESOURCES = {
  Credential: [{ type: 'api_key', id: 'key-ci-deploy', name: 'ci-deploy' }, { type: 'api_key', id: 'key-bi', name: 'BI export key' }],
  File: [
    { type: 'file', id: 'f-301', name: 'invoices/2026-11.csv' },
    { type: 'file', id: 'f-302', name: 'reports/churn.parquet' },
    { type: 'file', id: 'f-303' },
  ],
  'Job Run': [{ type: 'job', id: 'job-88', name: 'Invoice pipeline nightly' }, { type: 'job', id: 'job-91', name: 'Geo enrichment' }],
  Notebook: [{ type: 'notebook', id: 'nb-17', name: 'Quarterly invoice review' }, { type: 'notebook', id: 'nb-22', name: 'Scratch' }],
  'Organization Settings': [{ type: 'organization', id: ORG, name: 'Acme Corp' }, { type: 'project', id: 'p-001', name: 'Billing project' }],
};
const IPS = ['203.0.113.7', '203.0.113.54', '198.51.100.23', '2001:db8::1f', '192.0.2.200'];
const UAS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'auditctl/1.4 (linux; amd64)',
  'python-requests/2.32.3',
];
const REGIONS = ['aws-us-west-2', 'aws-eu-west-1', 'gcp-europe-west3'];

const start = Date.now();
const events = [];
let idSeq = 0;
const newId = () => `ev-${String(++idSeq).padStart(6, '0')}-${Math.floor(rnd() * 0xffff).toString(16).padStart(4, '0')}`;

// One event about every 4.5 hours over the last ~120 days, the newest a few minutes ago.
for (let i = 0; i < COUNT; i++) {
  const action = pick(ACTIONS.filter((a) => a.name !== 'audit_log_accessed'));
  const user = pick(USERS);
  let resource = { ...pick(RESOURCES[action.group]) };
  if (rnd() < 0.1) resource = { type: 'project', id: 'p-001', name: 'Billing project' };
  if (action.name === 'user_role_updated' || action.name === 'user_invited') Object.assign(resource, { type: 'user', id: pick(USERS.slice(0, 4)).id, name: undefined });
  const r = rnd();
  const ev = {
    id: newId(),
    time: new Date(start - 5 * 60e3 - i * 4.5 * 3600e3 - Math.floor(rnd() * 3600e3)).toISOString(),
    action: action.name,
    outcome: r < 0.85 ? 'success' : r < 0.97 ? 'failure' : 'unknown',
    user: { ...user },
    actor_type: ACTOR_TYPE(user),
    resource: JSON.parse(JSON.stringify(resource)),
    ip: pick(IPS),
    user_agent: pick(UAS),
    region: pick(REGIONS),
    organization: ORG,
    group: action.group,
    categories: action.categories,
    message: `${action.description} by ${user.name || user.id}${resource.name ? ` (${resource.name})` : ''}`,
    properties: {},
  };
  if (action.name === 'user_role_updated') ev.properties = { role_from: 'member', role_to: pick(['admin', 'viewer']) };
  if (action.name === 'file_uploaded' || action.name === 'file_downloaded') ev.properties = { bytes: Math.floor(rnd() * 5e6), checksum: { algo: 'sha256', value: createHash('sha256').update(ev.id).digest('hex').slice(0, 16) } };
  if (action.name === 'job_run_created') ev.properties = { run_id: `run-${i}`, tags: ['nightly', 'billing'], retries: 0 };
  if (ev.outcome === 'failure') ev.properties.error = pick(['permission denied', 'quota exceeded', 'timeout after 30s']);
  if (Object.keys(ev.properties).length === 0) delete ev.properties;
  events.push(ev);
}

// Hostile input, as an event store can hold it: it must show as text.
events.push(
  {
    id: newId(),
    time: new Date(start - 30 * 60e3).toISOString(),
    action: '<img src="http://evil.example/pixel.png" onerror="alert(1)">',
    outcome: 'unknown',
    user: { name: '<b>Mallory</b>', id: 'u-6666' },
    actor_type: 'user',
    resource: { type: 'file', id: 'f-666', name: '=HYPERLINK("http://evil.example","invoice")' },
    ip: '203.0.113.66',
    user_agent: '<script>alert("ua")</script>',
    region: 'aws-us-west-2',
    organization: ORG,
    categories: [],
    message: 'Unknown action <script src="http://evil.example/x.js"></script>',
    properties: { html: '<iframe src="http://evil.example/"></iframe>', nested: { 'weird key <i>': ['a', 1, true, null] } },
    quarantined: true,
  },
  {
    id: newId(),
    time: new Date(start - 26 * 3600e3).toISOString(),
    action: 'legacy.export.started',
    outcome: 'success',
    user: { email: '***@acme.example', id: 'u-1001', name: 'Ada L.' },
    actor_type: 'user',
    resource: { type: 'dataset', id: 'ds-9' },
    ip: '198.51.100.23',
    user_agent: UAS[0],
    region: 'aws-eu-west-1',
    organization: ORG,
    categories: [],
    message: 'Export of dataset ds-9 (ünïcödé, 日本語, emoji 🙂) with a\nsecond line',
    quarantined: true,
  },
);

const byNewest = (a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
events.sort(byNewest);

// ---- tokens -----------------------------------------------------------------------

const tokens = new Map([
  ['dev-admin', { organization: ORG, role: 'admin', name: 'dev admin' }],
  ['dev-viewer', { organization: ORG, role: 'viewer', name: 'dev viewer' }],
  ['dev-resource', { organization: ORG, role: 'viewer', name: 'billing project page', resource: 'project:p-001' }],
  ['dev-actor', { organization: ORG, role: 'viewer', name: 'self-service', actor: 'h-9f2c41' }],
]);

// ---- helpers ------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, error, reason, field) {
    super(error);
    Object.assign(this, { status, error, reason, field });
  }
}
const bad = (field, error) => new HttpError(400, error, 'bad_filter', field);

function send(res, status, body, headers = {}) {
  const data = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' || Buffer.isBuffer(body) ? 'text/plain; charset=utf-8' : 'application/json',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(data);
}

function sendError(res, e) {
  const body = { error: e.error || e.message };
  if (e.field) body.field = e.field;
  if (e.reason) body.reason = e.reason;
  send(res, e.status || 500, body);
}

/** Midnight of a YYYY-MM-DD date in an IANA zone, as epoch ms. */
function midnightIn(date, tz) {
  const [y, m, d] = date.split('-').map(Number);
  let guess = Date.UTC(y, m - 1, d);
  for (let i = 0; i < 3; i++) {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
        .formatToParts(new Date(guess))
        .map((x) => [x.type, x.value]),
    );
    const shown = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    guess -= shown - Date.UTC(y, m - 1, d);
  }
  return guess;
}

function parseTime(field, v, tz) {
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return midnightIn(v, tz);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v)) throw bad(field, `${field}: not RFC 3339 or a date (YYYY-MM-DD): ${JSON.stringify(v.slice(0, 40))}`);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw bad(field, `${field}: not a time: ${JSON.stringify(v.slice(0, 40))}`);
  return t;
}

function ipv4(s) {
  const p = s.split('.').map(Number);
  return p.length === 4 && p.every((x) => Number.isInteger(x) && x >= 0 && x < 256) ? ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0 : null;
}

function ipMatcher(v) {
  const [addr, bits] = v.split('/');
  if (!isIP(addr)) throw bad('ip', `ip: not an address or a CIDR prefix: ${JSON.stringify(v.slice(0, 60))}`);
  if (bits === undefined) return (ip) => ip === addr;
  const n = Number(bits);
  if (isIP(addr) !== 4 || !Number.isInteger(n) || n < 0 || n > 32) throw bad('ip', 'ip: the mock knows IPv4 prefixes only');
  const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
  const net = (ipv4(addr) & mask) >>> 0;
  return (ip) => {
    const x = ipv4(ip || '');
    return x !== null && ((x & mask) >>> 0) === net;
  };
}

const FILTERS = ['q', 'since', 'from', 'to', 'tz', 'action', 'user', 'resource', 'category', 'outcome', 'ip', 'quarantined'];

/** A predicate for the filters of a request, after the token's scope. */
function compile(sp, principal, pathResource) {
  const get = (k) => {
    const all = sp.getAll(k);
    if (all.length > 1) throw bad(k, `${k}: given ${all.length} times`);
    return all[0] ?? '';
  };
  const tz = get('tz') || 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw bad('tz', `tz: not an IANA time zone: ${JSON.stringify(tz.slice(0, 60))}`);
  }
  const preds = [];
  const q = get('q');
  if (q.length > 256) throw bad('q', 'q: longer than 256 characters');
  if (q) {
    const needle = q.toLowerCase();
    preds.push((e) =>
      [e.user?.email, e.user?.name, e.user?.id, e.user?.hash, e.action, e.resource?.type, e.resource?.id, e.resource?.name, e.message]
        .some((s) => typeof s === 'string' && s.toLowerCase().includes(needle)),
    );
  }
  const since = get('since');
  const from = get('from');
  if (since && from) throw bad('since', 'since and from: give one of them');
  if (since) {
    let t;
    const now = Date.now();
    if (since === 'yesterday') t = midnightIn(new Date(now - 864e5).toLocaleDateString('en-CA', { timeZone: tz }), tz);
    else if (/^\d+d$/.test(since)) t = midnightIn(new Date(now - parseInt(since, 10) * 864e5).toLocaleDateString('en-CA', { timeZone: tz }), tz);
    else if (/^\d+(h|m|s)$/.test(since)) t = now - parseInt(since, 10) * { h: 3600e3, m: 60e3, s: 1e3 }[since.slice(-1)];
    else throw bad('since', 'since: yesterday, Nd or a duration such as 12h');
    preds.push((e) => Date.parse(e.time) >= t);
  }
  if (from) {
    const t = parseTime('from', from, tz);
    preds.push((e) => Date.parse(e.time) >= t);
  }
  const to = get('to');
  if (to) {
    // A date is inclusive: up to the end of that day.
    const t = /^\d{4}-\d{2}-\d{2}$/.test(to) ? midnightIn(to, tz) + 864e5 - 1 : parseTime('to', to, tz);
    preds.push((e) => Date.parse(e.time) <= t);
  }
  const action = get('action');
  if (action) preds.push((e) => e.action === action);
  let user = get('user');
  if (principal.actor) {
    if (user && user !== principal.actor) throw new HttpError(403, 'This token sees only the events of one user', 'out_of_scope', 'user');
    user = principal.actor;
  }
  if (user) {
    const u = user.toLowerCase();
    preds.push((e) => [e.user?.email, e.user?.hash, e.user?.id].some((s) => typeof s === 'string' && s.toLowerCase() === u));
  }
  let resource = pathResource || get('resource');
  if (pathResource && sp.has('resource')) throw bad('resource', 'resource: not with a resource path');
  if (principal.resource) {
    if (resource !== principal.resource) throw new HttpError(403, `This token sees only the change log of ${principal.resource}`, 'out_of_scope', 'resource');
  }
  if (resource) {
    const i = resource.indexOf(':');
    const type = i < 0 ? resource : resource.slice(0, i);
    const id = i < 0 ? '' : resource.slice(i + 1);
    if (!type || (i >= 0 && !id)) throw bad('resource', 'resource: TYPE or TYPE:ID');
    preds.push((e) => e.resource?.type === type && (!id || e.resource?.id === id));
  }
  const category = get('category');
  if (category) preds.push((e) => Array.isArray(e.categories) && e.categories.includes(category));
  const outcome = get('outcome');
  if (outcome) {
    if (!['success', 'failure', 'unknown'].includes(outcome)) throw bad('outcome', 'outcome: success, failure or unknown');
    preds.push((e) => (e.outcome || 'unknown') === outcome);
  }
  const ip = get('ip');
  if (ip) {
    const m = ipMatcher(ip);
    preds.push((e) => m(e.ip));
  }
  const quarantined = get('quarantined');
  if (quarantined) {
    if (!['true', 'false'].includes(quarantined)) throw bad('quarantined', 'quarantined: true or false');
    const want = quarantined === 'true';
    preds.push((e) => !!e.quarantined === want);
  }
  // The key a cursor is signed for: the organization and the filters as given.
  const key = createHash('sha256')
    .update(JSON.stringify([principal.organization, pathResource || '', FILTERS.map((k) => [k, sp.getAll(k)])]))
    .digest('base64url')
    .slice(0, 16);
  return { match: (e) => preds.every((p) => p(e)), key };
}

const SECRET = randomBytes(16);
function makeCursor(key, offset) {
  const body = Buffer.from(JSON.stringify({ k: key, o: offset })).toString('base64url');
  const sig = createHash('sha256').update(SECRET).update(body).digest('base64url').slice(0, 16);
  return `${body}.${sig}`;
}
function readCursor(c, key) {
  const [body, sig] = c.split('.');
  const want = createHash('sha256').update(SECRET).update(body || '').digest('base64url').slice(0, 16);
  let v = null;
  try {
    v = sig === want ? JSON.parse(Buffer.from(body, 'base64url').toString()) : null;
  } catch {
    v = null;
  }
  if (!v || v.k !== key || !Number.isInteger(v.o) || v.o < 0) throw new HttpError(400, 'cursor: not a cursor of this query (the filters changed?): start from the first page', 'bad_cursor', 'cursor');
  return v.o;
}

function recordAccess(principal, req, url) {
  if (!ACCESS_EVENTS) return;
  events.unshift({
    id: newId(),
    time: new Date().toISOString(),
    action: 'audit_log_accessed',
    outcome: 'success',
    user: { name: principal.name, id: `token:${principal.name}` },
    actor_type: 'api_token',
    resource: { type: 'audit_log', id: ORG, name: 'Audit log' },
    ip: req.socket.remoteAddress?.replace(/^::ffff:/, '') || '',
    user_agent: req.headers['user-agent'] || '',
    region: 'local',
    organization: ORG,
    group: 'Audit Log',
    categories: ['view_data'],
    message: `${principal.name} read the audit log`,
    properties: { path: url.pathname, query: url.search.slice(0, 500) },
  });
  events.sort(byNewest);
}

// ---- CSV ------------------------------------------------------------------------------

const COLUMNS = ['Time', 'User', 'Action', 'Resource', 'IP Address', 'User Agent', 'Region', 'Outcome', 'Event ID', 'User ID', 'User Name', 'User Hash', 'Actor Type', 'Resource Type', 'Resource ID', 'Organization', 'Group', 'Categories', 'Message', 'Properties'];
const neutralize = (s) => (/^[=+\-@\t\r]/.test(s.replace(/^'+/, '')) ? `'${s}` : s);
const cell = (s) => {
  s = neutralize(s ?? '');
  return /[",\r\n]/.test(s) || /^[ \t]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csvRow = (e) =>
  [
    e.time, e.user?.email, e.action, e.resource?.name, e.ip, e.user_agent, e.region, e.outcome,
    e.id, e.user?.id, e.user?.name, e.user?.hash, e.actor_type, e.resource?.type, e.resource?.id, e.organization, e.group,
    (e.categories || []).join('|'), e.message, e.properties ? JSON.stringify(e.properties) : '',
  ].map(cell).join(',') + '\n';

// ---- the server ----------------------------------------------------------------------

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json', '.md': 'text/markdown; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml' };

async function serveStatic(req, res, path) {
  if (path === '/' || path === '/index.html') path = '/index.html';
  else if (path === '/embed' || path === '/embed.html') path = '/embed.html';
  const file = normalize(join(DIST, decodeURIComponent(path)));
  if (!file.startsWith(DIST + sep) || file.split(sep).some((p) => p.startsWith('.'))) return send(res, 404, 'not found\n');
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file');
    const data = await readFile(file);
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] || 'application/octet-stream',
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : data);
  } catch {
    send(res, 404, path === '/index.html' ? 'dist/index.html is missing: run npm run build\n' : 'not found\n');
  }
}

function auth(req) {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization || '');
  if (!m) throw new HttpError(401, 'No token: send Authorization: Bearer <token>', 'no_token');
  const p = tokens.get(m[1]);
  if (!p || (p.expires_at && Date.parse(p.expires_at) < Date.now())) throw new HttpError(401, 'The token is unknown, revoked or expired', 'bad_token');
  return p;
}

function readBody(req) {
  return new Promise((ok, fail) => {
    let n = 0;
    const chunks = [];
    req.on('data', (c) => {
      n += c.length;
      if (n > 65536) fail(new HttpError(400, 'body too large', 'bad_filter'));
      else chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks).toString()));
    req.on('error', fail);
  });
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://mock');
  const path = url.pathname;
  if (!path.startsWith('/api/')) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    return serveStatic(req, res, path);
  }
  // CORS, so that <audit-log-viewer base-url="http://127.0.0.1:8090"> works in a page of another origin.
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'Retry-After, Content-Disposition');
  if (req.method === 'OPTIONS') {
    res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Authorization, Content-Type', 'Access-Control-Max-Age': '600' });
    return res.end();
  }
  const principal = auth(req);
  if (path === '/api/v1/whoami' && req.method === 'GET') {
    const { organization, role, name, resource, actor, expires_at } = principal;
    return send(res, 200, { organization, role, name, resource, actor, expires_at });
  }
  if (path === '/api/v1/catalog' && req.method === 'GET') {
    return send(res, 200, { actions: ACTIONS, groups: [...new Set(ACTIONS.map((a) => a.group))], categories: CATEGORIES });
  }
  if (path === '/api/v1/viewer-tokens' && req.method === 'POST') {
    if (principal.role !== 'admin') throw new HttpError(403, 'Only an admin token may mint viewer tokens', 'not_admin');
    let body;
    try {
      body = JSON.parse((await readBody(req)) || '{}');
    } catch {
      throw new HttpError(400, 'The body is not JSON', 'bad_filter');
    }
    const m = /^(\d+)(m|h)$/.exec(body.ttl || '15m');
    const ms = m ? Number(m[1]) * (m[2] === 'h' ? 3600e3 : 60e3) : NaN;
    if (!(ms >= 60e3 && ms <= 24 * 3600e3)) throw new HttpError(400, 'ttl: a duration from 1m to 24h', 'bad_filter', 'ttl');
    const token = `vt-${randomBytes(18).toString('base64url')}`;
    const expires_at = new Date(Date.now() + ms).toISOString();
    tokens.set(token, { organization: ORG, role: 'viewer', name: body.name || principal.name, resource: body.resource || undefined, actor: body.actor || undefined, expires_at });
    return send(res, 201, { token, expires_at });
  }
  if (req.method !== 'GET') throw new HttpError(405, 'method not allowed');

  let pathResource = '';
  const rm = /^\/api\/v1\/resources\/([^/]+)\/([^/]+)\/events$/.exec(path);
  if (rm) pathResource = `${decodeURIComponent(rm[1])}:${decodeURIComponent(rm[2])}`;
  if (path === '/api/v1/events' || rm) {
    const { match, key } = compile(url.searchParams, principal, pathResource);
    const ps = url.searchParams.get('page_size') ?? '50';
    if (!/^\d+$/.test(ps) || +ps < 1 || +ps > 1000) throw bad('page_size', 'page_size: an integer from 1 to 1000');
    const cur = url.searchParams.get('cursor');
    const offset = cur ? readCursor(cur, key) : 0;
    const all = events.filter(match);
    const page = all.slice(offset, offset + Number(ps));
    const next = offset + page.length < all.length ? makeCursor(key, offset + page.length) : null;
    send(res, 200, { events: page, next_cursor: next });
    recordAccess(principal, req, url);
    return;
  }
  if (path === '/api/v1/events/export') {
    const format = url.searchParams.get('format');
    if (format !== 'csv' && format !== 'ndjson') throw bad('format', 'format: csv or ndjson');
    const { match } = compile(url.searchParams, principal, '');
    const all = events.filter(match);
    res.writeHead(200, {
      'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
      'Content-Disposition': `attachment; filename="audit-log.${format}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    if (format === 'csv') res.write(COLUMNS.join(',') + '\n');
    for (const e of all) res.write(format === 'csv' ? csvRow(e) : JSON.stringify(e) + '\n');
    res.end();
    recordAccess(principal, req, url);
    return;
  }
  throw new HttpError(404, `No such API path: ${path}`, 'not_found');
}

const server = createServer((req, res) => {
  handle(req, res).catch((e) => {
    if (!(e instanceof HttpError)) console.error(e);
    if (!res.headersSent) sendError(res, e instanceof HttpError ? e : new HttpError(500, 'internal error'));
    else res.end();
  });
});
server.listen(PORT, HOST, () => {
  const { port } = server.address();
  const host = HOST.includes(':') ? `[${HOST}]` : HOST;
  console.log(`mock API listening on http://${host}:${port}`);
  console.log(`  ${events.length} events; tokens: ${[...tokens.keys()].join(', ')}`);
  console.log(`  open http://${host}:${port}/#token=dev-admin`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
