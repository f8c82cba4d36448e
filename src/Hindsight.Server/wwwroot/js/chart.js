// A stacked bar chart in SVG, built with createElementNS: counts per time bucket, one colour per group.
// Colours are SVG attributes (not style attributes), which the page's content security policy allows.

const NS = 'http://www.w3.org/2000/svg';
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
export const OTHER_COLOR = '#9aa0a6';
/** Groups drawn with a colour of their own; the rest are summed as "other". */
export const MAX_GROUPS = 8;

/** The fewest buckets the time axis spans. */
const MIN_SPAN = 12;
const BUCKET_MS = { minute: 60e3, hour: 3600e3, day: 86400e3, week: 7 * 86400e3 };

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The groups by total count, the largest first, capped at MAX_GROUPS (the rest become "other"). */
export function groupsOf(points) {
  const totals = new Map();
  for (const p of points) totals.set(p.group ?? '(none)', (totals.get(p.group ?? '(none)') || 0) + p.count);
  const sorted = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([g]) => g);
  const kept = sorted.slice(0, MAX_GROUPS);
  return { kept, other: sorted.length > MAX_GROUPS, color: (g) => (kept.includes(g) ? PALETTE[kept.indexOf(g) % PALETTE.length] : OTHER_COLOR) };
}

/** A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least max. */
function niceMax(max) {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max);
}

/**
 * The chart of trend points ({bucket, group, count}) for a bucket width (minute, hour, day, week).
 * Bars sit on a time axis, so a gap in activity shows as a gap.
 */
export function stackedBars(points, bucket, title) {
  const W = 900;
  const H = 300;
  const m = { top: 16, right: 16, bottom: 40, left: 56 };
  const groups = groupsOf(points);
  const width = BUCKET_MS[bucket] || BUCKET_MS.hour;
  const byBucket = new Map();
  for (const p of points) {
    const t = Date.parse(p.bucket);
    const g = groups.kept.includes(p.group ?? '(none)') ? p.group ?? '(none)' : 'other';
    const stack = byBucket.get(t) || new Map();
    stack.set(g, (stack.get(g) || 0) + p.count);
    byBucket.set(t, stack);
  }
  const times = [...byBucket.keys()].sort((a, b) => a - b);
  let t0 = times[0];
  let t1 = times[times.length - 1] + width;
  // At least MIN_SPAN buckets wide, centred: one busy minute should not be drawn as a wall.
  if (t1 - t0 < MIN_SPAN * width) {
    const pad = (MIN_SPAN * width - (t1 - t0)) / 2;
    t0 -= pad;
    t1 += pad;
  }
  const max = niceMax(Math.max(...times.map((t) => [...byBucket.get(t).values()].reduce((a, b) => a + b, 0))));
  const plotW = W - m.left - m.right;
  const plotH = H - m.top - m.bottom;
  const x = (t) => m.left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v) => m.top + plotH - (v / max) * plotH;

  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-title', class: 'chart' });
  root.append(svg('title', { id: 'chart-title' }, title));
  // Axes and grid lines.
  for (let i = 0; i <= 4; i += 1) {
    const v = (max / 4) * i;
    root.append(svg('line', { x1: m.left, x2: W - m.right, y1: y(v), y2: y(v), class: 'grid' }));
    root.append(svg('text', { x: m.left - 8, y: y(v) + 4, 'text-anchor': 'end', class: 'axis-label' }, Number.isInteger(v) ? String(v) : v.toFixed(1)));
  }
  const labels = Math.min(6, times.length);
  for (let i = 0; i < labels; i += 1) {
    const t = times[Math.round((i * (times.length - 1)) / Math.max(1, labels - 1))];
    const iso = new Date(t).toISOString();
    const text = bucket === 'day' || bucket === 'week' ? iso.slice(0, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
    root.append(svg('text', { x: x(t) + (x(t + width) - x(t)) / 2, y: H - m.bottom + 18, 'text-anchor': 'middle', class: 'axis-label' }, text));
  }
  // Bars: one stack per bucket, a rect per group, each with a tooltip naming its figures.
  const barW = Math.max(1, (x(times[0] + width) - x(times[0])) * 0.8);
  for (const t of times) {
    let base = 0;
    const order = [...groups.kept, 'other'];
    for (const g of order) {
      const v = byBucket.get(t).get(g);
      if (!v) continue;
      const rect = svg('rect', {
        x: x(t) + (x(t + width) - x(t) - barW) / 2, y: y(base + v), width: barW, height: Math.max(0.5, y(base) - y(base + v)),
        fill: g === 'other' ? OTHER_COLOR : groups.color(g), class: 'bar', 'data-group': g, 'data-count': v,
      });
      rect.append(svg('title', {}, `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC · ${g}: ${v}`));
      root.append(rect);
      base += v;
    }
  }
  root.append(svg('line', { x1: m.left, x2: W - m.right, y1: y(0), y2: y(0), class: 'axis' }));
  return root;
}
