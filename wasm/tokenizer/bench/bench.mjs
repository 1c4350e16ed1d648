// Encodes the answers bench.sh extracted with transformers.js, the way the
// Go side does (one answer at a time, no special tokens), and prints one
// RESULT line with the same fields and checksum as main.go.
// Usage: node bench.mjs TOKENIZER_DIR ANSWERS_JSON [PASSES]
import { AutoTokenizer, env } from "@huggingface/transformers";
import fs from "node:fs";
import path from "node:path";

const [dir, answersPath, passesArg] = process.argv.slice(2);
const passes = Number(passesArg ?? 3);
env.allowRemoteModels = false;
env.localModelPath = "/";

const answers = JSON.parse(fs.readFileSync(answersPath, "utf8"));
const bytes = answers.reduce((n, a) => n + Buffer.byteLength(a), 0);
let t0 = performance.now();
const tok = await AutoTokenizer.from_pretrained(path.resolve(dir));
const load = performance.now() - t0;

let first = 0, best = Infinity, firstCPU = 0, bestCPU = Infinity, tokens = 0, sum = 0;
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (let p = 0; p < passes; p++) {
  tokens = 0;
  sum = 0;
  t0 = performance.now();
  const c0 = cpuMs();
  for (const a of answers) {
    const ids = tok.encode(a, { add_special_tokens: false });
    tokens += ids.length;
    for (const id of ids) sum = (Math.imul(sum, 31) + id) >>> 0;
  }
  const d = performance.now() - t0, dCPU = cpuMs() - c0;
  if (p === 0) [first, firstCPU] = [d, dCPU];
  best = Math.min(best, d);
  bestCPU = Math.min(bestCPU, dCPU);
}
const mb = bytes / 1e6;
console.log(`RESULT transformers.js answers=${answers.length} bytes=${bytes} load_ms=${load.toFixed(1)} ` +
  `cold_MBps=${(mb / (first / 1000)).toFixed(2)} warm_MBps=${(mb / (best / 1000)).toFixed(2)} ` +
  `cold_cpu_MBps=${(mb / (firstCPU / 1000)).toFixed(2)} warm_cpu_MBps=${(mb / (bestCPU / 1000)).toFixed(2)} ` +
  `tokens=${tokens} checksum=${sum}`);
