// How stored values read on screen: times, table names, who and where a change came from.
import { isRawNumber } from './api.js';

/** A stored time (ISO 8601, UTC, microseconds) as "2025-01-31 12:00:00.123"; the full value goes in a title. */
export function time(iso) {
  if (!iso) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,3})?/.exec(iso);
  return m ? `${m[1]} ${m[2]}${m[3] || ''}` : iso;
}

/** A time element: readable text, machine-readable datetime, the exact value on hover. */
export function timeNode(iso) {
  const t = document.createElement('time');
  t.dateTime = iso || '';
  t.title = iso || '';
  t.textContent = time(iso);
  return t;
}

/** Now in UTC, as the API takes a moment (seconds precision). */
export function nowIso() {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A part of a table name, double-quoted when it holds what the API would split at (dot, quote, comma, space). */
function part(name) {
  return /[.",\s]/.test(name) || name === '' ? `"${name.replaceAll('"', '""')}"` : name;
}

/** schema.table as the API parses it (TableName.Parse): parts quoted only when needed. */
export function qualified(schema, table) {
  return schema ? `${part(schema)}.${part(table)}` : part(table);
}

/** A change's table for people: the schema is left out when it is public. */
export function tableLabel(change) {
  return change.schema === 'public' ? change.table : `${change.schema}.${change.table}`;
}

const WHO_KEYS = ['userId', 'user', 'user_id', 'userName', 'email', 'sub', 'actor'];

/** Who made a change, from its context: a user, else the API key of a revert, else a job. */
export function who(context) {
  const c = context || {};
  for (const k of WHO_KEYS) {
    if (isRawNumber(c[k])) return c[k].rawJSON;
    if (c[k] !== undefined && c[k] !== null && typeof c[k] !== 'object') return String(c[k]);
  }
  if (typeof c.apiKey === 'string') return `key ${c.apiKey}`;
  if (typeof c.job === 'string') return `job ${c.job}`;
  return '';
}

/** Where a change came from: the request's method and route, a job, or a revert. */
export function via(context) {
  const c = context || {};
  if (c.hindsight && typeof c.hindsight === 'object' && c.hindsight.revertOf) return 'revert';
  if (typeof c.route === 'string') return c.method ? `${c.method} ${c.route}` : c.route;
  if (typeof c.requestId === 'string') return `request ${c.requestId}`;
  if (typeof c.job === 'string') return `job ${c.job}`;
  return '';
}

/** A number with thousands separators. */
export function count(n) {
  return Number(n).toLocaleString('en-US');
}
