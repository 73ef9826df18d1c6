#!/usr/bin/env node
// End-to-end check of the audit log viewer in a real browser: Debian's
// Chromium driven by playwright-core, against a running service (or the mock,
// dev/mock-api.mjs). Each check compares what the viewer shows with what the
// API answers for the same query, called directly.
//
// Environment:
//   VIEWER_URL     the service root, e.g. http://127.0.0.1:8080 (required)
//   VIEWER_TOKEN   the token the viewer is opened with, in /#token=... (required)
//   API_TOKEN      the token this script calls the API with (default VIEWER_TOKEN)
//   EXPECT_SEARCH  a word the search bar should find (required)
//   SCREENSHOT     where to save a PNG (default: audit-log-viewer.png in the temp dir)
//   CHROMIUM       the browser (default /usr/bin/chromium)
//   VIEWER_TZ      the browser's time zone, e.g. America/New_York (default: the machine's)
//
// Exits 0 when every check passed; else prints what failed and exits 1
// (2 for a usage error). The last line is "N passed, M failed".

import { chromium } from 'playwright-core';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = process.env;
const missing = ['VIEWER_URL', 'VIEWER_TOKEN', 'EXPECT_SEARCH'].filter((k) => !env[k]);
if (missing.length) {
  console.error(`viewer.e2e: set ${missing.join(', ')} (see the comment at the top of this file)`);
  process.exit(2);
}
const BASE = new URL(env.VIEWER_URL);
const ROOT = BASE.origin + BASE.pathname.replace(/\/+$/, '');
const VIEWER_TOKEN = env.VIEWER_TOKEN;
const API_TOKEN = env.API_TOKEN || VIEWER_TOKEN;
const WORD = env.EXPECT_SEARCH;
const SCREENSHOT = env.SCREENSHOT || join(tmpdir(), 'audit-log-viewer.png');
const CHROMIUM = env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 15000;

// ---- reporting --------------------------------------------------------------------------

let passed = 0;
const failed = [];
class CheckError extends Error {}
function assert(cond, msg) {
  if (!cond) throw new CheckError(msg);
}
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    const msg = e instanceof CheckError ? e.message : (e && e.stack) || String(e);
    failed.push(`${name}: ${msg}`);
    console.log(`FAIL ${name}: ${msg}`);
  }
}

// ---- the API, called directly --------------------------------------------------------

// What the viewer's own list requests were answered, by path and query.
// Reading the log is audited, and those events reach the archive a flush
// later, inside a pinned window: asking again a moment later can differ.
// A request the viewer made is judged by the answer it got.
const seen = new Map();

