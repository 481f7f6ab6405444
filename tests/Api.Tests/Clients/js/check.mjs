// The official OpenAI JavaScript client (npm "openai") against the service's /v1, with an API key:
// models, completions, streaming, echo with logprobs, chat (whole and streamed), and the errors it raises.
// Run by tests/Api.Tests/Clients/OfficialClientTests.cs as: node check.mjs <baseUrl>/v1 <model>, the key in RNNLM_API_KEY.
// Prints one JSON object with what it saw; exits 1 on the first failed assertion.
import assert from "node:assert/strict";
import OpenAI from "openai";

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: process.env.RNNLM_API_KEY, maxRetries: 0, timeout: 60_000 });
const seen = {};

const models = await client.models.list();
seen.models = models.data.map(m => m.id);
assert.ok(seen.models.includes(model), `models lists ${model}`);
assert.equal((await client.models.retrieve(model)).id, model);

const body = { model, prompt: "the old dog", max_tokens: 6, seed: 3, temperature: 0.8 };
const whole = await client.completions.create(body);
seen.completion = whole.choices[0].text;
assert.equal(whole.object, "text_completion");
assert.ok(["stop", "length"].includes(whole.choices[0].finish_reason));
assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);

let streamed = "";
let usage = null;
for await (const chunk of await client.completions.create({ ...body, stream: true, stream_options: { include_usage: true } })) {
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) streamed += c.text;
}
seen.streamed = streamed;
assert.equal(streamed, whole.choices[0].text, "a stream with the same seed spells the same text");
assert.deepEqual(usage, whole.usage);

const echo = await client.completions.create({ model, prompt: "the cat slept .", max_tokens: 0, echo: true, logprobs: 2 });
const lp = echo.choices[0].logprobs;
seen.echo = lp;
assert.equal(echo.choices[0].text, "the cat slept .");
assert.deepEqual(lp.tokens, ["the", "cat", "slept", "."]);
assert.equal(lp.token_logprobs[0], null);
assert.equal(lp.top_logprobs[0], null);
for (let i = 1; i < lp.tokens.length; i++) {
  assert.equal(Object.keys(lp.top_logprobs[i]).length, 2);
  assert.ok(Math.max(...Object.values(lp.top_logprobs[i])) >= lp.token_logprobs[i] - 1e-9);
}

const messages = [{ role: "system", content: "the cat slept on the mat ." }, { role: "user", content: "the dog" }];
const chat = await client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0 });
seen.chat = chat.choices[0].message;
assert.equal(chat.object, "chat.completion");
assert.equal(chat.choices[0].message.role, "assistant");
assert.equal(typeof chat.choices[0].message.content, "string");
assert.ok(["stop", "length"].includes(chat.choices[0].finish_reason));
let chatStreamed = "";
let finish = null;
for await (const chunk of await client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0, stream: true })) {
  for (const c of chunk.choices) {
    chatStreamed += c.delta.content ?? "";
    finish = c.finish_reason ?? finish;
  }
}
assert.equal(chatStreamed, chat.choices[0].message.content);
assert.equal(finish, chat.choices[0].finish_reason);

try {
  await client.completions.create({ model, prompt: "the", logit_bias: { "999999": -100 } });
  assert.fail("an unknown logit_bias id must be refused");
} catch (e) {
  assert.ok(e instanceof OpenAI.BadRequestError, String(e));
  assert.equal(e.param ?? e.error?.param, "logit_bias");
}
try {
  await new OpenAI({ baseURL, apiKey: "not-a-key-0123456789", maxRetries: 0 }).models.list();
  assert.fail("a wrong key must be refused");
} catch (e) {
  assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
  seen.unauthorized = e.code ?? e.error?.code;
}
console.log(JSON.stringify(seen));
