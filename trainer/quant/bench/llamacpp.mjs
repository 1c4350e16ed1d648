// Times llama.cpp on a GGUF file the way bench.sh times medqa: prefill of a
// 512-token prompt, and greedy decoding of 128 tokens after a 128-token
// prompt, on a fixed number of threads. llama.cpp is node-llama-cpp's
// prebuilt library (it picks the CPU variant for this machine at load, e.g.
// libggml-cpu-zen4.so); the JavaScript around each token costs microseconds
// next to the milliseconds of a forward pass.
//
// usage: node llamacpp.mjs FILE.gguf THREADS   → one JSON line
import {getLlama} from "node-llama-cpp";

const [, , path, threads] = process.argv;
const llama = await getLlama({gpu: false, build: "never", logLevel: "error", maxThreads: Number(threads)});
const model = await llama.loadModel({modelPath: path});
const ctx = await model.createContext({contextSize: 1024, batchSize: 512, threads: Number(threads)});
const seq = ctx.getSequence();
// The same ids medqa gets: 7919·i+13 mod the vocabulary.
const ids = (n) => Array.from({length: n}, (_, i) => (7919 * i + 13) % 151936);

await seq.evaluateWithoutGeneratingNewTokens(ids(16)); // warm-up
await seq.clearHistory();
let t0 = performance.now();
await seq.evaluateWithoutGeneratingNewTokens(ids(512));
const prefill = 512 / ((performance.now() - t0) / 1000);
await seq.clearHistory();

let n = 0, first = 0;
for await (const id of seq.evaluate(ids(128), {temperature: 0})) {
  if (n === 0) first = performance.now();
  if (++n > 128) break;
}
const decode = 128 / ((performance.now() - first) / 1000);
console.log(JSON.stringify({prefill_tok_s: prefill, decode_tok_s: decode}));
await llama.dispose();
