// The tokens a model knows, loaded once per model version, so that the Explore view does not ask for the
// distribution after a context the model cannot read (a request the service rightly refuses with a 400).
import { get, modelPath } from './api.js';

const PageSize = 10000;
const cache = new Map();

/** The model's tokens as a Set (cached per model address). */
export function knownTokens(model) {
  if (!cache.has(model)) {
    const load = (async () => {
      const tokens = new Set();
      for (let offset = 0; ; offset += PageSize) {
        const page = await get(`${modelPath(model)}/vocabulary?offset=${offset}&limit=${PageSize}`);
        for (const item of page.items) tokens.add(item.token);
        if (offset + page.items.length >= page.total || page.items.length === 0) {
          tokens.characterLevel = [...tokens].every((t) => t === '<unk>' || t === '<eos>' || [...t].length === 1);
          return tokens;
        }
      }
    })();
    load.catch(() => cache.delete(model));
    cache.set(model, load);
  }
  return cache.get(model);
}

/**
 * Whether the context has a token the model knows, read roughly as the word tokenizer does (whitespace, then
 * letters/digits apart from punctuation, lower case); a character model knows most characters.
 */
export function readable(context, tokens) {
  for (const word of context.split(/\s+/).filter(Boolean)) {
    const pieces = tokens.characterLevel ? [...word] : [word, word.toLowerCase(), ...(word.toLowerCase().match(/[\p{L}\p{N}_'-]+|[^\p{L}\p{N}\s]/gu) ?? [])];
    for (const piece of pieces) {
      if (tokens.has(piece)) return true;
    }
  }
  return false;
}
