// A stock OpenAI client (the official Node library) against the service's /v1: lists models, completes,
// streams and reads errors. Run the API (make run), then: npm install openai && RNNLM_API_KEY=<key> node check.mjs [baseUrl]
// (the tested version of this check, with assertions, is tests/Api.Tests/Clients/js/check.mjs).
import OpenAI from "openai";
const client = new OpenAI({ baseURL: process.argv[2] ?? "http://127.0.0.1:5000/v1", apiKey: process.env.RNNLM_API_KEY ?? "unused" });
const models = await client.models.list();
console.log("models:", models.data.map(m => m.id));
const c = await client.completions.create({ model: "starter", prompt: "once upon a time", max_tokens: 8, seed: 1, logprobs: 2 });
console.log("completion:", JSON.stringify(c.choices[0].text), c.choices[0].finish_reason, c.usage);
const stream = await client.completions.create({ model: "starter", prompt: "the old cat", max_tokens: 6, stream: true });
let text = "";
for await (const chunk of stream) text += chunk.choices[0].text;
console.log("streamed:", JSON.stringify(text));
try { await client.completions.create({ model: "starter", prompt: "x", max_tokens: 100000 }); }
catch (e) { console.log("error:", e.status, e.error?.param, e.error?.type, e.message); }
try { await client.completions.create({ model: "nope", prompt: "x" }); }
catch (e) { console.log("error:", e.status, e.error?.param, e.error?.code); }
