// A two-series SVG line chart: training loss (left axis) and validation perplexity (right axis) over steps.
const NS = 'http://www.w3.org/2000/svg';
const W = 560, H = 220, L = 46, R = 50, T = 12, B = 28;

function svg(tag, attributes, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function scale(values, from, to) {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (lo === hi) { lo -= 1; hi += 1; }
  return { lo, hi, at: (v) => from + ((v - lo) / (hi - lo)) * (to - from) };
}

const label = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));

/** Draws points [{ step, loss, perplexity }] into container. */
export function draw(container, points) {
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
  root.append(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }));
  if (points.length === 0) {
    root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'The chart fills as the job reports progress.'));
    container.replaceChildren(root);
    return;
  }
  const x = scale(points.map((p) => p.step), L, W - R);
  if (points.length === 1) x.at = () => (L + W - R) / 2;
  const series = [
    { key: 'loss', name: 'training loss', side: 'left' },
    { key: 'perplexity', name: 'validation perplexity', side: 'right' },
  ];
  for (const s of series) {
    const own = points.filter((p) => p[s.key] !== null && p[s.key] !== undefined && Number.isFinite(p[s.key]));
    if (!own.length) continue;
    const y = scale(own.map((p) => p[s.key]), H - B, T);
    const coords = own.map((p) => `${x.at(p.step).toFixed(1)},${y.at(p[s.key]).toFixed(1)}`);
    root.append(svg('polyline', { class: s.key === 'loss' ? 'loss' : 'ppl', points: coords.join(' ') }));
    for (const p of own) root.append(svg('circle', { class: `point ${s.key === 'loss' ? 'loss' : 'ppl'}`, cx: x.at(p.step), cy: y.at(p[s.key]), r: 3 }));
    const ax = s.side === 'left' ? L - 4 : W - R + 4;
    const anchor = s.side === 'left' ? 'end' : 'start';
    root.append(svg('text', { x: ax, y: T + 8, 'text-anchor': anchor }, label(y.hi)));
    root.append(svg('text', { x: ax, y: H - B, 'text-anchor': anchor }, label(y.lo)));
  }
  root.append(svg('text', { x: L, y: H - 8 }, `step ${points[0].step}`));
  root.append(svg('text', { x: W - R, y: H - 8, 'text-anchor': 'end' }, `step ${points[points.length - 1].step}`));
  root.append(svg('text', { x: W / 2, y: H - 8, 'text-anchor': 'middle' }, '— training loss (left)   - - validation perplexity (right)'));
  container.replaceChildren(root);
}
