// Score tool: the metrics are computed in the browser by the wasm module, with the same Go code
// (medqa/wasm/metrics) the server's evaluations use.
import { loadMedqa } from "./wasm.js";

const $ = (id) => document.getElementById(id);
const form = $("score"), status = $("status"), refs = $("refs");
let nrefs = 1;

const rows = [
  ["SQuAD F1", (m) => m.squad?.f1],
  ["Exact match", (m) => m.squad?.exact_match],
  ["ROUGE-1", (m) => m.rouge?.rouge1],
  ["ROUGE-2", (m) => m.rouge?.rouge2],
  ["ROUGE-L", (m) => m.rouge?.rougeL],
  ["ROUGE-Lsum", (m) => m.rouge?.rougeLsum],
  ["ROUGE-L (stemmed)", (m) => m.rouge_stemmed?.rougeL],
  ["BLEU", (m) => (m.bleu?.error ? m.bleu.error : m.bleu?.bleu)],
  ["sacreBLEU (sentence, 0–100)", (m) => m.sacrebleu_sentence?.score],
];

status.textContent = "Loading the metrics module…";
const ready = loadMedqa().then((m) => {
  status.textContent = m ? "" : "The metrics module is not available on this server (run make wasm).";
  status.classList.toggle("bad", !m);
  $("score-btn").disabled = !m;
  return m;
});

$("add-ref").addEventListener("click", () => {
  const id = `ref-${nrefs++}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = `Reference answer ${nrefs}`;
  const ta = document.createElement("textarea");
  ta.id = id;
  ta.className = "ref";
  ta.rows = 4;
  refs.append(label, ta);
  ta.focus();
});

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const m = await ready;
  if (!m) return;
  const prediction = $("prediction").value;
  const references = [...refs.querySelectorAll(".ref")].map((t) => t.value).filter((t) => t.trim() !== "");
  if (!prediction.trim() || references.length === 0) {
    form.classList.add("touched");
    status.textContent = "Paste an answer and at least one reference.";
    status.classList.add("bad");
    return;
  }
  let out;
  try {
    out = m.score(prediction, references);
  } catch (err) {
    status.textContent = `Could not score: ${err.message}`;
    status.classList.add("bad");
    return;
  }
  status.textContent = "";
  status.classList.remove("bad");
  const body = $("scores");
  body.replaceChildren();
  for (const [name, get] of rows) {
    const v = get(out);
    if (v === undefined) continue;
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = name;
    const td = document.createElement("td");
    td.className = "num";
    td.dataset.metric = name;
    td.textContent = typeof v === "number" ? v.toFixed(4) : String(v);
    tr.append(th, td);
    body.append(tr);
  }
  $("raw").textContent = JSON.stringify(out, null, 2);
  $("results").hidden = false;
});

// Tests (and impatient people) can tell when the page is interactive.
document.documentElement.dataset.ready = "score";
