// Makes random.json.gz, the differential regression set: random texts from
// gen_random.py encoded, and random id sequences decoded, by transformers.js.
// Usage (where @huggingface/transformers is installed):
//   python3 gen_random.py 3000 11 && node gen_random.mjs TOKENIZER_DIR texts.json
import { AutoTokenizer, env } from "@huggingface/transformers";
import fs from "node:fs";
import zlib from "node:zlib";

env.allowRemoteModels = false;
env.localModelPath = "/";
const tok = await AutoTokenizer.from_pretrained(process.argv[2]);
const texts = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const ids = texts.map((t) => tok.encode(t, { add_special_tokens: false }));

// Id sequences that cut characters mid-way and mix in added tokens.
let seed = 5;
const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
const decode_ids = [];
for (let i = 0; i < 2000; i++) {
  const s = [];
  for (let n = 1 + rand(12); n > 0; n--) {
    const r = rand(10);
    s.push(r < 5 ? rand(256) : r < 9 ? rand(151643) : 151643 + rand(22));
  }
  decode_ids.push(s);
}
const decoded = decode_ids.map((s) => tok.decode(s));
const out = JSON.stringify({ texts, ids, decode_ids, decoded });
fs.writeFileSync("random.json.gz", zlib.gzipSync(out, { level: 9 }));
