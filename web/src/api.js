// The calls the viewer makes to the audit log API (internal/auditapi/openapi.yaml).
// Every call sends the token as a bearer token; none sends cookies.

/** An answer other than 2xx: the API's {"error","field","reason"}, or what we could make of it. */
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const error = (body && typeof body.error === 'string' && body.error) || `The service answered ${status}`;
    super(error);
    this.status = status;
    this.error = error;
    this.field = (body && typeof body.field === 'string' && body.field) || '';
    this.reason = (body && typeof body.reason === 'string' && body.reason) || '';
    this.retryAfter = retryAfter;
  }
}

/** A query string with the parameters in the order given, empty values left out. */
export function queryString(params) {
  const sp = new URLSearchParams();
  for (const [k, v] of params) {
    if (v !== undefined && v !== null && v !== '' && v !== false) sp.append(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : '';
}

export class Api {
  /**
   * @param {string} baseUrl the service root ('' for the page's own origin)
   * @param {string} token
   */
  constructor(baseUrl, token) {
    this.base = (baseUrl || '').replace(/\/+$/, '');
    this.token = token;
  }

  url(path) {
    return new URL(this.base + path, window.location.href).toString();
  }

  /** GET path (with its query string); throws ApiError on a non-2xx answer. */
  async get(path, { signal, accept = 'application/json' } = {}) {
    let res;
    try {
      res = await fetch(this.url(path), {
        headers: { Authorization: `Bearer ${this.token}`, Accept: accept },
        credentials: 'omit',
        cache: 'no-store',
        signal,
      });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, { error: 'The audit log service cannot be reached. Check the connection and try again.', reason: 'network' });
    }
    if (!res.ok) {
      let body = null;
      try {
        body = await res.json();
      } catch {
        // not JSON: keep the status alone
      }
      const ra = Number.parseInt(res.headers.get('Retry-After') || '', 10);
      throw new ApiError(res.status, body, Number.isFinite(ra) ? ra : undefined);
    }
    return res;
  }

  async json(path, opts) {
    const res = await this.get(path, opts);
    return res.json();
  }

  whoami(opts) {
    return this.json('/api/v1/whoami', opts);
  }

  catalog(opts) {
    return this.json('/api/v1/catalog', opts);
  }

  /** One page: /api/v1/events, or a resource's change log when resource is {type, id}. */
  events(resource, params, opts) {
    const path = resource
      ? `/api/v1/resources/${encodeURIComponent(resource.type)}/${encodeURIComponent(resource.id)}/events`
      : '/api/v1/events';
    return this.json(path + queryString(params), opts);
  }

  /** The export of the filtered view as a Response (CSV). */
  exportCSV(params, opts) {
    return this.get('/api/v1/events/export' + queryString([['format', 'csv'], ...params]), { ...opts, accept: 'text/csv' });
  }
}

/** "TYPE:ID" → {type, id}; null for anything else. The id may hold colons. */
export function parseResource(s) {
  if (typeof s !== 'string') return null;
  const i = s.indexOf(':');
  if (i <= 0 || i === s.length - 1) return null;
  return { type: s.slice(0, i), id: s.slice(i + 1) };
}
