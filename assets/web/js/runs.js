// Runs page: validates the start-run form in the browser, shows the exact JSON it sends to
// POST /api/runs, and links to the new run.
import { api } from "./admin.js";

const form = document.getElementById("start");
const err = document.getElementById("start-error");
const sentBox = document.getElementById("sent-box");
const sent = document.getElementById("sent");

// config turns the form into the JSON the API takes: numbers as numbers, empty optional
// fields left out so the server applies its own defaults.
function config() {
  const out = {};
  for (const el of form.querySelectorAll("[name][data-kind]")) {
    const v = el.value.trim();
    if (v === "") continue;
    switch (el.dataset.kind) {
      case "int": out[el.name] = parseInt(v, 10); break;
      case "float": out[el.name] = Number(v); break;
      case "list": out[el.name] = v.split(",").map((x) => x.trim()).filter(Boolean); break;
      default: out[el.name] = v;
    }
  }
  // Max steps, when set, replaces the epochs (the server takes one or the other).
  if (out.max_steps > 0) delete out.epochs;
  return out;
}

function validate() {
  form.classList.add("touched");
  for (const el of form.querySelectorAll("[name]")) {
    if (!el.checkValidity()) {
      const label = el.closest("label")?.querySelector("span")?.textContent || el.name;
      el.focus();
      return `${label}: ${el.validationMessage}`;
    }
  }
  const c = config();
  if (!(c.max_steps > 0) && !(c.epochs > 0)) return "Set max steps or epochs above zero.";
  return "";
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  err.textContent = "";
  const problem = validate();
  if (problem) {
    err.textContent = problem;
    return;
  }
  const body = config();
  sent.textContent = JSON.stringify(body, null, 2);
  sentBox.hidden = false;
  const button = document.getElementById("start-btn");
  button.disabled = true;
  try {
    const run = await api("POST", "/api/runs", body);
    const id = run?.id ?? run?.run?.id;
    const p = document.createElement("p");
    p.className = "started";
    const a = document.createElement("a");
    a.href = `/admin/runs/${encodeURIComponent(id)}`;
    a.id = "new-run";
    a.textContent = `Run ${id} started — open it`;
    p.append(a);
    sentBox.querySelector(".started")?.remove();
    sentBox.append(p);
    a.focus();
  } catch (e) {
    err.textContent = `The server refused the run: ${e.message}`;
  } finally {
    button.disabled = false;
  }
});

form.addEventListener("reset", () => {
  form.classList.remove("touched");
  err.textContent = "";
});

// The plan above the form names the base model and data the run will use: keep it in step
// with the inputs (after a reset too, once the browser has restored the defaults).
for (const name of ["base_model", "data"]) {
  const input = form.elements[name];
  const shown = document.querySelector(`[data-plan="${name}"]`);
  if (!input || !shown) continue;
  const show = () => { shown.textContent = input.value.trim() || "—"; };
  input.addEventListener("input", show);
  form.addEventListener("reset", () => setTimeout(show));
}

// Tests (and impatient people) can tell when the page is interactive.
document.documentElement.dataset.ready = "runs";
