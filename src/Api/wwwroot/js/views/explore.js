// Explore: the next-word distribution as bars that follow the context as it is typed.
import { post, modelPath } from '../api.js';
import { $, el, showError, fmt, shown, debounce } from '../dom.js';
import { knownTokens, readable } from '../vocabulary.js';

let shared;
let inFlight = null;

export function init(s) {
  shared = s;
  const context = $('explore-context');
  const update = debounce(refresh, 120);
  context.addEventListener('input', update);
  shared.onModelsChanged(() => refresh());
}

export function onShow() { refresh(); }

async function refresh() {
  const model = shared.model();
  const context = $('explore-context').value;
  inFlight?.abort();
  if (!model) return;
  if (!context.trim()) {
    $('explore-bars').replaceChildren();
    $('explore-stats').textContent = 'Type a few words.';
    showError('explore-error', null);
    return;
  }
  const controller = new AbortController();
  inFlight = controller;
  try {
    if (!readable(context, await knownTokens(model))) {
      if (controller.signal.aborted) return;
      $('explore-bars').replaceChildren();
      delete $('explore-bars').dataset.context;
      $('explore-stats').textContent = 'None of these words is in the model\'s vocabulary yet: keep typing.';
      showError('explore-error', null);
      return;
    }
    const result = await post(`${modelPath(model)}/next-word`, { context, topK: 12 }, { signal: controller.signal });
    if (controller.signal.aborted) return;
    render(result, context);
    showError('explore-error', null);
  } catch (e) {
    if (!controller.signal.aborted) showError('explore-error', e);
  }
}

function render(result, context) {
  const max = result.words[0]?.probability ?? 1;
  const rows = result.words.flatMap((w) => [
    el('button', { class: 'word', title: `append "${shown(w.word)}"`, onclick: () => append(w.word) }, shown(w.word)),
    el('div', { class: 'bar', style: { width: `${(100 * w.probability) / max}%` }, role: 'img', 'aria-label': `${fmt(100 * w.probability)} percent` }),
    el('span', { class: 'pct' }, `${fmt(100 * w.probability, 3)} %`),
  ]);
  $('explore-bars').replaceChildren(...rows);
  $('explore-bars').dataset.context = context;
  const unknown = result.unknownContextWords.length ? ` · not in the vocabulary: ${result.unknownContextWords.join(', ')}` : '';
  $('explore-stats').textContent =
    `${result.model} · entropy ${fmt(result.entropy)} nats (${fmt(result.entropy / Math.LN2)} bits)${unknown}`;
}

function append(word) {
  const context = $('explore-context');
  const text = context.value;
  context.value = word === '<eos>' ? `${text}\n` : `${text}${/\s$/.test(text) || !text ? '' : ' '}${word}`;
  context.dispatchEvent(new Event('input'));
  context.focus();
}
