// <audit-log-viewer>: an organization's audit log for its admins, on the
// audit log API (internal/auditapi/openapi.yaml).
//
// Attributes:
//   token                the bearer token (else the URL fragment #token=...
//                        when token-from-fragment is set, else the tab's
//                        sessionStorage, else a form asks for one)
//   base-url             the service root (default: this page's origin)
//   resource             TYPE:ID: only that resource's change log
//   token-from-fragment  read #token=... from the page's URL (the service's own pages)
//   compact              less chrome, for an iframe
//
// Event fields are hostile input: they are only ever rendered as text.

import { LitElement, html, nothing } from 'lit';
import { Api, ApiError, parseResource } from './api.js';
import { eventRows, resourceLabel, str, userLabel } from './format.js';
import { styles } from './styles.js';
import { formatTime, fromInputValue, rfc3339, startOfDaysAgo, toInputValue, zoneName } from './time.js';

const STORAGE_KEY = 'otelcol-audit.viewer.token';
const PAGE_SIZES = [25, 50, 100];
const SHORTCUTS = [
  { days: 1, label: 'Yesterday' },
  { days: 2, label: '2 days ago' },
  { days: 7, label: '7 days ago' },
  { days: 30, label: '30 days ago' },
  { days: 90, label: '90 days ago' },
];
const OUTCOMES = ['success', 'failure', 'unknown'];
const SEARCH_DELAY_MS = 350;

const emptyFilters = () => ({ q: '', from: '', to: '', action: '', category: '', user: '', resource: '', outcome: '', quarantined: false });

function storage() {
  try {
    return window.sessionStorage;
  } catch {
    return null; // a sandboxed iframe has none
  }
}

export class AuditLogViewer extends LitElement {
  static styles = styles;

  static properties = {
    token: { type: String },
    baseUrl: { type: String, attribute: 'base-url' },
    resource: { type: String },
    tokenFromFragment: { type: Boolean, attribute: 'token-from-fragment' },
    compact: { type: Boolean, reflect: true },
    /** true while a page is being fetched (also for scripts and tests) */
    loading: { type: Boolean, reflect: true },
    _token: { state: true },
    _tokenSource: { state: true },
    _principal: { state: true },
    _catalog: { state: true },
    _filters: { state: true },
    _utc: { state: true },
    _pageSize: { state: true },
    _page: { state: true },
    _events: { state: true },
    _nextCursor: { state: true },
    _error: { state: true },
    _status: { state: true },
    _selected: { state: true },
    _exporting: { state: true },
    _shortcut: { state: true },
    _asOf: { state: true },
    _ready: { state: true },
  };

  constructor() {
    super();
    this.token = '';
    this.baseUrl = '';
    this.resource = '';
    this.tokenFromFragment = false;
    this.compact = false;
    this.loading = false;
    this._token = '';
    this._tokenSource = '';
    this._principal = null;
    this._catalog = null;
    this._filters = emptyFilters();
    this._utc = false;
    this._pageSize = 50;
    this._page = 1;
    this._events = [];
    this._nextCursor = null;
    this._error = null;
    this._status = '';
    this._selected = null;
    this._exporting = false;
    this._shortcut = 0;
    this._asOf = '';
    this._ready = false;
    this._cursor = '';
    this._cursorStack = [];
    this._query = null; // the filters of the view, with its pinned window
    this._abort = null;
    this._searchTimer = 0;
    this._openerIndex = -1;
    this._generation = 0;
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearTimeout(this._searchTimer);
    if (this._abort) this._abort.abort();
  }

  willUpdate(changed) {
    if (changed.has('token') || changed.has('baseUrl') || changed.has('resource') || changed.has('tokenFromFragment')) {
      this._start();
    }
  }

  updated(changed) {
    if (changed.has('_selected')) {
      const dlg = this.renderRoot.querySelector('dialog');
      if (this._selected && dlg && !dlg.open) dlg.showModal();
      if (!this._selected && dlg && dlg.open) dlg.close();
    }
  }

  // ---- token and start-up ------------------------------------------------

