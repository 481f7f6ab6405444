// The playground: tabs, the model picker and the API key field; each view lives in js/views/.
import { get, apiKey } from './js/api.js';
import { $, el, showError } from './js/dom.js';
import * as explore from './js/views/explore.js';
import * as generate from './js/views/generate.js';
import * as read from './js/views/read.js';
import * as why from './js/views/why.js';
import * as neurons from './js/views/neurons.js';
import * as train from './js/views/train.js';
import * as models from './js/views/models.js';

const views = { explore, generate, read, why, neurons, train, models };

/** What the views share: the chosen model and the model list. */
const shared = {
  list: null,
  listeners: [],
  model: () => $('model').value,
  onModelsChanged(listener) { this.listeners.push(listener); },
  refreshModels,
};

async function refreshModels() {
  const select = $('model');
  const note = $('model-note');
  try {
    const list = await get('/api/models');
    shared.list = list;
    const previous = select.value;
    const options = [];
    for (const m of list.models) {
      options.push(el('option', { value: m.name }, `${m.name} (v${m.resolvesTo}${m.isDefault ? ', default' : ''})`));
      for (const v of m.versions) options.push(el('option', { value: v.id }, `  ${v.id}`));
    }
    select.replaceChildren(...options);
    const wanted = [previous, list.defaultModel, list.models[0]?.name].find((name) => name && options.some((o) => o.value === name));
    if (wanted) select.value = wanted;
    note.textContent = list.models.length ? '' : 'No model yet: the starter model may still be training. Retrying…';
    if (!list.models.length) setTimeout(refreshModels, 3000);
    for (const listener of shared.listeners) listener(list);
  } catch (e) {
    note.textContent = `Models could not be listed: ${e.message}`;
    setTimeout(refreshModels, 5000);
  }
}

function selectTab(name, focus = false) {
  for (const tab of document.querySelectorAll('[role=tab]')) {
    const selected = tab.id === `tab-${name}`;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    if (selected && focus) tab.focus();
    $(tab.getAttribute('aria-controls')).hidden = !selected;
  }
  history.replaceState(null, '', `#${name}`);
  views[name].onShow?.();
}

function setUpTabs() {
  const tabs = [...document.querySelectorAll('[role=tab]')];
  const names = tabs.map((t) => t.id.slice(4));
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => selectTab(names[i]));
    tab.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (step) selectTab(names[(i + step + names.length) % names.length], true);
      else if (e.key === 'Home') selectTab(names[0], true);
      else if (e.key === 'End') selectTab(names[names.length - 1], true);
    });
  });
  const start = location.hash.slice(1);
  selectTab(names.includes(start) ? start : 'explore');
}

function setUpKey() {
  const input = $('api-key');
  input.value = apiKey.get();
  input.addEventListener('change', () => {
    apiKey.set(input.value.trim());
    refreshModels();
  });
}

window.addEventListener('unhandledrejection', (e) => {
  // A failed call that a view did not catch: show it instead of leaving it in the console.
  if (e.reason?.name === 'AbortError') { e.preventDefault(); return; }
  e.preventDefault();
  showError('model-note', e.reason);
});

setUpKey();
for (const view of Object.values(views)) view.init(shared);
setUpTabs();
$('model').addEventListener('change', () => {
  for (const listener of shared.listeners) listener(shared.list);
});
refreshModels();
