// The dashboard's entry point: signs in, then routes #/view?params to a view module, one at a time.
// A view's render(root, params) may return a cleanup (the live tail's stream), run when the view is left.
import { api, UNAUTHORIZED } from './api.js';
import { problemBox, replace } from './render.js';
import { showLatestCheckpoint } from './chain.js';
import { current } from './router.js';
import { clearKey, getKey, isAdmin, session, setKey, signedIn } from './session.js';
import * as signin from './views/signin.js';
import * as changes from './views/changes.js';
import * as record from './views/record.js';
import * as asOf from './views/asof.js';
import * as revert from './views/revert.js';
import * as tail from './views/tail.js';
import * as trends from './views/trends.js';

const VIEWS = { changes, record, 'as-of': asOf, revert, tail, trends };

const root = document.getElementById('view');
let cleanup = null;
let renderId = 0;

function leaveView() {
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
}

/** The header: navigation (Revert only for admin keys), the newest checkpoint, and who is signed in. */
function showChrome(shown) {
  document.getElementById('nav').hidden = !shown;
  document.getElementById('who').hidden = !shown;
  const checkpoint = document.getElementById('checkpoint');
  if (!shown) {
    checkpoint.hidden = true;
    return;
  }
  showLatestCheckpoint(checkpoint);
  document.getElementById('sign-out').hidden = session.host; // the app's own sign-in is the app's to end
  document.getElementById('who-name').textContent = session.name;
  const scope = document.getElementById('who-scope');
  scope.textContent = session.scope;
  scope.className = `badge scope-${session.scope === 'admin' ? 'admin' : 'read'}`;
  for (const a of document.querySelectorAll('#nav a[data-admin]')) a.hidden = !isAdmin();
  const { view } = current();
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function signOut(message) {
  leaveView();
  clearKey();
  session.name = null;
  session.scope = null;
  session.host = false;
  showChrome(false);
  signin.render(root, {
    message,
    onSignedIn: (key, s) => {
      setKey(key);
      Object.assign(session, s);
      route();
    },
  });
}

async function route() {
  leaveView();
  const id = ++renderId;
  if (!signedIn()) {
    signOut();
    return;
  }
  showChrome(true);
  const { view, params } = current();
  const module = VIEWS[view];
  if (!module) {
    replace(root, problemBox({ title: 'Not found', detail: `there is no view called "${view}"` }));
    return;
  }
  let done;
  try {
    done = await module.render(root, params);
  } catch (e) {
    if (id === renderId) replace(root, problemBox(e));
  }
  if (id !== renderId) {
    if (typeof done === 'function') done(); // left before it finished drawing
    return;
  }
  cleanup = done;
  root.dataset.view = view;
  root.dataset.ready = String(id); // tests wait for a view to be drawn
}

async function start() {
  const key = getKey();
  if (key) {
    try {
      Object.assign(session, await api('/session'));
    } catch (e) {
      if (e.status === 401) return; // the unauthorized handler signs out
      replace(root, problemBox(e));
      return;
    }
  } else if (await signInMode() === 'host') {
    // The app hosting the API signs its users in itself (the API behind its own policies): its cookie is the session.
    try {
      Object.assign(session, await api('/session', { key: null }), { host: true });
    } catch (e) {
      replace(root, problemBox(e.status === 401 || e.status === 403
        ? { title: 'Not signed in', detail: 'sign in to the application first, then open the dashboard again' }
        : e));
      return;
    }
  }
  route();
}

/** 'key' (sign in with an API key) or 'host' (the hosting app's own sign-in), as the server says. */
async function signInMode() {
  try {
    const response = await fetch('/dashboard.json', { cache: 'no-store', credentials: 'omit' });
    return response.ok ? (await response.json()).signIn : 'key';
  } catch {
    return 'key';
  }
}

window.addEventListener('hashchange', route);
window.addEventListener(UNAUTHORIZED, () => {
  if (!session.host) {
    signOut('The server no longer accepts this key: sign in again.');
    return;
  }
  leaveView(); // the application's own sign-in ended: only the application can renew it
  showChrome(false);
  replace(root, problemBox({ title: 'Signed out', detail: 'your sign-in to the application has ended: sign in to it again, then reload' }));
});
document.getElementById('sign-out').addEventListener('click', () => signOut());
start();