  _resolveToken() {
    if (this.token) return { token: this.token, source: 'attribute' };
    if (this.tokenFromFragment) {
      const hash = window.location.hash.replace(/^#/, '');
      const t = hash ? new URLSearchParams(hash).get('token') : null;
      if (t) {
        storage()?.setItem(STORAGE_KEY, t);
        // Out of the address bar and the history: it stays in this tab only.
        try {
          window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
        } catch {
          // a sandboxed document may not rewrite its URL
        }
        return { token: t, source: 'fragment' };
      }
    }
    const stored = storage()?.getItem(STORAGE_KEY);
    if (stored) return { token: stored, source: 'session' };
    return { token: '', source: '' };
  }

  async _start() {
    const gen = ++this._generation;
    if (this._abort) this._abort.abort();
    const { token, source } = this._resolveToken();
    this._token = token;
    this._tokenSource = source;
    this._principal = null;
    this._catalog = null;
    this._events = [];
    this._ready = false;
    this._error = null;
    if (!token) {
      this._status = '';
      return;
    }
    this._status = 'Checking the access token…';
    const api = this._api();
    try {
      const principal = await api.whoami();
      if (gen !== this._generation) return;
      this._principal = principal || {};
      const f = emptyFilters();
      if (this._principal.actor) f.user = String(this._principal.actor);
      this._filters = f;
      try {
        this._catalog = await api.catalog();
      } catch (e) {
        if (gen !== this._generation) return;
        if (e instanceof ApiError && e.status === 401) throw e;
        this._catalog = { actions: [], categories: [] };
        this._showError(e, 'The catalog of actions could not be read; the action and category filters are empty.');
      }
      if (gen !== this._generation) return;
      this._ready = true;
      this._newQuery();
    } catch (e) {
      if (gen !== this._generation) return;
      this._status = '';
      this._showError(e);
      // A bad token from the page's own attribute cannot be replaced here: no form then.
      this._dropTokenOn401(e);
    }
  }

  _api() {
    return new Api(this.baseUrl, this._token);
  }

  _onTokenSubmit(e) {
    e.preventDefault();
    const input = this.renderRoot.querySelector('#token-input');
    const t = (input?.value || '').trim();
    if (!t) return;
    storage()?.setItem(STORAGE_KEY, t);
    this._start();
  }

  _forgetToken() {
    storage()?.removeItem(STORAGE_KEY);
    if (this._abort) this._abort.abort();
    this._generation++;
    this._token = '';
    this._tokenSource = '';
    this._principal = null;
    this._events = [];
    this._ready = false;
    this._error = null;
    this._status = 'The token was removed from this tab.';
  }

  // ---- what is shown -----------------------------------------------------

  /** {type, id} of the one resource the view is locked to, or null. */
  get _lockedResource() {
    return parseResource(this._principal?.resource) || parseResource(this.resource);
  }

  get _lockedActor() {
    return this._principal?.actor ? String(this._principal.actor) : '';
  }

  /** The filters as query parameters, in a fixed order, for a page and for the export. */
  _filterParams(f, to) {
    const lockedRes = this._lockedResource;
    return [
      ['q', f.q.trim()],
      ['from', f.from],
      ['to', to],
      ['action', f.action],
      // A token locked to one user sends that user, so the URL says what it shows.
      ['user', this._lockedActor || f.user.trim()],
      ['resource', lockedRes ? '' : f.resource.trim()],
      ['category', f.category],
      ['outcome', f.outcome],
      ['quarantined', f.quarantined ? 'true' : ''],
    ];
  }

  /** A new view: the window is pinned (To, or now), page 1. */
  _newQuery() {
    const f = this._filters;
    const to = f.to || rfc3339(new Date());
    this._asOf = f.to ? '' : to;
    this._query = this._filterParams(f, to);
    this._cursor = '';
    this._cursorStack = [];
    this._page = 1;
    this._load();
  }

  async _load() {
    if (!this._query) return;
    if (this._abort) this._abort.abort();
    const abort = new AbortController();
    this._abort = abort;
    const params = [...this._query, ['page_size', this._pageSize], ['cursor', this._cursor]];
    this.loading = true;
    this._status = 'Loading events…';
    this._error = null;
    try {
      const page = await this._api().events(this._lockedResource, params, { signal: abort.signal });
      if (abort.signal.aborted) return;
      this._events = Array.isArray(page?.events) ? page.events : [];
      this._nextCursor = page?.next_cursor || null;
      const n = this._events.length;
      this._status = n
        ? `Page ${this._page}: ${n} event${n === 1 ? '' : 's'}${this._nextCursor ? ', more on the next page' : ''}.`
        : this._page === 1 ? 'No events match these filters.' : `Page ${this._page} is empty.`;
    } catch (e) {
      if (abort.signal.aborted || (e && e.name === 'AbortError')) return;
      this._events = [];
      this._nextCursor = null;
      this._status = 'The events could not be loaded.';
      this._showError(e);
      this._dropTokenOn401(e);
    } finally {
      if (this._abort === abort) {
        this._abort = null;
        this.loading = false;
      }
    }
  }

  /** A token that expired (a viewer token lives minutes) or was revoked: ask for another. */
  _dropTokenOn401(e) {
    if (!(e instanceof ApiError) || e.status !== 401 || this._tokenSource === 'attribute') return;
    storage()?.removeItem(STORAGE_KEY);
    this._generation++;
    this._token = '';
    this._tokenSource = '';
    this._principal = null;
    this._ready = false;
  }

  _showError(e, prefix) {
    if (e instanceof ApiError) {
      let msg = e.error;
      if (e.status === 429 && e.retryAfter !== undefined) msg += ` Try again in ${e.retryAfter} s.`;
      this._error = { message: prefix ? `${prefix} ${msg}` : msg, field: e.field, reason: e.reason, status: e.status };
    } else {
      this._error = { message: prefix || String((e && e.message) || e), field: '', reason: '', status: 0 };
    }
  }

  // ---- filters -------------------------------------------------------------

  _setFilter(name, value, { now = true } = {}) {
    if (this._filters[name] === value) return;
    this._filters = { ...this._filters, [name]: value };
    if (name === 'from') this._shortcut = 0;
    if (now) this._newQuery();
  }

  _onSearchInput(e) {
    const v = e.target.value;
    this._filters = { ...this._filters, q: v };
    clearTimeout(this._searchTimer);
    this._searchTimer = setTimeout(() => this._newQuery(), SEARCH_DELAY_MS);
  }

  _onTextKey(e, name) {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    if (name === 'q') {
      clearTimeout(this._searchTimer);
      this._filters = { ...this._filters, q: e.target.value };
      this._newQuery();
      return;
    }
    this._setFilter(name, e.target.value);
  }

  _onDate(e, name) {
    const iso = fromInputValue(e.target.value, this._utc, name === 'to' ? 59 : 0);
    if (e.target.value && !iso) return; // half-typed
    this._setFilter(name, iso);
  }

  _useShortcut(days) {
    const from = rfc3339(startOfDaysAgo(days, this._utc));
    this._filters = { ...this._filters, from };
    this._shortcut = days;
    this._newQuery();
  }

  _clearDates() {
    this._filters = { ...this._filters, from: '', to: '' };
    this._shortcut = 0;
    this._newQuery();
  }

  _setPageSize(e) {
    const n = Number(e.target.value);
    if (!PAGE_SIZES.includes(n) || n === this._pageSize) return;
    this._pageSize = n;
    this._newQuery();
  }

  _next() {
    if (!this._nextCursor || this.loading) return;
    this._cursorStack = [...this._cursorStack, this._cursor];
    this._cursor = this._nextCursor;
    this._page += 1;
    this._load();
  }

  _prev() {
    if (!this._cursorStack.length || this.loading) return;
    const stack = [...this._cursorStack];
    this._cursor = stack.pop();
    this._cursorStack = stack;
    this._page -= 1;
    this._load();
  }

  // ---- export ------------------------------------------------------------------

  async _export() {
    if (!this._query || this._exporting) return;
    // The export has no per-resource path: a change log exports as resource=TYPE:ID.
    const lockedRes = this._lockedResource;
    const params = this._query.map(([k, v]) => (k === 'resource' && lockedRes ? [k, `${lockedRes.type}:${lockedRes.id}`] : [k, v]));
    this._exporting = true;
    this._error = null;
    this._status = 'Preparing the CSV export…';
    try {
      const res = await this._api().exportCSV(params);
      const blob = await res.blob();
      const tail = await blob.slice(Math.max(0, blob.size - 4096)).text();
      const last = tail.trimEnd().split('\n').pop() || '';
      if (last.startsWith('# error:')) {
        this._status = 'The export stopped early.';
        this._error = { message: `The export stopped early and was not saved: ${last.slice(8).trim()}`, field: '', reason: '', status: 0 };
        return;
      }
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = 'audit-log.csv';
      a.hidden = true;
      this.renderRoot.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 30000);
      this._status = 'The CSV export was downloaded (audit-log.csv).';
    } catch (e) {
      this._status = 'The export failed.';
      this._showError(e);
      this._dropTokenOn401(e);
    } finally {
      this._exporting = false;
    }
  }

