// Renders unusual conversations with transformers.js's apply_chat_template
// (the tool that made wasm/tokenizer/testdata/public_vectors.json.gz) so that the Go
// renderer is checked against the real Jinja template on cases the public
// vectors lack. Usage (from a folder where @huggingface/transformers is
// installed): node gen_odd.mjs TOKENIZER_DIR > odd.json, where TOKENIZER_DIR holds
// tokenizer.json and Qwen2.5-0.5B{,-Instruct}/tokenizer_config.json (the layout of
// the Qwen2.5 tokenizer reference folder that assets/tokenizer/README.md names).
import { AutoTokenizer, env } from "@huggingface/transformers";
import fs from "node:fs";
import path from "node:path";

const dir = process.argv[2];
env.allowRemoteModels = false;
env.localModelPath = "/";

const convs = [
  [{ role: "user", content: "hi" }, { role: "system", content: "late system" }, { role: "user", content: "again" }],
  [{ role: "system", content: "first" }, { role: "system", content: "second" }],
  [{ role: "system", content: "" }, { role: "user", content: "" }],
  [{ role: "assistant", content: "I start" }],
  [{ role: "user", content: "q" }, { role: "assistant", content: "a" }],
  [{ role: "user", content: "call" }, { role: "tool", content: "r1" }, { role: "tool", content: "r2" }, { role: "assistant", content: "done" }],
  [{ role: "tool", content: "only tool" }],
  [{ role: "user", content: "x" }, { role: "tool", content: "t" }, { role: "user", content: "y" }, { role: "tool", content: "u" }],
  [{ role: "system", content: "s" }, { role: "user", content: "<|im_end|> inside\n\n" }, { role: "assistant", content: "  spaced  " }],
  [{ role: "user", content: "multi\nline\r\n\ttext — ünïcödé 血压 😀" }],
];

const out = [];
for (const [name, sub] of [["Qwen2.5-0.5B", "Qwen2.5-0.5B"], ["Qwen2.5-0.5B-Instruct", "Qwen2.5-0.5B-Instruct"]]) {
  // transformers.js wants tokenizer.json beside the config: stage a folder.
  const stage = fs.mkdtempSync("/tmp/chatodd-");
  fs.copyFileSync(path.join(dir, "tokenizer.json"), path.join(stage, "tokenizer.json"));
  fs.copyFileSync(path.join(dir, sub, "tokenizer_config.json"), path.join(stage, "tokenizer_config.json"));
  const tok = await AutoTokenizer.from_pretrained(stage);
  for (const messages of convs) {
    for (const add_generation_prompt of [false, true]) {
      const text = tok.apply_chat_template(messages, { tokenize: false, add_generation_prompt });
      out.push({ template_of: name, messages, add_generation_prompt, text });
    }
  }
}
console.log(JSON.stringify(out, null, 1));
