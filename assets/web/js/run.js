// Run page: follows /ws/runs/{id} (the trainer's JSON events), updates the figures, appends log
// lines, re-fetches the server-drawn loss chart, and drives cancel/resume/evaluate/activate.
import { api } from "./admin.js";

const $ = (id) => document.getElementById(id);
const root = $("run");
const id = root.dataset.id;
const terminal = new Set(["succeeded", "failed", "cancelled", "interrupted"]);
let status = root.dataset.status;
let maxSteps = Number(root.dataset.maxSteps || 0);
let retry = 0;
let heard = 0; // status events received: newer than what an action's answer says
// The page was drawn with events up to this step; a stream that replays history from the start
// must not add them twice.
const renderedStep = Number(root.dataset.lastStep || -1);
// Events carry the run's sequence number: a (re)connected stream replays the history first, and
// the page takes each event once.
let seenSeq = Number(root.dataset.lastSeq || 0);

function setStatus(s) {
  if (!s) return;
  status = s;
  root.dataset.status = s;
  const badge = $("run-status").querySelector(".badge");
  badge.className = `badge st-${s}`;
  badge.dataset.status = s;
  badge.textContent = s;
  if (terminal.has(s)) $("run-eta").textContent = "—";
  for (const b of document.querySelectorAll("button[data-action]")) {
    b.disabled = !(b.dataset.when === "any" || b.dataset.when.split(" ").includes(s));
  }
}

function logLine(text) {
  const pre = $("logs");
  const follow = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 20;
  const lines = (pre.textContent ? pre.textContent.split("\n") : []).concat(text).slice(-300);
  pre.textContent = lines.join("\n");
  if (follow) pre.scrollTop = pre.scrollHeight;
}

function fmt(x, d = 4) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(d) : "—";
}

function fmtETA(s) {
  if (!(s > 0)) return "—";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return h ? `${h}h ${String(m).padStart(2, "0")}m` : m ? `${m}m ${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

let chartTimer = 0, chartBusy = false;
function refreshChart() {
  if (chartTimer) return;
  chartTimer = setTimeout(async () => {
    chartTimer = 0;
    if (chartBusy) return refreshChart();
    chartBusy = true;
    try {
      const res = await fetch($("chart").dataset.src, { credentials: "same-origin" });
      if (res.ok) $("chart").innerHTML = await res.text(); // same-origin SVG drawn by the server
    } finally {
      chartBusy = false;
    }
  }, 400);
}

// The trainer's own fields beyond the fixed ones (max_steps, …) arrive under "other".
const extra = (e, k) => e[k] ?? e.other?.[k];

function onEvent(e) {
  if (e.seq > 0) {
    if (e.seq <= seenSeq) return;
    seenSeq = e.seq;
  }
  const ms = extra(e, "max_steps");
  if (["step", "eval", "checkpoint"].includes(e.type) && e.step <= renderedStep) return;
  switch (e.type) {
    case "start":
      if (ms > 0) maxSteps = ms;
      logLine(`${e.stage && e.stage !== "train" ? `[${e.stage}] ` : ""}start${ms ? `: ${ms} steps` : ""}`);
      break;
    case "step": {
      if (ms > 0) maxSteps = ms;
      $("run-step").textContent = maxSteps ? `${e.step} / ${maxSteps}` : String(e.step);
      $("run-loss").textContent = fmt(e.loss);
      $("run-eta").textContent = fmtETA(e.eta_s);
      if (maxSteps) $("run-progress").value = Math.min(1, e.step / maxSteps);
      logLine(`step ${e.step}  loss ${fmt(e.loss)}  lr ${e.lr ?? "—"}  ${fmt(e.tokens_per_s, 0)} tok/s`);
      refreshChart();
      break;
    }
    case "eval":
      logLine(`eval at step ${e.step}: val_loss ${fmt(e.val_loss)}  ppl ${fmt(e.val_ppl, 2)}`);
      refreshChart();
      break;
    case "checkpoint":
      logLine(`checkpoint at step ${e.step}: ${e.path ?? ""}`);
      break;
    case "done": // a stage ended; the run's status comes in its own event
      logLine(`${e.stage ?? "train"} done`);
      refreshChart();
      break;
    case "error":
      logLine(`error: ${e.message ?? ""}`);
      break;
    case "status": // the server's word on the run's status, after every change
      heard++;
      setStatus(e.status);
      logLine(`status: ${e.message || e.status}`);
      break;
    case "log":
      logLine(e.message ?? "");
      break;
  }
}

function follow() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws/runs/${encodeURIComponent(id)}`);
  ws.onopen = () => { retry = 0; $("live").textContent = "live"; };
  ws.onmessage = (m) => {
    try { onEvent(JSON.parse(m.data)); } catch { /* not an event */ }
  };
  ws.onclose = () => {
    $("live").textContent = terminal.has(status) ? "" : "reconnecting…";
    if (terminal.has(status)) return;
    retry = Math.min(retry + 1, 6);
    setTimeout(follow, 500 * 2 ** retry);
  };
}

for (const b of document.querySelectorAll("button[data-action]")) {
  b.addEventListener("click", async () => {
    $("action-error").textContent = "";
    b.disabled = true;
    const before = heard;
    try {
      const r = await api("POST", b.dataset.url);
      if (r?.status && heard === before) setStatus(r.status);
      $("live").textContent = b.dataset.action === "activate" ? `now serving ${r?.serving ?? ""}` : `${b.textContent.toLowerCase()} requested`;
      if (b.dataset.action === "resume" || b.dataset.action === "evaluate") {
        if (!r?.status) setStatus("queued");
        follow();
      }
    } catch (e) {
      $("action-error").textContent = `${b.textContent} failed: ${e.message}`;
    } finally {
      setStatus(status);
    }
  });
}

setStatus(status);
follow();
document.documentElement.dataset.ready = "run";