  // ---- details ------------------------------------------------------------------

  _open(i) {
    this._openerIndex = i;
    this._selected = this._events[i] || null;
  }

  _onRowClick(e, i) {
    // The button inside the row handles itself; a click elsewhere on the row opens too.
    if (e.target.closest('button')) return;
    this._open(i);
  }

  _onDialogClose() {
    this._selected = null;
    const i = this._openerIndex;
    this.updateComplete.then(() => {
      const btn = this.renderRoot.querySelectorAll('button.open')[i];
      if (btn) btn.focus();
    });
  }

  // ---- rendering -----------------------------------------------------------------

  render() {
    const orgName = this._principal?.organization;
    return html`
      <header>
        <h1>Audit log</h1>
        ${orgName ? html`<span class="who">${orgName}${this._principal.name ? html` · ${this._principal.name}` : nothing}${this._principal.role ? html` (${this._principal.role})` : nothing}${this._principal.expires_at
              ? html` · token expires ${formatTime(this._principal.expires_at, this._utc)}`
              : nothing}</span>` : nothing}
        <span class="spacer"></span>
        ${this._token && this._tokenSource !== 'attribute'
          ? html`<button type="button" @click=${this._forgetToken}>Forget token</button>`
          : nothing}
      </header>
      <div role="alert" class="alert">${this._error ? this._renderError() : nothing}</div>
      ${this._token ? (this._ready ? this._renderViewer() : this._renderRetry()) : this._renderTokenForm()}
      <p class="status" role="status" aria-live="polite">${this._status}</p>
      ${this._renderDialog()}
    `;
  }

