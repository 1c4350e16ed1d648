// Loads the medqa Go module (tokenizer, chat template, metrics) once per page.
// Resolves to an API object, or to null when the module is not built or cannot run:
// every page keeps working without it, only the in-browser extras are missing.
let loading = null;

export function loadMedqa() {
  if (!loading) {
    loading = load().catch((err) => {
      console.warn("medqa wasm module unavailable:", err);
      return null;
    });
  }
  return loading;
}

async function load() {
  const own = servedTokenizer(); // fetched while the module compiles
  if (!globalThis.Go) await import("/wasm/wasm_exec.js");
  const res = await fetch("/wasm/medqa.wasm");
  if (!res.ok) throw new Error(`/wasm/medqa.wasm: HTTP ${res.status}`);
  const go = new globalThis.Go();
  const ready = new Promise((resolve) => { globalThis.medqaReady = resolve; });
  const { instance } = await WebAssembly.instantiateStreaming(res, go.importObject);
  go.run(instance).then(() => console.warn("medqa wasm module exited"));
  await ready;
  const m = globalThis.medqa;
  const files = await own;
  if (files) {
    const r = m.useTokenizer(files.bin, files.config);
    if (r instanceof Error) console.warn("medqa: the served model's tokenizer is unusable here; counting with Qwen2.5's:", r);
  }
  return wrap(m);
}

// The served model's tokenizer (GET /api/tokenizer/…), so that counts and the prompt preview
// match what the server will do; null when the server offers none (the module then uses the
// Qwen2.5 tokenizer it carries).
async function servedTokenizer() {
  try {
    const [b, c] = await Promise.all([fetch("/api/tokenizer/tokenizer.bin"), fetch("/api/tokenizer/tokenizer_config.json")]);
    if (!b.ok || !c.ok) return null;
    return { bin: new Uint8Array(await b.arrayBuffer()), config: await c.text() };
  } catch {
    return null;
  }
}

// The Go side takes and returns JSON strings for structured values (cheaper and simpler than
// walking JS objects through syscall/js) and returns an Error value instead of throwing across
// the boundary; this wrapper turns both into a plain JavaScript API.
function wrap(m) {
  const call = (fn, ...args) => {
    const r = fn(...args);
    if (r instanceof Error) throw r;
    return r;
  };
  return {
    tokenize: (text) => JSON.parse(call(m.tokenize, text)),
    countTokens: (text) => call(m.countTokens, text),
    renderChat: (messages, addGenerationPrompt) =>
      call(m.renderChat, JSON.stringify(messages), Boolean(addGenerationPrompt)),
    decode: (ids) => call(m.decode, JSON.stringify(ids)),
    score: (prediction, references) => JSON.parse(call(m.score, prediction, JSON.stringify(references))),
  };
}
