// Makes flags.json: extra added tokens with lstrip / rstrip / normalized
// set, and texts encoded by transformers.js with them added to the Qwen2.5
// tokenizer.json. Usage: node gen_flags.mjs TOKENIZER_DIR > flags.json
import { AutoTokenizer, env } from "@huggingface/transformers";
import fs from "node:fs";
import path from "node:path";

const dir = process.argv[2];
const added = [
  { id: 151665, content: "<mask>", single_word: false, lstrip: true, rstrip: false, normalized: false, special: true },
  { id: 151666, content: "[R]", single_word: false, lstrip: false, rstrip: true, normalized: false, special: false },
  { id: 151667, content: "A\u030angst", single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
  { id: 151668, content: "both", single_word: false, lstrip: true, rstrip: true, normalized: false, special: false },
  { id: 151669, content: "e\u0301raw", single_word: false, lstrip: false, rstrip: false, normalized: false, special: false },
];
const texts = [
  "a <mask> b", "a   <mask>", "<mask>  x", "\u00a0\t<mask>", "a\u3000<mask>", "x[R]   y", "[R]\n\nz", "[R]",
  "\u00c5ngst", "A\u030angst", "xA\u030angsty", "x  both  y", "both", " both ", "\u00e9raw", "e\u0301raw",
  "<mask><mask> [R] [R]", "<|im_start|>both<|im_end|>",
];
const tj = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
tj.added_tokens.push(...added);
const stage = fs.mkdtempSync("/tmp/flags-");
fs.writeFileSync(path.join(stage, "tokenizer.json"), JSON.stringify(tj));
fs.copyFileSync(path.join(dir, "tokenizer_config.json"), path.join(stage, "tokenizer_config.json"));
env.allowRemoteModels = false;
env.localModelPath = "/";
const tok = await AutoTokenizer.from_pretrained(stage);
const cases = texts.map((text) => ({ text, ids: tok.encode(text, { add_special_tokens: false }) }));
console.log(JSON.stringify({ added, cases }, null, 1));
