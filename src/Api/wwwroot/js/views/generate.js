// Generate: a continuation streamed token by token (Server-Sent Events read with fetch); Stop aborts it.
import { events, modelPath } from '../api.js';
import { $, el, showError, fmt } from '../dom.js';

let shared;
let running = null;

export function init(s) {
  shared = s;
  $('gen-start').addEventListener('click', start);
  $('gen-stop').addEventListener('click', () => running?.abort());
}

function number(id) {
  const value = $(id).value.trim();
  return value === '' ? null : Number(value);
}

async function start() {
  const model = shared.model();
  if (!model || running) return;
  showError('gen-error', null);
  const prompt = $('gen-prompt').value;
  const topK = number('gen-topk');
  const body = {
    prompt, stream: true,
    temperature: number('gen-temperature') ?? 1,
    topP: number('gen-topp') ?? 1,
    maxTokens: number('gen-max') ?? 40,
    ignoreEos: $('gen-ignore-eos').checked,
    ...(topK ? { topK } : {}),
    ...(number('gen-seed') !== null ? { seed: number('gen-seed') } : {}),
  };
  const output = $('gen-output');
  const text = el('span', { class: 'generated' });
  output.replaceChildren(el('span', { class: 'prompt' }, prompt), text);
  const controller = new AbortController();
  running = controller;
  $('gen-start').disabled = true;
  $('gen-stop').disabled = false;
  $('gen-status').textContent = 'Generating…';
  let count = 0;
  let logProbability = 0;
  try {
    for await (const item of events('POST', `${modelPath(model)}/generate`, body, { signal: controller.signal })) {
      if (item.event === 'token') {
        text.append(item.data.text);
        count += 1;
        logProbability += item.data.logProbability;
        $('gen-status').textContent = `${count} tokens…`;
      } else if (item.event === 'done') {
        const finish = item.data.completions[0]?.finishReason;
        $('gen-status').textContent = `${count} tokens · ended by ${finish} · mean log-probability ${fmt(logProbability / Math.max(count, 1))}`;
      } else if (item.event === 'error') {
        throw new Error(item.data.detail ?? 'The generation failed.');
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') $('gen-status').textContent = `Stopped after ${count} tokens.`;
    else { showError('gen-error', e); $('gen-status').textContent = ''; }
  } finally {
    running = null;
    $('gen-start').disabled = false;
    $('gen-stop').disabled = true;
  }
}
