// The tamper-evident chain on screen: a change's verification state as a small badge (asked for when the change is
// shown), a download of its inclusion proof, and the newest checkpoint in the header.
import { api, credentials, failure, headers } from './api.js';
import { el, replace } from './render.js';
import { count, time, timeNode } from './format.js';

/** What each state says, and the longer account on hover. */
const STATES = {
  verified: ['verified', 'matches the hash its block recorded when it was stored'],
  altered: ['ALTERED', 'this change, or the block that records it, was changed after it was stored: it does not match the chain'],
  not_chained: ['not chained', 'no block records it: stored before the chain began, by a writer that does not chain, or inserted after the fact'],
  derived: ['derived (baseline/prune row)', 'a baseline or prune row, derived by Hindsight: outside the chain by design'],
};

/**
 * A change's verification state: "verified" (in the checkpoint of a time, or not yet checkpointed, with its proof to
 * download), "ALTERED", "not chained" or "derived". lazy: asked for only once the badge scrolls into view (a row's
 * timeline may show hundreds of changes).
 */
export function verificationBadge(change, { lazy = false } = {}) {
  const box = el('span', { class: 'verification', dataset: { state: 'checking' } }, el('span', { class: 'badge', text: 'checking…' }));
  const load = () => fill(box, change).catch(() => {});
  if (lazy && typeof IntersectionObserver === 'function') {
    const observer = new IntersectionObserver((entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      observer.disconnect();
      load();
    });
    observer.observe(box);
  } else {
    load();
  }
  return box;
}

async function fill(box, change) {
  let v;
  try {
    v = await api(`/changes/${encodeURIComponent(String(change.id))}/verification`);
  } catch (e) {
    // A store that keeps no chain (409), or a refusal: said quietly, the reason on hover.
    box.dataset.state = 'unknown';
    replace(box, el('span', { class: 'badge chain-unknown', title: e.detail || e.message, text: 'not verifiable' }));
    return;
  }
  const [label, meaning] = STATES[v.state] || [v.state, ''];
  box.dataset.state = v.state;
  const badge = el('span', { class: `badge chain-${v.state.replace(/[^a-z]/g, '')}`, title: meaning, text: label });
  if (v.state !== 'verified') {
    replace(box, badge, v.state === 'altered' ? el('span', { class: 'chain-altered-note', text: ` ${meaning}` }) : null);
    return;
  }
  if (!v.checkpoint) {
    replace(box, badge, el('span', { class: 'muted', text: ' not yet checkpointed' }));
    return;
  }
  replace(box, badge,
    el('span', { class: 'muted', title: `block ${v.block} of ${v.checkpoint.blocks}; key ${v.checkpoint.key_id}` },
      ' in the checkpoint of ', timeNode(v.checkpoint.time)),
    ' ', proofButton(change));
}

/** A button that downloads the change's inclusion proof (JSON), to check offline with hindsight verify --proof. */
function proofButton(change) {
  const id = String(change.id);
  const message = el('span', { class: 'chain-proof-error', role: 'alert' });
  const button = el('button', { type: 'button', class: 'link-button', text: 'Download proof' });
  button.addEventListener('click', async () => {
    message.textContent = '';
    button.disabled = true;
    try {
      // The key rides in a header, so a plain link cannot fetch it: fetched here, handed over as a file.
      const response = await fetch(`/api/changes/${encodeURIComponent(id)}/proof`,
        { headers: headers(), credentials: credentials(), cache: 'no-store' });
      if (!response.ok) throw await failure(response);
      const url = URL.createObjectURL(new Blob([await response.text()], { type: 'application/json' }));
      const a = el('a', { href: url, download: `hindsight-proof-change-${id}.json`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      message.textContent = ` ${e.detail || e.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return el('span', { class: 'chain-proof' }, button, message);
}

/**
 * Fills the header's checkpoint note: the newest checkpoint of the server's own source (time, blocks, key id), or says
 * there is none yet; hidden when it cannot be read.
 */
export async function showLatestCheckpoint(node) {
  let latest;
  try {
    latest = await api('/checkpoints/latest');
  } catch {
    node.hidden = true;
    return;
  }
  const c = latest.checkpoints[0];
  node.hidden = false;
  if (!c) {
    node.textContent = 'No checkpoint yet';
    node.title = 'No signed checkpoint of this source is recorded yet (hindsight checkpoint, or the worker with a signing key)';
    return;
  }
  node.textContent = `Checkpoint ${time(c.time)} · ${count(c.blocks)} block${Number(c.blocks) === 1 ? '' : 's'} · key ${c.key_id}`;
  node.title = `The newest signed checkpoint of source ${c.source}: ${count(c.changes)} changes, root ${c.root}. ` +
    'Its public key here is the store\'s own record: check it against a key kept elsewhere (hindsight verify --public-key).';
}