  _renderError() {
    const e = this._error;
    return html`${e.message}${e.field ? html` <span class="muted">(parameter: ${e.field})</span>` : nothing}${e.reason
      ? html` <span class="muted">[${e.reason}]</span>`
      : nothing}`;
  }

  /** Start-up failed for another reason than the token (429, 503, no network): try again. */
  _renderRetry() {
    if (!this._error || this._error.status === 401) return nothing;
    return html`<p><button type="button" @click=${() => this._start()}>Try again</button></p>`;
  }

  _renderTokenForm() {
    return html`
      <form class="token" @submit=${this._onTokenSubmit}>
        <div class="field">
          <label for="token-input">Access token</label>
          <input id="token-input" name="token" type="password" autocomplete="off" spellcheck="false" required />
        </div>
        <p class="muted">Paste an API token or a viewer token. It is kept in this browser tab only, until the tab closes.</p>
        <div><button class="primary" type="submit">Open the audit log</button></div>
      </form>
    `;
  }

  _renderViewer() {
    const f = this._filters;
    const lockedRes = this._lockedResource;
    const actor = this._lockedActor;
    const actions = Array.isArray(this._catalog?.actions) ? this._catalog.actions : [];
    const categories = Array.isArray(this._catalog?.categories) ? this._catalog.categories : [];
    const groups = new Map();
    for (const a of actions) {
      if (!a || !a.name) continue;
      const g = a.group || 'Other';
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(a);
    }
    const zone = zoneName(this._utc);
    return html`
      ${lockedRes || actor
        ? html`<p class="scope">
            ${lockedRes ? html`Change log of the resource <strong>${lockedRes.type}:${lockedRes.id}</strong>.` : nothing}
            ${actor ? html`Only the events of the user <strong>${actor}</strong>.` : nothing}
          </p>`
        : nothing}
      <form class="filters" role="search" aria-label="Filter the audit log" @submit=${(e) => e.preventDefault()}>
        <div class="field search">
          <label for="q">Search</label>
          <input id="q" type="search" placeholder="User, action, resource or message" maxlength="256"
            .value=${f.q} @input=${this._onSearchInput} @keydown=${(e) => this._onTextKey(e, 'q')} />
        </div>
        <div class="field">
          <label for="from">From</label>
          <input id="from" type="datetime-local" .value=${toInputValue(f.from, this._utc)} @change=${(e) => this._onDate(e, 'from')} />
        </div>
        <div class="field">
          <label for="to">To</label>
          <input id="to" type="datetime-local" .value=${toInputValue(f.to, this._utc)} @change=${(e) => this._onDate(e, 'to')} />
        </div>
        <div class="field">
          <span class="label" id="shortcuts-label">From date shortcuts</span>
          <div class="shortcuts" role="group" aria-labelledby="shortcuts-label">
            ${SHORTCUTS.map((s) => html`<button type="button" aria-pressed=${this._shortcut === s.days ? 'true' : 'false'}
                @click=${() => this._useShortcut(s.days)}>${s.label}</button>`)}
            <button type="button" @click=${this._clearDates} ?disabled=${!f.from && !f.to}>Clear dates</button>
          </div>
        </div>
      </form>
      <form class="filters" aria-label="More filters" @submit=${(e) => e.preventDefault()}>
        <div class="field">
          <label for="action">Action</label>
          <select id="action" @change=${(e) => this._setFilter('action', e.target.value)}>
            <option value="" ?selected=${!f.action}>any</option>
            ${[...groups].map(([g, list]) => html`<optgroup label=${g}>
                ${list.map((a) => html`<option value=${a.name} ?selected=${f.action === a.name} title=${a.description || nothing}>${a.name}</option>`)}
              </optgroup>`)}
          </select>
        </div>
        <div class="field">
          <label for="category">Category</label>
          <select id="category" @change=${(e) => this._setFilter('category', e.target.value)}>
            <option value="" ?selected=${!f.category}>any</option>
            ${categories.filter((c) => c && c.name).map((c) => html`<option value=${c.name} ?selected=${f.category === c.name} title=${c.description || nothing}>${c.name}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="user">User</label>
          <input id="user" type="text" placeholder="***@example.com or hash" spellcheck="false"
            .value=${f.user} ?disabled=${!!actor} title=${actor ? 'This token sees only this user' : nothing}
            @change=${(e) => this._setFilter('user', e.target.value)} @keydown=${(e) => this._onTextKey(e, 'user')} />
        </div>
        <div class="field">
          <label for="resource">Resource</label>
          <input id="resource" type="text" placeholder="TYPE or TYPE:ID" spellcheck="false"
            .value=${lockedRes ? `${lockedRes.type}:${lockedRes.id}` : f.resource} ?disabled=${!!lockedRes}
            @change=${(e) => this._setFilter('resource', e.target.value)} @keydown=${(e) => this._onTextKey(e, 'resource')} />
        </div>
        <div class="field">
          <label for="outcome">Outcome</label>
          <select id="outcome" @change=${(e) => this._setFilter('outcome', e.target.value)}>
            <option value="" ?selected=${!f.outcome}>any</option>
            ${OUTCOMES.map((o) => html`<option value=${o} ?selected=${f.outcome === o}>${o}</option>`)}
          </select>
        </div>
        <div class="field">
          <span class="label" aria-hidden="true">&nbsp;</span>
          <label class="switch"><input type="checkbox" .checked=${f.quarantined}
            @change=${(e) => this._setFilter('quarantined', e.target.checked)} /> Quarantined only</label>
        </div>
      </form>
      <div class="bar">
        <label class="switch"><input type="checkbox" role="switch" .checked=${this._utc}
          @change=${(e) => (this._utc = e.target.checked)} /> Show times in UTC</label>
        <span class="spacer"></span>
        <button type="button" @click=${() => this._newQuery()} ?disabled=${this.loading}>Refresh</button>
        <button type="button" class="primary" @click=${this._export} ?disabled=${this._exporting}>Export CSV</button>
      </div>
      ${this._renderTable(zone)}
      ${this._renderPager()}
    `;
  }

  _renderTable(zone) {
    const upTo = this._asOf ? `, up to ${formatTime(this._asOf, this._utc)} (Refresh for newer)` : '';
    return html`
      <div class="tablewrap">
        <table aria-busy=${this.loading ? 'true' : 'false'}>
          <caption>Audit log events, newest first: page ${this._page}, times in ${zone}${upTo}</caption>
          <thead>
            <tr>
              <th scope="col">Time (${zone})</th>
              <th scope="col">User</th>
              <th scope="col">Action</th>
              <th scope="col">Resource</th>
              <th scope="col">IP Address</th>
              <th scope="col">User Agent</th>
              <th scope="col">Region</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            ${this._events.length
              ? this._events.map((ev, i) => this._renderRow(ev, i))
              : html`<tr><td class="empty" colspan="8">${this.loading ? 'Loading…' : 'No events.'}</td></tr>`}
          </tbody>
        </table>
      </div>
    `;
  }

  _renderRow(ev, i) {
    const time = formatTime(ev.time, this._utc);
    const outcome = str(ev.outcome);
    return html`
      <tr data-id=${str(ev.id)} class=${ev.quarantined ? 'quarantined' : ''} @click=${(e) => this._onRowClick(e, i)}>
        <td class="time"><button type="button" class="open" @click=${() => this._open(i)}>${time}<span class="vh">, details</span></button></td>
        <td class="user">${userLabel(ev)}</td>
        <td class="action">${str(ev.action)}${ev.quarantined
          ? html`<span class="badge quarantined" title="Quarantined: the action is not in the catalog"
              ><span aria-hidden="true">quarantined</span><span class="vh">(quarantined: the action is not in the catalog)</span></span>`
          : nothing}</td>
        <td class="resource">${resourceLabel(ev)}</td>
        <td class="ip">${str(ev.ip)}</td>
        <td class="ua">${str(ev.user_agent)}</td>
        <td class="region">${str(ev.region)}</td>
        <td class="outcome ${OUTCOMES.includes(outcome) ? `outcome-${outcome}` : ''}">${outcome}</td>
      </tr>
    `;
  }

  _renderPager() {
    return html`
      <nav class="pager" aria-label="Pages">
        <button type="button" @click=${this._prev} ?disabled=${!this._cursorStack.length || this.loading}>Previous</button>
        <span class="page">Page ${this._page}</span>
        <button type="button" @click=${this._next} ?disabled=${!this._nextCursor || this.loading}>Next</button>
        <span class="spacer"></span>
        <label class="switch" for="page-size">Rows per page</label>
        <select id="page-size" @change=${this._setPageSize}>
          ${PAGE_SIZES.map((n) => html`<option value=${n} ?selected=${n === this._pageSize}>${n}</option>`)}
        </select>
      </nav>
    `;
  }

  _renderDialog() {
    const ev = this._selected;
    return html`
      <dialog aria-labelledby="dlg-title" @close=${this._onDialogClose}>
        ${ev
          ? html`
              <div class="dlg-head">
                <h2 id="dlg-title">Event details</h2>
                ${ev.quarantined ? html`<span class="badge quarantined">quarantined</span>` : nothing}
                <button type="button" @click=${() => this.renderRoot.querySelector('dialog')?.close()}>Close</button>
              </div>
              <dl>
                ${eventRows(ev).map(([k, v]) => html`<dt>${k}</dt><dd>${v === '' ? html`<span class="muted">—</span>` : v}${k === 'time' && v
                  ? html`<span class="muted"> (${formatTime(v, this._utc)} ${zoneName(this._utc)})</span>`
                  : nothing}</dd>`)}
              </dl>
            `
          : nothing}
      </dialog>
    `;
  }
}

if (!customElements.get('audit-log-viewer')) customElements.define('audit-log-viewer', AuditLogViewer);
