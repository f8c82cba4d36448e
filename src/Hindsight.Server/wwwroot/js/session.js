// The API key of this browser tab. Kept in sessionStorage only: it goes when the tab closes, is never written
// to localStorage or a cookie (which would outlive the session or ride along on requests), never into a URL.
const KEY = 'hindsight.key';

/** The key signed in with, or null. */
export function getKey() {
  return sessionStorage.getItem(KEY);
}

/** Keeps the key for this tab's session. */
export function setKey(key) {
  sessionStorage.setItem(KEY, key);
}

/** Forgets the key (sign out, or the server no longer accepts it). */
export function clearKey() {
  sessionStorage.removeItem(KEY);
}

/**
 * What the server said about the caller (GET /api/session): { name, scope }, and host: true when the app hosting
 * the API signed the user in itself (its own cookie; the API behind the app's policies), so no key is used.
 */
export const session = { name: null, scope: null, host: false };

/** Whether anyone is signed in: a key, or the host app's own sign-in. */
export function signedIn() {
  return Boolean(getKey()) || session.host;
}

/** Whether the key may apply reverts. Only decides what the page offers: the server checks again. */
export function isAdmin() {
  return session.scope === 'admin';
}