async function api(pathAndQuery) {
  if (seen.has(pathAndQuery)) return seen.get(pathAndQuery);
  const res = await fetch(ROOT + pathAndQuery, { headers: { Authorization: `Bearer ${API_TOKEN}`, Accept: 'application/json' } });
  const text = await res.text();
  assert(res.ok, `the API answered ${res.status} to ${pathAndQuery}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Every event of a filtered view, following next_cursor. */
async function apiAll(path, params) {
  const out = [];
  let cursor = '';
  for (let i = 0; i < 10000; i++) {
    const sp = new URLSearchParams(params);
    sp.set('page_size', '1000');
    if (cursor) sp.set('cursor', cursor);
    const page = await api(`${path}?${sp}`);
    out.push(...page.events);
    cursor = page.next_cursor || '';
    if (!cursor) return out;
  }
  throw new CheckError(`${path}: more than 10000 pages`);
}

const withParams = (url, changes) => {
  const sp = new URLSearchParams(url.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) sp.delete(k);
    else sp.set(k, v);
  }
  return `${url.pathname}?${sp}`;
};

/** The filters of a query string, without paging, sorted: for comparing two requests. */
function filtersOf(search, drop = ['page_size', 'cursor', 'format']) {
  const sp = new URLSearchParams(search);
  return [...sp].filter(([k]) => !drop.includes(k)).sort(([a, x], [b, y]) => (a + '=' + x < b + '=' + y ? -1 : 1));
}
const show = (pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&') || '(none)';

// ---- what the viewer is expected to show for an event ---------------------------------

const s = (v) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
const userLabel = (e) => s(e.user?.email) || s(e.user?.name) || s(e.user?.id);
const resourceLabel = (e) => s(e.resource?.name) || (s(e.resource?.type) && s(e.resource?.id) ? `${e.resource.type}:${e.resource.id}` : s(e.resource?.type) || s(e.resource?.id));
const norm = (t) => String(t).replace(/\s+/g, ' ').trim();
function leaves(v, out = []) {
  if (Array.isArray(v)) v.forEach((x) => leaves(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => leaves(x, out));
  else if (v !== undefined && v !== null && v !== '') out.push(typeof v === 'string' ? v : JSON.stringify(v));
  return out;
}

/** Compares the rows on screen with the API's events: same ids in the same order, and the cells. */
function compareRows(rows, events, what) {
  const got = rows.map((r) => r.id);
  const want = events.map((e) => e.id);
  if (got.length !== want.length || got.some((id, i) => id !== want[i])) {
    const i = got.findIndex((id, j) => id !== want[j]);
    throw new CheckError(`${what}: the viewer shows ${got.length} rows, the API ${want.length}; first difference at row ${i < 0 ? Math.min(got.length, want.length) + 1 : i + 1} (viewer ${got[i] ?? '-'}, API ${want[i] ?? '-'})`);
  }
  events.forEach((e, i) => {
    const r = rows[i];
    const expect = { user: userLabel(e), action: s(e.action), resource: resourceLabel(e), ip: s(e.ip), ua: s(e.user_agent), region: s(e.region), outcome: s(e.outcome) };
    for (const [k, v] of Object.entries(expect)) {
      const cell = k === 'action' ? r.actionText : r[k];
      assert(norm(cell) === norm(v), `${what}, row ${i + 1} (${e.id}): ${k} shows ${JSON.stringify(cell)}, expected ${JSON.stringify(v)}`);
    }
    assert(!!r.quarantined === !!e.quarantined, `${what}, row ${i + 1} (${e.id}): quarantined badge ${r.quarantined ? 'shown' : 'missing'}, the event has quarantined=${!!e.quarantined}`);
  });
}

// ---- a CSV reader (RFC 4180) --------------------------------------------------------------

function parseCSV(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell), rows.push(row), (row = []), (cell = '');
    } else cell += c;
  }
  if (cell !== '' || row.length) row.push(cell), rows.push(row);
  return rows;
}

// ---- the browser ---------------------------------------------------------------------------

const foreign = [];
const consoleErrors = [];
const requests = [];
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
const context = await browser.newContext({
  viewport: { width: 1440, height: 900 },
  acceptDownloads: true,
  locale: 'en-US',
  ...(env.VIEWER_TZ ? { timezoneId: env.VIEWER_TZ } : {}),
});
await context.route('**/*', (route) => {
  const u = new URL(route.request().url());
  if (u.host !== BASE.host || u.protocol !== BASE.protocol) {
    foreign.push(route.request().url());
    return route.abort('blockedbyclient');
  }
  return route.continue();
});
// A CSP violation shows as a console error too; this names the directive.
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`), true);
});
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);
page.on('console', (m) => {
  if (m.type() === 'error') consoleErrors.push(m.text());
});
page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
page.on('request', (r) => requests.push(r.url()));

const isListRequest = (u) => {
  const p = new URL(u).pathname;
  return p === '/api/v1/events' || /^\/api\/v1\/resources\/[^/]+\/[^/]+\/events$/.test(p);
};

