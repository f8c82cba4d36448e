// Sign-in: an API key, checked with GET /api/session before it is kept (in sessionStorage, for this tab only).
import { api } from '../api.js';
import { el, field, problemBox, replace } from '../render.js';

/** Renders the form; onSignedIn(key, session) once the server accepts the key. message: why we are here. */
export function render(root, { message, onSignedIn }) {
  const key = el('input', { type: 'password', name: 'key', autocomplete: 'off', required: true, placeholder: 'hsk_…' });
  const error = el('div', { class: 'signin-error' });
  const submit = el('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const form = el('form', { class: 'signin', 'aria-labelledby': 'signin-title' },
    el('h1', { id: 'signin-title', text: 'Sign in to Hindsight' }),
    el('p', { class: 'muted', text: 'Paste an API key (hindsight serve --generate-key read|admin makes one). It is kept for this browser tab only and sent in a header, never in a URL.' }),
    message ? el('div', { class: 'alert alert-warning', role: 'alert', text: message }) : null,
    field('API key', key),
    error,
    el('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const candidate = key.value.trim();
    if (!candidate) return;
    submit.disabled = true;
    replace(error);
    try {
      const session = await api('/session', { key: candidate });
      onSignedIn(candidate, session);
    } catch (err) {
      replace(error, problemBox(err.status === 401 ? { title: 'Not signed in', detail: 'The server does not accept this key: check that it is complete and configured.' } : err));
      key.select();
    } finally {
      submit.disabled = false;
    }
  });
  document.title = 'Sign in · Hindsight';
  replace(root, el('div', { class: 'signin-wrap' }, form));
  key.focus();
}
