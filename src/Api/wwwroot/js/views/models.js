// Models: every version with its metrics; load, unload, set as default, delete (after a confirmation);
// the chosen model's vocabulary, paged.
import { call, get, modelPath } from '../api.js';
import { $, el, showError, fmt, shown } from '../dom.js';

const PageSize = 200;
let shared;
let vocabularyOffset = 0;

export function init(s) {
  shared = s;
  $('models-refresh').addEventListener('click', () => shared.refreshModels());
  shared.onModelsChanged((list) => { render(list); vocabularyOffset = 0; if (!$('view-models').hidden) vocabulary(); });
  $('vocab-prev').addEventListener('click', () => { vocabularyOffset = Math.max(0, vocabularyOffset - PageSize); vocabulary(); });
  $('vocab-next').addEventListener('click', () => { vocabularyOffset += PageSize; vocabulary(); });
}

export function onShow() {
  shared.refreshModels();
}

function metrics(m) {
  if (!m) return '—';
  const parts = [];
  if (m.testPerplexity !== undefined) parts.push(`test ppl ${fmt(m.testPerplexity, 4)}`);
  if (m.bestValidPerplexity !== undefined) parts.push(`valid ppl ${fmt(m.bestValidPerplexity, 4)}`);
  if (m.epochs !== undefined) parts.push(`${m.epochs} epochs`);
  if (m.trainTokens !== undefined) parts.push(`${m.trainTokens} train tokens`);
  return parts.join(' · ') || '—';
}

function render(list) {
  if (!list) return;
  const rows = list.models.flatMap((m) => m.versions.map((v) => el('tr', {},
    el('td', { class: 'mono' }, v.id, m.isDefault && m.resolvesTo === v.version ? el('span', { class: 'note' }, ' (default)') : null),
    el('td', {}, new Date(v.createdAt).toLocaleString()),
    el('td', {}, [v.loaded ? 'loaded' : 'not loaded', m.resolvesTo === v.version ? `"${m.name}" resolves here` : null].filter(Boolean).join(' · ')),
    el('td', {}, metrics(v.metrics)),
    el('td', {}, el('div', { class: 'actions' },
      v.loaded
        ? el('button', { class: 'small', onclick: () => act('POST', `${modelPath(v.id)}/unload`, `Unloaded ${v.id}.`) }, 'Unload')
        : el('button', { class: 'small', onclick: () => act('POST', `${modelPath(v.id)}/load`, `Loaded ${v.id}.`) }, 'Load'),
      el('button', { class: 'small', onclick: () => act('PUT', `${modelPath(v.id)}/default`, `${v.id} is the default model.`) }, 'Set default'),
      el('button', { class: 'small danger', onclick: () => remove(v.id) }, 'Delete'))))));
  $('models-body').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '5' }, 'No models yet.'))]));
}

async function act(method, path, done) {
  showError('models-error', null);
  $('models-note').textContent = 'Working…';
  try {
    await call(method, path);
    $('models-note').textContent = done;
  } catch (e) {
    $('models-note').textContent = '';
    showError('models-error', e);
  }
  await shared.refreshModels();
}

function remove(id) {
  if (!window.confirm(`Delete ${id}? Its files are removed and it cannot be undone.`)) return;
  act('DELETE', modelPath(id), `Deleted ${id}.`);
}

async function vocabulary() {
  const model = shared.model();
  if (!model) return;
  $('vocab-model').textContent = model;
  try {
    const page = await get(`${modelPath(model)}/vocabulary?offset=${vocabularyOffset}&limit=${PageSize}`);
    if (page.items.length === 0 && vocabularyOffset > 0) { vocabularyOffset = Math.max(0, vocabularyOffset - PageSize); return; }
    const list = $('vocab-list');
    list.start = page.offset;
    list.replaceChildren(...page.items.map((i) => el('li', { value: String(i.id) }, shown(i.token),
      i.count !== null && i.count !== undefined ? el('span', { class: 'note' }, ` ×${i.count}`) : null)));
    $('vocab-range').textContent = `ids ${page.offset}–${page.offset + page.items.length - 1} of ${page.total}, most frequent first`
      + (page.countsStored ? ' (×: times in the training text)' : ' (this model was saved without its training counts)');
    $('vocab-prev').disabled = page.offset === 0;
    $('vocab-next').disabled = page.offset + page.items.length >= page.total;
  } catch (e) {
    showError('models-error', e);
  }
}