/** Runs action, waits for the page of events it asks for and for the viewer to show it; the request's URL. */
async function load(action) {
  const resp = page.waitForResponse((r) => isListRequest(r.url()) && r.request().method() === 'GET', { timeout: TIMEOUT });
  resp.catch(() => {}); // awaited below, unless action throws first
  await action();
  const r = await resp;
  assert(r.status() === 200, `the viewer's request ${r.url()} got ${r.status()}`);
  const u = new URL(r.url());
  seen.set(u.pathname + u.search, await r.json());
  await page.waitForFunction(() => {
    const v = document.querySelector('audit-log-viewer');
    return v && !v.loading;
  });
  await page.evaluate(() => document.querySelector('audit-log-viewer').updateComplete);
  return new URL(r.url());
}

const viewer = page.locator('audit-log-viewer');
async function rows() {
  return viewer.locator('tbody tr[data-id]').evaluateAll((trs) =>
    trs.map((tr) => {
      const text = (sel) => tr.querySelector(sel)?.textContent ?? '';
      const action = tr.querySelector('td.action');
      const badge = action?.querySelector('.badge');
      return {
        id: tr.dataset.id,
        time: text('td.time'),
        user: text('td.user'),
        // The action's own text: no badge, no comment nodes (Lit's markers).
        actionText: action ? [...action.childNodes].filter((n) => n !== badge && (n.nodeType === 3 || n.nodeType === 1)).map((n) => n.textContent).join('') : '',
        quarantined: !!badge && /quarantined/i.test(badge.textContent),
        resource: text('td.resource'),
        ip: text('td.ip'),
        ua: text('td.ua'),
        region: text('td.region'),
        outcome: text('td.outcome'),
      };
    }),
  );
}
const pageLabel = () => viewer.locator('nav.pager .page').textContent();

// ---- the checks ----------------------------------------------------------------------------

let first; // the first page's request
let view; // the request of the view the later steps build on
let apiFirst;

await step('1. the viewer opens with the token from the URL fragment', async () => {
  first = await load(() => page.goto(`${ROOT}/#token=${encodeURIComponent(VIEWER_TOKEN)}`));
  const whoami = requests.findIndex((u) => new URL(u).pathname === '/api/v1/whoami');
  const list = requests.findIndex((u) => isListRequest(u));
  assert(whoami >= 0 && whoami < list, 'the viewer did not call /api/v1/whoami before the first page');
  const leaked = requests.filter((u) => u.includes(encodeURIComponent(VIEWER_TOKEN)) || u.includes(VIEWER_TOKEN));
  assert(leaked.length === 0, `the token went into a request URL: ${leaked[0]}`);
  const hash = await page.evaluate(() => window.location.hash);
  assert(!hash.includes('token='), 'the token stayed in the address bar');
  assert((await viewer.locator('table caption').count()) === 1, 'the table has no caption');
  assert((await viewer.locator('[role="status"][aria-live]').count()) >= 1, 'no aria-live status');
});

