// Calls to /api with the key in the Authorization header (never in the URL). Failures become ApiError with the
// problem details the server sent (title, detail), so views can show them as they are.
import { getKey } from './session.js';

/** A failed API call: status, and the problem's title and detail. */
export class ApiError extends Error {
  constructor(status, title, detail, problem) {
    super(detail || title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.problem = problem || {};
  }
}

/** Fired on window when the server refuses the key (401): the app signs out. */
export const UNAUTHORIZED = 'hindsight:unauthorized';

/**
 * Parses JSON keeping numbers exact: a number whose text a JavaScript number would change (12.50, a bigint past
 * 2^53) is kept as its source text (JSON.rawJSON), so the page shows 12.50 as PostgreSQL stored it, not 12.5.
 */
export function parseJson(text) {
  if (typeof JSON.rawJSON !== 'function') return JSON.parse(text);
  return JSON.parse(text, (key, value, context) =>
    typeof value === 'number' && context?.source !== undefined && String(value) !== context.source ? JSON.rawJSON(context.source) : value);
}

/** Whether a value is a number kept as its source text (see parseJson). */
export function isRawNumber(value) {
  return typeof JSON.isRawJSON === 'function' && JSON.isRawJSON(value);
}

/** A query string of the non-empty params (arrays repeat the name). */
export function query(params = {}) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    for (const v of Array.isArray(value) ? value : [value]) q.append(name, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** Headers of an API call with the given key (default: the signed-in one; none: the host app's own sign-in). */
export function headers(key = getKey(), extra = {}) {
  return key ? { Accept: 'application/json', Authorization: `Bearer ${key}`, ...extra } : { Accept: 'application/json', ...extra };
}

/**
 * A key goes in its header and nothing else rides along; without one, the host app's own sign-in cookie does
 * (same origin only).
 */
export function credentials(key = getKey()) {
  return key ? 'omit' : 'same-origin';
}

/**
 * Calls the API; returns the parsed JSON. Options: params (query), method, body (sent as JSON), signal,
 * key (a key to try instead of the signed-in one: sign-in).
 */
export async function api(path, { params, method = 'GET', body, signal, key } = {}) {
  const init = { method, signal, headers: headers(key ?? getKey()), cache: 'no-store', credentials: credentials(key ?? getKey()) };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api${path}${query(params)}`, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'Server unreachable', 'the Hindsight server cannot be reached; is it still running?');
  }
  if (response.ok) return response.status === 204 ? null : parseJson(await response.text());
  throw await failure(response, key === undefined);
}

/** The ApiError of a failed response; announces a refused key. */
export async function failure(response, announce = true) {
  let problem = null;
  if ((response.headers.get('Content-Type') || '').includes('json')) {
    try { problem = await response.json(); } catch { problem = null; }
  }
  const status = response.status;
  if (status === 401 && announce) window.dispatchEvent(new CustomEvent(UNAUTHORIZED));
  const fallback = {
    401: ['API key required', 'the API key is not valid'],
    403: ['Forbidden', 'this API key may not do that'],
    414: ['Request too long', 'the filter is too long for one request; shorten it'],
    431: ['Request too long', 'the filter is too long for one request; shorten it'],
  }[status] || [`Error ${status}`, response.statusText || 'the server could not answer'];
  return new ApiError(status, problem?.title || fallback[0], problem?.detail || fallback[1], problem);
}
