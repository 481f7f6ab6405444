// Train: upload a text file as a dataset, queue a job with the main settings (defaults shown), and follow it:
// a live chart of training loss and validation perplexity from the job's event stream (read with fetch),
// status, tokens/s and ETA; cancel; the list of jobs.
import { call, get, post, events } from '../api.js';
import { $, el, showError, fmt, duration, shortId } from '../dom.js';
import { draw } from '../chart.js';

// The engine's defaults are the classic word-LM recipe; the smaller presets are for trying things quickly.
const Presets = {
  classic: { cellType: 'lstm', embeddingSize: 200, hiddenSize: 200, layers: 2, dropout: 0.2, optimizer: 'sgd', learningRate: 20, epochs: 6, batchSize: 20, bptt: 35, maxVocabularySize: 10000 },
  small: { cellType: 'lstm', embeddingSize: 64, hiddenSize: 64, layers: 1, dropout: 0.1, optimizer: 'sgd', learningRate: 20, epochs: 3, batchSize: 20, bptt: 20, maxVocabularySize: 5000 },
  tiny: { cellType: 'gru', embeddingSize: 16, hiddenSize: 16, layers: 1, dropout: 0, optimizer: 'adam', learningRate: 0.02, epochs: 1, batchSize: 4, bptt: 8, maxVocabularySize: 1000, extra: { evalBatchSize: 2 } },
};
const Fields = ['cellType', 'embeddingSize', 'hiddenSize', 'layers', 'dropout', 'optimizer', 'learningRate', 'epochs', 'batchSize', 'bptt', 'maxVocabularySize'];
const Terminal = ['succeeded', 'failed', 'cancelled'];

let shared;
let following = null;   // { id, controller, points }

export function init(s) {
  shared = s;
  $('train-preset').addEventListener('change', () => applyPreset($('train-preset').value));
  applyPreset('classic');
  $('train-form').addEventListener('submit', (e) => { e.preventDefault(); queue(); });
  $('job-cancel').addEventListener('click', cancel);
  $('jobs-refresh').addEventListener('click', refreshJobs);
  draw($('job-chart'), []);
}

export function onShow() {
  refreshDatasets();
  refreshJobs();
}

function applyPreset(name) {
  const preset = Presets[name];
  for (const field of Fields) $(`tr-${field}`).value = preset[field];
}

const num = (field) => Number($(`tr-${field}`).value);

async function refreshDatasets() {
  try {
    const list = await get('/api/datasets?limit=100');
    const select = $('train-dataset');
    const previous = select.value;
    select.replaceChildren(el('option', { value: '' }, '(upload a file)'),
      ...list.items.map((d) => el('option', { value: d.id }, `${d.name} · ${d.words} words · ${shortId(d.id)}`)));
    if ([...select.options].some((o) => o.value === previous)) select.value = previous;
  } catch (e) {
    showError('train-error', e);
  }
}

async function datasetId() {
  const file = $('train-file').files[0];
  if (!file) {
    const chosen = $('train-dataset').value;
    if (!chosen) throw new Error('Choose a text file to upload, or a dataset uploaded before.');
    return chosen;
  }
  $('train-note').textContent = `Uploading ${file.name}…`;
  const form = new FormData();
  form.append('name', file.name.replace(/\.[^.]*$/, '') || 'upload');
  form.append('file', file, file.name);
  const dataset = await post('/api/datasets', form);
  $('train-file').value = '';
  await refreshDatasets();
  $('train-dataset').value = dataset.id;
  return dataset.id;
}

async function queue() {
  showError('train-error', null);
  $('train-queue').disabled = true;
  try {
    const id = await datasetId();
    const preset = Presets[$('train-preset').value];
    const job = await post('/api/training-jobs', {
      datasetId: id,
      modelName: $('tr-modelName').value.trim(),
      promote: $('tr-promote').checked,
      tokenizer: { kind: 'word', maxVocabularySize: num('maxVocabularySize') },
      model: { cellType: $('tr-cellType').value, embeddingSize: num('embeddingSize'), hiddenSize: num('hiddenSize'), layers: num('layers'), dropout: num('dropout') },
      training: { optimizer: $('tr-optimizer').value, learningRate: num('learningRate'), epochs: num('epochs'), batchSize: num('batchSize'), bptt: num('bptt'), ...(preset.extra ?? {}) },
    });
    $('train-note').textContent = `Queued job ${shortId(job.id)}.`;
    follow(job.id);
    refreshJobs();
  } catch (e) {
    $('train-note').textContent = '';
    showError('train-error', e);
  } finally {
    $('train-queue').disabled = false;
  }
}

async function follow(id) {
  following?.controller.abort();
  const state = { id, controller: new AbortController(), points: [] };
  following = state;
  showError('job-error', null);
  $('job-id').textContent = shortId(id);
  $('job-id').title = id;
  draw($('job-chart'), []);
  await showJob(id);
  const poll = setInterval(() => showJob(id), 2000);
  try {
    for await (const item of events('GET', `/api/training-jobs/${encodeURIComponent(id)}/events`, undefined, { signal: state.controller.signal })) {
      if (item.event === 'progress') {
        const p = item.data;
        state.points.push({ step: p.step, loss: p.trainLoss, perplexity: p.validPerplexity });
        draw($('job-chart'), state.points);
      } else if (item.event === 'status') {
        $('job-status').textContent = item.data.status;
        if (Terminal.includes(item.data.status)) break;
      }
    }
  } catch (e) {
    if (e.name !== 'AbortError') showError('job-error', e);
  } finally {
    clearInterval(poll);
    if (following === state) await showJob(id);
    refreshJobs();
    shared.refreshModels();
  }
}

async function showJob(id) {
  try {
    const job = await get(`/api/training-jobs/${encodeURIComponent(id)}`);
    if (following?.id !== id) return;
    const p = job.progress;
    const status = $('job-status');
    status.textContent = job.status + (job.failureReason ? `: ${job.failureReason}` : '');
    status.className = `status-${job.status}`;
    $('job-epoch').textContent = p.totalEpochs ? `${p.epoch} of ${p.totalEpochs} · step ${p.step} of ${p.totalSteps}` : '—';
    $('job-speed').textContent = p.tokensPerSecond ? fmt(p.tokensPerSecond, 4) : '—';
    $('job-eta').textContent = job.status === 'running' ? duration(p.etaSeconds) : '—';
    $('job-test').textContent = job.testPerplexity ? `${fmt(job.testPerplexity, 4)}${job.producedModel ? ` (${job.producedModel.ref})` : ''}` : '—';
    $('job-cancel').disabled = Terminal.includes(job.status);
  } catch (e) {
    showError('job-error', e);
  }
}

async function cancel() {
  if (!following) return;
  try {
    await call('POST', `/api/training-jobs/${encodeURIComponent(following.id)}/cancel`);
    await showJob(following.id);
  } catch (e) {
    showError('job-error', e);
  }
}

async function refreshJobs() {
  try {
    const list = await get('/api/training-jobs?limit=20');
    $('jobs-body').replaceChildren(...list.items.map((job) => el('tr', {},
      el('td', { class: 'mono', title: job.id }, shortId(job.id)),
      el('td', {}, job.producedModel?.ref ?? job.modelName),
      el('td', { class: `status-${job.status}` }, job.status),
      el('td', {}, job.progress.totalEpochs ? `epoch ${job.progress.epoch}/${job.progress.totalEpochs}` : ''),
      el('td', {}, el('button', { class: 'small', onclick: () => follow(job.id) }, 'Follow')))));
  } catch (e) {
    showError('job-error', e);
  }
}
