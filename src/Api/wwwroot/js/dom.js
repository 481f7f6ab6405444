// Small DOM helpers shared by the views.

export const $ = (id) => document.getElementById(id);

/** Creates an element: el('td', { class: 'x', title: 't' }, child, 'text', ...). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'style' && typeof value === 'object') Object.assign(node.style, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Shows an error (or clears it with null) in a view's alert region. */
export function showError(id, error) {
  const target = $(id);
  if (!error) { target.textContent = ''; return; }
  if (error.name === 'AbortError') return;
  target.textContent = error.message ?? String(error);
  if (error.status === 401) $('api-key').focus();          // the service wants a key: go where it is typed
}

/** Formats a number with a few significant digits. */
export function fmt(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e5 || abs < 1e-3)) return value.toExponential(2);
  return Number(value.toPrecision(digits)).toString();
}

/** Seconds as "1 h 2 min", "3 min 4 s" or "5 s". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

/** Shows a token for people: the line end as ↵. */
export const shown = (token) => (token === '<eos>' ? '↵' : token);

/** A debounced function that runs at most once per `wait` ms after the last call. */
export function debounce(fn, wait) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), wait); };
}

/** A short form of a time-ordered id (UUIDv7: the first digits are the clock, the last ones random). */
export const shortId = (id) => id.slice(-8);
