// Times as the viewer shows and sends them. The shown zone is the browser's
// own (local) or UTC; what goes to the API is always an absolute RFC 3339
// instant, so a page, the next one and the export name the same window.

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** The calendar fields of d in the shown zone. */
function fields(d, utc) {
  return utc
    ? { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() }
    : { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds() };
}

/** The name of the shown zone: an IANA name for local time, else UTC. */
export function zoneName(utc) {
  if (utc) return 'UTC';
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  } catch {
    return 'local time';
  }
}

/** "2026-12-02 11:21:26" in the shown zone; the input itself when it is no time. */
export function formatTime(iso, utc) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  const f = fields(d, utc);
  return `${f.y}-${pad(f.mo)}-${pad(f.d)} ${pad(f.h)}:${pad(f.mi)}:${pad(f.s)}`;
}

/** The value of an <input type="datetime-local"> for an instant, in the shown zone. */
export function toInputValue(iso, utc) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const f = fields(d, utc);
  return `${pad(f.y, 4)}-${pad(f.mo)}-${pad(f.d)}T${pad(f.h)}:${pad(f.mi)}`;
}

/**
 * The instant an <input type="datetime-local"> value names in the shown zone,
 * plus extraSeconds (59 makes a "To" minute inclusive). '' when empty or bad.
 */
export function fromInputValue(value, utc, extraSeconds = 0) {
  const m = /^(\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value || '');
  if (!m) return '';
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x || 0));
  const t = utc ? new Date(Date.UTC(y, mo - 1, d, h, mi, s + extraSeconds)) : new Date(y, mo - 1, d, h, mi, s + extraSeconds);
  return Number.isNaN(t.getTime()) ? '' : rfc3339(t);
}

/**
 * The start of the day n days before now's, in the shown zone
 * (n = 1: the start of yesterday). Calendar arithmetic, so a daylight
 * saving change in between still lands on midnight.
 */
export function startOfDaysAgo(n, utc, now = new Date()) {
  const f = fields(now, utc);
  return utc ? new Date(Date.UTC(f.y, f.mo - 1, f.d - n)) : new Date(f.y, f.mo - 1, f.d - n);
}

/** RFC 3339 in UTC, whole seconds: 2026-12-02T11:21:26Z. */
export function rfc3339(d) {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
