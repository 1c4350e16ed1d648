// Loads a GGUF file in llama.cpp (through node-llama-cpp's prebuilt binary),
// tokenizes a prompt with the file's own tokenizer and decodes greedily.
// Prints {"prompt": [ids], "generated": [ids]} as one JSON line.
//
// usage: node run.mjs FILE.gguf PROMPT.json N_NEW   (PROMPT.json: {"text": ...})
import {readFileSync} from "node:fs";
import {getLlama} from "node-llama-cpp";

const [, , path, promptFile, nNew] = process.argv;
const {text} = JSON.parse(readFileSync(promptFile, "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: path});
const prompt = Array.from(model.tokenize(text, true));
const ctx = await model.createContext({contextSize: 1024, batchSize: 512});
const generated = [];
for await (const id of ctx.getSequence().evaluate(prompt, {temperature: 0})) {
  if (model.isEogToken(id) || generated.length >= Number(nNew)) break;
  generated.push(id);
}
console.log(JSON.stringify({prompt, generated}));
await llama.dispose();
