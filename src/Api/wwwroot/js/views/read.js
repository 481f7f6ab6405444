// Read: every token of a text coloured by its surprisal, with rank, entropy and alternatives on hover or focus;
// the text's perplexity; a second model side by side. Uses surprisalBits when the service sends it, else
// −logProbability / ln 2 (the same number).
import { post, modelPath } from '../api.js';
import { $, el, showError, fmt, shown } from '../dom.js';

const MaxBits = 14;
let shared;

export function init(s) {
  shared = s;
  $('read-run').addEventListener('click', run);
  shared.onModelsChanged((list) => {
    const select = $('read-second');
    const previous = select.value;
    const options = [el('option', { value: '' }, '(no second model)')];
    for (const m of list?.models ?? []) for (const v of m.versions) options.push(el('option', { value: v.id }, v.id));
    select.replaceChildren(...options);
    if (options.some((o) => o.value === previous)) select.value = previous;
  });
}

export function onShow() {}

/** Surprisal in bits of one scored token. */
export const bitsOf = (token) => token.surprisalBits ?? -token.logProbability / Math.LN2;

const colour = (bits) => `hsl(${Math.round(120 * (1 - Math.min(bits, MaxBits) / MaxBits))} 65% 82%)`;

async function run() {
  const text = $('read-text').value;
  const models = [shared.model(), $('read-second').value].filter(Boolean);
  showError('read-error', null);
  if (!models.length) return;
  $('read-run').disabled = true;
  try {
    const results = await Promise.all(models.map((m) => post(`${modelPath(m)}/score`, { text, topK: 5 })));
    $('read-panes').replaceChildren(...results.map(pane));
  } catch (e) {
    showError('read-error', e);
  } finally {
    $('read-run').disabled = false;
  }
}

function pane(result) {
  const tokens = result.tokens.map((t) => {
    const bits = bitsOf(t);
    const span = el('span', {
      class: `token${t.inVocabulary === false ? ' unknown' : ''}`,
      tabindex: '0',
      style: { backgroundColor: colour(bits) },
      'data-bits': bits.toFixed(3),
      'aria-label': `${t.token}: ${fmt(bits)} bits`,
    }, shown(t.token));
    span.addEventListener('mouseenter', () => tip(span, t));
    span.addEventListener('focus', () => tip(span, t));
    span.addEventListener('mouseleave', hideTip);
    span.addEventListener('blur', hideTip);
    return t.token === '<eos>' ? [span, el('br')] : [span];
  });
  return el('div', { class: 'pane' },
    el('h3', {}, `${result.model} · perplexity ${fmt(result.perplexity, 4)} · ${result.tokens.length} tokens`),
    el('div', { class: 'tokens' }, tokens.flat()));
}

function tip(anchor, t) {
  const rows = [['surprisal', `${fmt(bitsOf(t))} bits`], ['probability', fmt(Math.exp(t.logProbability))]];
  if (t.rank !== undefined) rows.push(['rank', t.rank]);
  if (t.entropyBits !== undefined) rows.push(['entropy', `${fmt(t.entropyBits)} bits`]);
  if (t.inVocabulary === false) rows.push(['', 'not in the vocabulary (read as <unk>)']);
  const alternatives = t.alternatives?.length
    ? el('div', {}, el('strong', {}, 'alternatives: '), t.alternatives.map((a) => `${shown(a.word)} ${fmt(100 * a.probability, 2)} %`).join(', '))
    : null;
  const box = $('tooltip');
  box.replaceChildren(...[el('strong', {}, shown(t.token)), el('table', {}, rows.map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', {}, v)))), alternatives].filter(Boolean));
  box.hidden = false;
  const r = anchor.getBoundingClientRect();
  box.style.left = `${Math.min(r.left, window.innerWidth - 360)}px`;
  box.style.top = `${r.bottom + 6}px`;
}

function hideTip() { $('tooltip').hidden = true; }
