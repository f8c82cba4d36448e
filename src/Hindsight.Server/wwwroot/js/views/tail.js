// Live tail: new changes as they are stored, from the server-sent event stream (read with fetch, since the key
// goes in a header). The stream stops when the view is left; it reconnects after a drop, from the last id seen.
import { api, parseJson, query } from '../api.js';
import { el, heading, problemBox, replace } from '../render.js';
import { go } from '../router.js';
import { apiFilterOrProblem, filterForm, filterValues } from '../filters.js';
import { changeRows, changeTable } from '../changelist.js';
import { readEvents } from '../sse.js';

/** Rows kept on screen; older ones are dropped (the trail keeps them all). */
const MAX_ROWS = 200;
const RETRY_MS = 3000;

/** Route params: the filter's table, operation and context. Returns the cleanup that stops the stream. */
export function render(root, params) {
  const values = filterValues(params);
  const form = filterForm(values, { fields: ['table', 'op', 'ctxkey', 'ctxval'], submitLabel: 'Follow', onSubmit: (v) => go('tail', v) });
  const state = el('span', { class: 'stream-state', role: 'status', 'aria-live': 'polite', dataset: { state: 'connecting' }, text: 'Connecting…' });
  const pause = el('button', { type: 'button', text: 'Pause' });
  const counter = el('span', { class: 'muted', text: '' });
  const { table, body } = changeTable([]);
  const empty = el('p', { class: 'muted empty', text: 'Waiting for new changes… (only changes stored from now on appear here)' });
  const error = el('div');
  replace(root, heading('Live tail', el('div', { class: 'tail-controls' }, state, pause, counter)), form, error, empty, table);

  const filter = apiFilterOrProblem(values, error);
  if (filter === null) return () => {};
  let controller = null;
  let lastId = null;
  let received = 0;
  let stopped = false;
  let paused = false;
  let generation = 0; // a pause and a resume start a new loop; an older one still sleeping must not go on

  const setState = (s, text) => { state.dataset.state = s; state.textContent = text; };

  async function run() {
    const mine = ++generation;
    const current = () => !stopped && !paused && mine === generation;
    if (lastId === null) {
      // Start after the newest matching change, by id: then a reconnect or a resume misses nothing.
      try {
        const newest = await api('/changes', { params: { ...filter, limit: 1 } });
        lastId = newest.changes[0]?.id ?? 0;
      } catch (e) {
        setState('stopped', 'Stopped');
        replace(error, problemBox(e));
        return;
      }
    }
    while (current()) {
      controller = new AbortController();
      const params = { ...filter, after_id: lastId };
      try {
        await readEvents(`/api/changes/stream${query(params)}`, {
          signal: controller.signal,
          onOpen: () => { setState('live', 'Live'); replace(error); },
          onEvent: (e) => {
            if (e.event !== 'change') return;
            const change = parseJson(e.data);
            lastId = change.id;
            received += 1;
            counter.textContent = `${received} new`;
            empty.hidden = true;
            body.prepend(...changeRows(change));
            while (body.rows.length > MAX_ROWS * 2) body.lastElementChild.remove();
          },
        });
      } catch (e) {
        if (e.name === 'AbortError') return;
        if (e.status && e.status < 500 && e.status !== 429) {
          // A refused key or a bad filter will not get better by retrying.
          setState('stopped', 'Stopped');
          replace(error, problemBox(e));
          return;
        }
      }
      if (!current()) return;
      setState('reconnecting', 'Reconnecting…');
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (paused) {
      controller?.abort();
      setState('paused', 'Paused');
    } else {
      setState('connecting', 'Connecting…');
      run();
    }
  });
  run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
