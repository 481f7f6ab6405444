// Neurons: a heat map of chosen recurrent units over a text, the most varying units and the mean gate activations.
import { post, modelPath } from '../api.js';
import { $, el, showError, fmt, shown } from '../dom.js';

let shared;

export function init(s) {
  shared = s;
  $('nr-run').addEventListener('click', run);
}

/** Blue for negative, white for 0, red for positive; |v| ≥ 1 is full colour (tanh-bounded hidden values). */
const colour = (v) => {
  const a = Math.min(1, Math.abs(v));
  return v >= 0 ? `hsl(0 75% ${Math.round(100 - 45 * a)}%)` : `hsl(215 75% ${Math.round(100 - 45 * a)}%)`;
};

function units() {
  const text = $('nr-units').value.trim();
  if (!text) return null;
  return text.split(/[\s,]+/).filter(Boolean).map(Number);
}

async function run() {
  const model = shared.model();
  if (!model) return;
  showError('nr-error', null);
  const layer = $('nr-layer').value.trim();
  const chosen = units();
  if (chosen?.some((u) => !Number.isInteger(u))) {
    showError('nr-error', new Error('Units must be whole numbers separated by commas or spaces.'));
    return;
  }
  try {
    const result = await post(`${modelPath(model)}/activations`, {
      text: $('nr-text').value,
      ...(layer !== '' ? { layer: Number(layer) } : {}),
      ...(chosen ? { units: chosen } : {}),
      top: 12,
    });
    $('nr-layer').max = String(result.layers - 1);
    $('nr-layer').placeholder = `last (${result.layers - 1})`;
    render(result);
  } catch (e) {
    showError('nr-error', e);
  }
}

function render(result) {
  const cell = $('nr-cell').checked && result.cellType === 'lstm';
  const head = el('tr', {}, el('th', {}, `layer ${result.layer}`), result.tokens.map((t) => el('th', { scope: 'col' }, shown(t))));
  const rows = result.units.map((u) => {
    const values = cell ? u.cell : u.hidden;
    return el('tr', {},
      el('th', { scope: 'row' }, `unit ${u.unit}`),
      values.map((v, i) => el('td', { style: { background: colour(v) }, title: `unit ${u.unit} after "${shown(result.tokens[i])}": ${fmt(v)}` })));
  });
  $('nr-heatmap').replaceChildren(el('table', { class: 'heatmap', 'aria-label': `${cell ? 'cell' : 'hidden'} values per unit and token` },
    el('thead', {}, head), el('tbody', {}, rows)));
  $('nr-varying').replaceChildren(...result.mostVarying.map((v) =>
    el('li', {}, `unit ${v.unit} `, el('span', { class: 'note' }, `σ ${fmt(v.standardDeviation)} · mean ${fmt(v.mean)}`))));
  const gates = result.gates.flatMap((g) => [
    el('div', { class: 'note' }, `layer ${g.layer}`),
    ...Object.entries(g.means).map(([name, mean]) => el('div', { class: 'gate' },
      el('span', {}, name), el('div', { class: 'bar', style: { width: `${100 * mean}%` } }), el('span', {}, fmt(mean)))),
  ]);
  $('nr-gates').replaceChildren(...(gates.length ? gates : [el('p', { class: 'note' }, `A ${result.cellType} cell has no gates.`)]));
}
