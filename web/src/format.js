// What the viewer shows of an event, as plain strings: Lit renders them as
// text, never as HTML.

// The Event schema's fields, in the order the details show them.
const EVENT_FIELDS = [
  'id', 'time', 'action', 'outcome',
  'user.email', 'user.id', 'user.name', 'user.hash', 'actor_type',
  'resource.type', 'resource.id', 'resource.name',
  'ip', 'user_agent', 'region', 'organization', 'group', 'categories', 'message', 'quarantined',
];

/** user.email, else user.name, else user.id. */
export function userLabel(ev) {
  const u = (ev && typeof ev.user === 'object' && ev.user) || {};
  return str(u.email) || str(u.name) || str(u.id) || '';
}

/** resource.name, else type:id. */
export function resourceLabel(ev) {
  const r = (ev && typeof ev.resource === 'object' && ev.resource) || {};
  if (str(r.name)) return str(r.name);
  if (str(r.type) && str(r.id)) return `${str(r.type)}:${str(r.id)}`;
  return str(r.type) || str(r.id) || '';
}

export function str(v) {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** [path, text] for every leaf under value, properties.a.b[0] style. */
function flatten(prefix, value, out = []) {
  if (Array.isArray(value)) {
    if (value.length === 0) out.push([prefix, '[]']);
    value.forEach((v, i) => flatten(`${prefix}[${i}]`, v, out));
  } else if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) out.push([prefix, '{}']);
    for (const k of keys) flatten(prefix ? `${prefix}.${k}` : k, value[k], out);
  } else {
    out.push([prefix, value === null ? 'null' : typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  return out;
}

function get(obj, path) {
  return path.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj);
}

/** Every field of an event: the schema's first (empty ones too), then properties, then anything else. */
export function eventRows(ev) {
  const rows = [];
  for (const f of EVENT_FIELDS) {
    const v = get(ev, f);
    rows.push([f, v === undefined || v === null ? '' : Array.isArray(v) ? v.map(str).join(', ') : str(v)]);
  }
  const props = ev && ev.properties;
  if (props && typeof props === 'object' && Object.keys(props).length) flatten('properties', props, rows);
  else rows.push(['properties', '']);
  // Fields the schema does not name yet: shown rather than hidden.
  for (const [k, v] of Object.entries(ev || {})) {
    if (k === 'properties' || k === 'user' || k === 'resource' || EVENT_FIELDS.includes(k)) continue;
    flatten(k, v, rows);
  }
  for (const parent of ['user', 'resource']) {
    const o = ev && ev[parent];
    if (!o || typeof o !== 'object') continue;
    for (const [k, v] of Object.entries(o)) {
      if (!EVENT_FIELDS.includes(`${parent}.${k}`)) flatten(`${parent}.${k}`, v, rows);
    }
  }
  return rows;
}