await step('1b. every control has an accessible name and is reachable by Tab', async () => {
  const unnamed = await page.locator('audit-log-viewer').evaluate((host) => {
    const root = host.shadowRoot || host;
    const out = [];
    for (const el of root.querySelectorAll('input, select, textarea, button, a[href], [role="button"], [tabindex]')) {
      if (el.disabled || el.getAttribute('tabindex') === '-1') continue;
      const byLabel = el.labels && [...el.labels].some((l) => l.textContent.trim());
      const byAria = (el.getAttribute('aria-label') || '').trim() ||
        (el.getAttribute('aria-labelledby') || '').split(/\s+/).some((id) => id && root.getElementById?.(id)?.textContent.trim());
      const byText = ['BUTTON', 'A'].includes(el.tagName) && el.textContent.trim();
      const byTitle = (el.getAttribute('title') || '').trim();
      if (!byLabel && !byAria && !byText && !byTitle) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
  assert(unnamed.length === 0, `controls without an accessible name: ${unnamed.join(' | ')}`);
  // Tab from the page's start reaches the search bar, then moves on.
  await page.locator('body').focus();
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.locator('audit-log-viewer').evaluate((host) => {
      const a = (host.shadowRoot || document).activeElement;
      return !!a && (a.getAttribute('aria-label') === 'Search' || [...(a.labels || [])].some((l) => l.textContent.trim() === 'Search'));
    });
  }
  assert(reached, 'Tab never reached the search bar');
});

await step('2. the first page equals the API\'s first page (page_size=50)', async () => {
  assert(first, 'no first page');
  const sp = first.searchParams;
  assert(sp.get('page_size') === '50', `the viewer asked page_size=${sp.get('page_size')}, not 50`);
  assert(!sp.has('cursor') && !sp.has('from') && !sp.has('q'), `the first page has filters: ${first.search}`);
  const extra = [...sp.keys()].filter((k) => !['page_size', 'to', 'user'].includes(k));
  assert(extra.length === 0, `unexpected parameters on the first page: ${extra.join(', ')}`);
  // The viewer pins its window's end (to=now) so the export names the same
  // window; the API is asked the same, so the reads the service records
  // since then do not count.
  apiFirst = await api(first.pathname + first.search);
  const r = await rows();
  assert(r.length > 0, 'the first page is empty (the check needs events)');
  compareRows(r, apiFirst.events, 'first page');
  assert(/Page 1\b/.test(await pageLabel()), 'the page number is not 1');
  view = first;
});

await step('3. the "7 days ago" shortcut sets From and the table follows', async () => {
  const before = (await rows()).map((r) => r.id);
  const url = await load(() => viewer.getByRole('button', { name: '7 days ago' }).click());
  const from = url.searchParams.get('from');
  assert(from, `the viewer sent no from: ${url.search}`);
  const expected = await page.evaluate(() => {
    const d = new Date();
    return new Date(d.getFullYear(), d.getMonth(), d.getDate() - 7).getTime();
  });
  assert(Date.parse(from) === expected, `from=${from}, expected the start of the day 7 days ago in the browser's zone (${new Date(expected).toISOString()})`);
  assert(/(Z|[+-]\d\d:\d\d)$/.test(from) && /T/.test(from), `from=${from} is not an absolute RFC 3339 time`);
  assert(url.searchParams.get('to'), 'the viewer sent no to (the window is not pinned)');
  const fromInput = await viewer.locator('#from').inputValue();
  assert(fromInput, 'the From selector is empty after the shortcut');
  const want = await api(url.pathname + url.search);
  const r = await rows();
  compareRows(r, want.events, '7 days ago');
  const old = r.filter((x, i) => Date.parse(want.events[i].time) < expected);
  assert(old.length === 0, `${old.length} rows are older than from`);
  const changed = r.length !== before.length || r.some((x, i) => x.id !== before[i]);
  console.log(`     from=${from}: ${r.length} rows, ${changed ? 'changed from' : 'the same as'} the first page`);
  view = url;
});

await step('4. 25 rows per page, Next equals the API\'s page 2, Previous goes back', async () => {
  let url = await load(() => viewer.getByLabel('Rows per page').selectOption('25'));
  assert(url.searchParams.get('page_size') === '25', `page_size=${url.searchParams.get('page_size')}`);
  assert(!url.searchParams.has('cursor'), 'a new page size did not go back to page 1');
  // A window with a second page: widen it when this one has none.
  for (const wider of ['30 days ago', '90 days ago', 'Clear dates']) {
    const p1 = await api(url.pathname + url.search);
    if (p1.next_cursor) break;
    console.log(`     no second page with ${url.searchParams.get('from') || 'no from'}; trying ${wider}`);
    url = await load(() => viewer.getByRole('button', { name: wider }).click());
  }
  const apiP1 = await api(url.pathname + url.search);
  assert(apiP1.next_cursor, 'the API has no second page for any window (the check needs more than 25 events)');
  const page1 = await rows();
  compareRows(page1, apiP1.events, 'page 1 of 25');
  const apiP2 = await api(withParams(url, { cursor: apiP1.next_cursor }));
  const next = await load(() => viewer.getByRole('button', { name: 'Next' }).click());
  assert(next.searchParams.get('cursor'), 'Next sent no cursor');
  assert(next.searchParams.get('page_size') === '25', `Next asked page_size=${next.searchParams.get('page_size')}, not 25`);
  assert(show(filtersOf(next.search)) === show(filtersOf(url.search)), `Next changed the filters: ${show(filtersOf(url.search))} → ${show(filtersOf(next.search))}`);
  compareRows(await rows(), apiP2.events, 'page 2 of 25');
  assert(/Page 2\b/.test(await pageLabel()), `the page number shows "${await pageLabel()}" on page 2`);
  const prev = await load(() => viewer.getByRole('button', { name: 'Previous' }).click());
  assert(!prev.searchParams.get('cursor'), 'Previous from page 2 did not ask page 1');
  assert(prev.searchParams.get('page_size') === '25', `Previous asked page_size=${prev.searchParams.get('page_size')}, not 25`);
  assert(show(filtersOf(prev.search)) === show(filtersOf(url.search)), `Previous changed the filters: ${show(filtersOf(url.search))} → ${show(filtersOf(prev.search))}`);
  compareRows(await rows(), (await api(prev.pathname + prev.search)).events, 'page 1 again (Previous)');
  assert(/Page 1\b/.test(await pageLabel()), `the page number shows "${await pageLabel()}" after Previous`);
  view = prev;
});

let searchEvents = [];
await step(`5. the search bar finds "${WORD}" in every row`, async () => {
  // From page 2 when there is one: a new search must start again at page 1.
  const next = viewer.getByRole('button', { name: 'Next' });
  if (await next.isEnabled()) await load(() => next.click());
  const url = await load(() => viewer.getByLabel('Search').fill(WORD));
  assert(url.searchParams.get('q') === WORD, `q=${url.searchParams.get('q')}`);
  assert(!url.searchParams.has('cursor'), 'a new search did not go back to page 1');
  assert(/Page 1\b/.test(await pageLabel()), `the page number shows "${await pageLabel()}" after a new search`);
  const want = await api(url.pathname + url.search);
  const r = await rows();
  compareRows(r, want.events, 'search');
  assert(r.length > 0, `no row found "${WORD}"`);
  const w = WORD.toLowerCase();
  r.forEach((row, i) => {
    const visible = [row.user, row.actionText, row.resource].join(' ').toLowerCase();
    const details = leaves(want.events[i]).join(' ').toLowerCase();
    assert(visible.includes(w) || details.includes(w), `row ${i + 1} (${row.id}) does not contain "${WORD}"`);
  });
  searchEvents = want.events;
  view = url;
  console.log(`     ${r.length} rows`);
});

await step('6. a row opens its details with the keyboard; Escape closes them', async () => {
  await viewer.getByLabel('Search').focus();
  const deepActive = () =>
    page.evaluate(() => {
      let a = document.activeElement;
      while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
      return a ? { tag: a.tagName, cls: a.className, id: a.closest('tr')?.dataset.id || '' } : null;
    });
  let a = null;
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    a = await deepActive();
    if (a && a.tag === 'BUTTON' && String(a.cls).includes('open')) break;
  }
  assert(a && a.tag === 'BUTTON' && a.id, 'Tab never reached a row\'s details button');
  await page.keyboard.press('Enter');
  const dialog = viewer.locator('dialog[open]');
  await dialog.waitFor({ state: 'visible' });
  assert((await viewer.getByRole('dialog', { name: 'Event details' }).count()) === 1, 'the details have no dialog named "Event details"');
  const text = norm(await dialog.innerText());
  const ev = searchEvents.find((e) => e.id === a.id) || (view && (await apiAll(view.pathname, filtersOf(view.search))).find((e) => e.id === a.id));
  assert(ev, `event ${a.id} is not in the API's view`);
  for (const leaf of leaves(ev)) assert(text.includes(norm(leaf)), `the details of ${ev.id} do not show ${JSON.stringify(leaf.slice(0, 80))}`);
  for (const k of Object.keys(ev.properties || {})) assert(text.includes(k), `the details of ${ev.id} do not name the property ${k}`);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert((await viewer.locator('dialog[open]').count()) === 0, 'Escape did not close the details');
  const back = await deepActive();
  assert(back && back.id === a.id, 'the focus did not go back to the row after Escape');
});

await step('7. Export CSV downloads the filtered view, the same as the API\'s', async () => {
  assert(view, 'no view from the steps before');
  if (await viewer.locator('dialog[open]').count()) await page.keyboard.press('Escape');
  const [request, download] = await Promise.all([
    page.waitForRequest((r) => new URL(r.url()).pathname === '/api/v1/events/export'),
    page.waitForEvent('download'),
    viewer.getByRole('button', { name: 'Export CSV' }).click(),
  ]);
  const exportUrl = new URL(request.url());
  assert(download.suggestedFilename() === 'audit-log.csv', `the download is named ${download.suggestedFilename()}`);
  assert(exportUrl.searchParams.get('format') === 'csv', `format=${exportUrl.searchParams.get('format')}`);
  // The same filters as the view on screen (a locked resource's change log exports with resource=TYPE:ID).
  let viewFilters = filtersOf(view.search);
  const m = /^\/api\/v1\/resources\/([^/]+)\/([^/]+)\/events$/.exec(view.pathname);
  if (m) viewFilters = [...viewFilters, ['resource', `${decodeURIComponent(m[1])}:${decodeURIComponent(m[2])}`]].sort(([a, x], [b, y]) => (a + '=' + x < b + '=' + y ? -1 : 1));
  assert(show(filtersOf(exportUrl.search)) === show(viewFilters), `the export asks ${show(filtersOf(exportUrl.search))}, the view shows ${show(viewFilters)}`);
  const csv = parseCSV(await readFile(await download.path(), 'utf8'));
  const header = csv.shift() || [];
  const col = header.indexOf('Event ID');
  assert(col >= 0, `the CSV has no Event ID column: ${header.join(',')}`);
  const tail = csv.at(-1)?.[0] || '';
  assert(!tail.startsWith('# error'), `the export ended with ${tail}`);
  const ids = csv.filter((r) => r.length > 1).map((r) => r[col].replace(/^'(?=[=+\-@\t\r])/, ''));
  const all = await apiAll('/api/v1/events', filtersOf(exportUrl.search));
  const want = all.map((e) => e.id);
  const i = ids.findIndex((id, j) => id !== want[j]);
  assert(ids.length === want.length && i < 0, `the CSV has ${ids.length} rows, the API's view ${want.length}; first difference at row ${i + 1} (CSV ${ids[i] ?? '-'}, API ${want[i] ?? '-'})`);
  console.log(`     ${ids.length} rows`);
});

await step('7b. Enter in a text filter starts again at page 1', async () => {
  const next = viewer.getByRole('button', { name: 'Next' });
  if (await next.isEnabled()) await load(() => next.click());
  const user = viewer.getByLabel('User');
  if (!(await user.isEnabled())) return; // an actor-scoped token locks it
  await user.fill('***@customer.example');
  const url = await load(() => user.press('Enter'));
  assert(url.searchParams.get('user') === '***@customer.example', `user=${url.searchParams.get('user')}`);
  assert(!url.searchParams.has('cursor'), 'Enter in the user filter kept the cursor');
  assert(/Page 1\b/.test(await pageLabel()), `the page number shows "${await pageLabel()}" after Enter`);
  compareRows(await rows(), (await api(url.pathname + url.search)).events, 'user filter');
});

await step('8. screenshot', async () => {
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`     ${SCREENSHOT}`);
});

await step('no request left the service, no console error, no CSP violation', async () => {
  assert(foreign.length === 0, `requests to other hosts: ${[...new Set(foreign)].slice(0, 5).join(', ')}`);
  assert(consoleErrors.length === 0, `console errors: ${consoleErrors.slice(0, 5).join(' | ')}`);
});

await browser.close();
if (failed.length) {
  console.log('\nFailed:');
  for (const f of failed) console.log(`  - ${f}`);
}
console.log(`${passed} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
