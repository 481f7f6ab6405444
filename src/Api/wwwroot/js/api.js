// Calls to the service: JSON in and out, problem+json turned into sentences, Server-Sent Events read with fetch
// (EventSource cannot send the Authorization header). The API key lives in sessionStorage only, never in a URL.

const KEY = 'rnnlm.apiKey';

export const apiKey = {
  get: () => sessionStorage.getItem(KEY) ?? '',
  set: (value) => value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY),
};

/** An API failure with a message a person can read. */
export class ApiError extends Error {
  constructor(status, message, problem = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

function headers(extra = {}) {
  const h = { ...extra };
  const key = apiKey.get();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

/** Words for a failed response: the problem's detail and the fields it names. */
function describe(status, problem) {
  if (status === 401) return 'The service needs an API key: enter one in the "API key" field at the top.';
  if (status === 403) return 'This API key is not allowed to do that.';
  if (!problem) return `The service answered ${status} without an explanation.`;
  const fields = problem.errors ? Object.entries(problem.errors).map(([f, reasons]) => `${f}: ${[].concat(reasons).join(' ')}`) : [];
  const detail = problem.detail ?? problem.title ?? `error ${status}`;
  const extra = fields.filter((f) => !f.endsWith(detail)).join('; ');
  const retry = status === 429 || status === 503 ? ' Try again in a moment.' : '';
  return `${detail}${extra ? ` (${extra})` : ''}${retry}`;
}

async function send(method, path, body, { signal, accept } = {}) {
  const init = { method, headers: headers(accept ? { Accept: accept } : {}), signal };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The service cannot be reached. Is it running?');
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, describe(response.status, problem), problem);
  }
  return response;
}

/** Sends a request and returns the parsed JSON (null for 204). */
export async function call(method, path, body, options) {
  const response = await send(method, path, body, options);
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') ?? '';
  return type.includes('json') ? response.json() : response.text();
}

export const get = (path, options) => call('GET', path, undefined, options);
export const post = (path, body, options) => call('POST', path, body, options);

/**
 * Reads a Server-Sent Events response as { event, data, id } objects (data parsed as JSON when it is JSON).
 * Aborting the signal stops the read and closes the connection.
 */
export async function* events(method, path, body, { signal } = {}) {
  const response = await send(method, path, body, { signal, accept: 'text/event-stream' });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const item = parseEvent(block);
        if (item) yield item;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function parseEvent(block) {
  let event = 'message', id = null;
  const data = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  if (data.length === 0) return null;
  const text = data.join('\n');
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* plain text */ }
  return { event, data: parsed, id };
}

/** The model path segment. */
export const modelPath = (model) => `/api/models/${encodeURIComponent(model)}`;
