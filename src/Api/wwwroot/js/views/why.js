// Why: each context word's contribution to the predicted word, as bars over the text, by both methods;
// and the words whose embeddings are nearest a word.
import { get, post, modelPath } from '../api.js';
import { $, el, showError, fmt, shown } from '../dom.js';

let shared;

export function init(s) {
  shared = s;
  $('why-run').addEventListener('click', explain);
  $('why-context').addEventListener('keydown', (e) => { if (e.key === 'Enter') explain(); });
  $('why-target').addEventListener('keydown', (e) => { if (e.key === 'Enter') explain(); });
  $('nb-run').addEventListener('click', neighbours);
  $('nb-word').addEventListener('keydown', (e) => { if (e.key === 'Enter') neighbours(); });
}

export function onShow() {}

async function explain() {
  const model = shared.model();
  if (!model) return;
  showError('why-error', null);
  const target = $('why-target').value.trim();
  try {
    const result = await post(`${modelPath(model)}/explain`, { context: $('why-context').value, ...(target ? { target } : {}) });
    $('why-summary').textContent =
      `${result.model} ${result.targetWasPredicted ? 'predicts' : 'gives'} "${shown(result.target)}" probability ${fmt(100 * result.targetProbability)} %`;
    $('why-bars').replaceChildren(...result.methods.map((m) => row(m, result.tokens)));
  } catch (e) {
    showError('why-error', e);
  }
}

function row(method, tokens) {
  const values = tokens.map((t) => t[method.name]);
  const max = Math.max(1e-9, ...values.map(Math.abs));
  const cells = tokens.map((t, i) => {
    const v = values[i];
    const height = `${(100 * Math.abs(v)) / max}%`;
    const bar = el('div', { class: 'attr-bar', style: { height, background: v >= 0 ? 'var(--good)' : 'var(--bad)' } });
    return el('div', { class: 'attr-cell', title: `${shown(t.token)}: ${fmt(v)} nats` },
      el('div', { class: 'attr-track' }, v >= 0 ? bar : null),
      el('div', { class: 'attr-word' }, shown(t.token)),
      el('div', { class: 'attr-track neg' }, v < 0 ? bar : null),
      el('div', { class: 'attr-value' }, fmt(v, 2)));
  });
  return el('div', { class: 'attribution', 'data-method': method.name },
    el('h3', { title: method.description }, method.name === 'occlusion' ? 'Occlusion (replace by <unk>)' : 'Gradient × input'),
    el('div', { class: 'attr-row' }, cells));
}

async function neighbours() {
  const model = shared.model();
  if (!model) return;
  showError('nb-error', null);
  const word = $('nb-word').value.trim();
  const k = $('nb-k').value || '8';
  try {
    const result = await get(`${modelPath(model)}/neighbours?word=${encodeURIComponent(word)}&k=${encodeURIComponent(k)}`);
    $('nb-list').replaceChildren(...result.neighbours.map((n) => el('li', {}, `${shown(n.word)} `, el('span', { class: 'note' }, `cosine ${fmt(n.cosine)}`))));
  } catch (e) {
    $('nb-list').replaceChildren();
    showError('nb-error', e);
  }
}
