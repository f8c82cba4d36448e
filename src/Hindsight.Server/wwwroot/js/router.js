// Hash routes: #/view?param=value. Every view has a URL that can be shared (it never holds the key).

/** The current route: { view, params (URLSearchParams) }. */
export function current() {
  const hash = location.hash.replace(/^#\/?/, '');
  const i = hash.indexOf('?');
  const view = decodeURIComponent(i < 0 ? hash : hash.slice(0, i)) || 'changes';
  return { view, params: new URLSearchParams(i < 0 ? '' : hash.slice(i + 1)) };
}

/** The link of a view with params (empty ones left out). */
export function href(view, params = {}) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    q.append(name, String(value));
  }
  const text = q.toString();
  return `#/${view}${text ? `?${text}` : ''}`;
}

/** Goes to a view (a new history entry, so Back works). */
export function go(view, params) {
  const target = href(view, params);
  if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = target;
}

/** The params as a plain object. */
export function toObject(params) {
  return Object.fromEntries(params.entries());
}
