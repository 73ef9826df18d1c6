// Unit tests of the viewer's pure helpers: `npm test` (node --test), in UTC
// and in zones with daylight saving time (see the test script).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTime, fromInputValue, rfc3339, startOfDaysAgo, toInputValue } from '../src/time.js';
import { eventRows, resourceLabel, userLabel } from '../src/format.js';
import { parseResource, queryString } from '../src/api.js';

const zone = process.env.TZ || 'UTC';

test('rfc3339 drops the milliseconds (whole seconds, floored)', () => {
  assert.equal(rfc3339(new Date('2026-12-02T11:21:26.999Z')), '2026-12-02T11:21:26Z');
});

test('startOfDaysAgo in UTC', () => {
  const now = new Date('2026-12-02T00:30:00Z');
  assert.equal(rfc3339(startOfDaysAgo(1, true, now)), '2026-12-01T00:00:00Z');
  assert.equal(rfc3339(startOfDaysAgo(7, true, now)), '2026-11-25T00:00:00Z');
  assert.equal(rfc3339(startOfDaysAgo(90, true, now)), '2026-09-03T00:00:00Z');
});

test(`startOfDaysAgo in local time (${zone}) lands on local midnight, across a DST change`, () => {
  const now = new Date(2026, 10, 3, 12, 0); // 3 Nov 2026, noon local: after the US and EU changes
  const d = startOfDaysAgo(7, false, now);
  assert.deepEqual([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()], [2026, 9, 27, 0, 0]);
  if (zone === 'America/New_York') assert.equal(rfc3339(d), '2026-10-27T04:00:00Z'); // EDT, UTC-4
  if (zone === 'Europe/Berlin') assert.equal(rfc3339(d), '2026-10-26T23:00:00Z'); // CET, UTC+1
});

test('the datetime-local round trip, in UTC and local time', () => {
  for (const utc of [true, false]) {
    const iso = fromInputValue('2026-03-29T02:30', utc);
    assert.ok(iso, 'a valid input gives an instant');
    const back = toInputValue(iso, utc);
    // 02:30 on 29 March does not exist in Europe/Berlin: the browser moves it an hour on.
    if (!(zone === 'Europe/Berlin' && !utc)) assert.equal(back, '2026-03-29T02:30');
  }
  assert.equal(fromInputValue('2026-12-01T10:30', true, 59), '2026-12-01T10:30:59Z');
  assert.equal(fromInputValue('', true), '');
  assert.equal(fromInputValue('garbage', false), '');
  assert.equal(toInputValue('', true), '');
});

test('formatTime shows the shown zone, and text that is no time as it is', () => {
  assert.equal(formatTime('2026-12-02T11:21:26.5Z', true), '2026-12-02 11:21:26');
  assert.equal(formatTime('<b>not a time</b>', true), '<b>not a time</b>');
});

test('User: email, else name, else id; Resource: name, else type:id', () => {
  assert.equal(userLabel({ user: { email: '***@a.example', name: 'Ada', id: 'u1' } }), '***@a.example');
  assert.equal(userLabel({ user: { name: 'Ada', id: 'u1' } }), 'Ada');
  assert.equal(userLabel({ user: { id: 'u1' } }), 'u1');
  assert.equal(userLabel({}), '');
  assert.equal(resourceLabel({ resource: { type: 'file', id: 'f1', name: 'a.csv' } }), 'a.csv');
  assert.equal(resourceLabel({ resource: { type: 'file', id: 'f1' } }), 'file:f1');
  assert.equal(resourceLabel({ resource: { type: 'file' } }), 'file');
});

test('eventRows names every field of the schema, then the properties and unknown fields', () => {
  const rows = new Map(eventRows({
    id: 'e1', time: '2026-12-02T11:21:26Z', action: 'a', categories: ['x', 'y'], quarantined: true,
    user: { email: '***@a.example', extra: 1 }, properties: { a: { b: [1, 'two'] }, empty: {} }, future_field: 'f',
  }));
  for (const k of ['id', 'time', 'action', 'outcome', 'user.email', 'user.id', 'user.name', 'user.hash', 'actor_type', 'resource.type', 'resource.id', 'resource.name', 'ip', 'user_agent', 'region', 'organization', 'group', 'categories', 'message', 'quarantined']) {
    assert.ok(rows.has(k), `no row for ${k}`);
  }
  assert.equal(rows.get('categories'), 'x, y');
  assert.equal(rows.get('quarantined'), 'true');
  assert.equal(rows.get('properties.a.b[0]'), '1');
  assert.equal(rows.get('properties.a.b[1]'), 'two');
  assert.equal(rows.get('properties.empty'), '{}');
  assert.equal(rows.get('future_field'), 'f');
  assert.equal(rows.get('user.extra'), '1');
  assert.equal(new Map(eventRows({ id: 'e2' })).get('properties'), '');
});

test('parseResource and queryString', () => {
  assert.deepEqual(parseResource('project:p-001'), { type: 'project', id: 'p-001' });
  assert.deepEqual(parseResource('urn:a:b'), { type: 'urn', id: 'a:b' });
  assert.equal(parseResource('project'), null);
  assert.equal(parseResource(':x'), null);
  assert.equal(queryString([['format', 'csv'], ['q', 'a b&c'], ['from', ''], ['quarantined', '']]), '?format=csv&q=a+b%26c');
  assert.equal(queryString([]), '');
});
