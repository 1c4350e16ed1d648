// Chat page: streams answers over /ws/chat and, with the wasm module, shows the question's token
// count and the exact prompt. Protocol: client sends {"type":"ask","messages":[…],"params":{…}} and
// {"type":"stop"}; server sends a sources frame (the MedQuAD passages the answer cites), then
// token, done and error frames.
import { loadMedqa } from "./wasm.js";

const $ = (id) => document.getElementById(id);
const form = $("ask"), q = $("q"), send = $("send"), stop = $("stop"), log = $("log");
const count = $("count"), prompt = $("prompt"), status = $("status");

const history = []; // {role, content} turns already completed
let ws = null;       // the open socket, reused across questions
let turn = null;     // the answer being streamed: {el, text, body, stopping, timer}
let medqa = null;

loadMedqa().then((m) => {
  medqa = m;
  if (!m) count.textContent = "token count unavailable";
  refreshPreview();
});

function socketURL() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/chat`;
}

function connect() {
  if (ws && ws.readyState <= WebSocket.OPEN) return Promise.resolve(ws);
  return new Promise((resolve, reject) => {
    const s = new WebSocket(socketURL());
    s.onopen = () => { ws = s; resolve(s); };
    s.onerror = () => reject(new Error("could not reach the server"));
    s.onmessage = (ev) => onFrame(ev.data);
    s.onclose = () => {
      if (ws === s) ws = null;
      if (turn) finish({ error: "connection to the server was lost" });
    };
  });
}

function onFrame(data) {
  let f;
  try { f = JSON.parse(data); } catch { return; }
  if (!turn) return; // a late frame after a local stop
  switch (f.type) {
    case "sources":
      showSources(f.sources || []);
      break;
    case "token":
      append(f.text || "");
      break;
    case "done":
      finish({ usage: f.usage, timing: f.timing });
      break;
    case "error":
      finish({ error: f.message || "the server could not answer" });
      break;
  }
}

function params() {
  return {
    temperature: Number($("temperature").value),
    top_p: Number($("top_p").value),
    max_tokens: Number($("max_tokens").value),
  };
}

function rag() {
  return $("rag").checked;
}

function bubble(role, text) {
  log.querySelector(".hint")?.remove();
  const li = document.createElement("li");
  li.className = `msg ${role}`;
  const who = document.createElement("div");
  who.className = "who";
  who.textContent = role === "user" ? "You" : "medqa";
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  li.append(who, body);
  log.append(li);
  return { el: li, body };
}

// showSources puts the passages under the answer as cards: organisation, title (a link to the
// NIH page) and focus. Text goes in as text nodes only; links only to http(s) pages.
function showSources(sources) {
  if (!sources.length) return;
  const box = document.createElement("section");
  box.className = "sources";
  box.setAttribute("aria-label", "Sources");
  const h = document.createElement("h3");
  h.textContent = "Sources";
  const list = document.createElement("ol");
  for (const s of sources) {
    const li = document.createElement("li");
    li.className = "source";
    const org = document.createElement("span");
    org.className = "org";
    org.textContent = s.organisation || s.source || "";
    let title;
    if (/^https?:\/\//.test(s.url || "")) {
      title = document.createElement("a");
      title.href = s.url;
      title.target = "_blank";
      title.rel = "noopener noreferrer";
    } else {
      title = document.createElement("span");
    }
    title.className = "title";
    title.textContent = s.title || s.focus || s.id;
    li.append(org, title);
    if (s.focus) {
      const f = document.createElement("span");
      f.className = "focus";
      f.textContent = s.qtype ? `${s.focus} · ${s.qtype}` : s.focus;
      li.append(f);
    }
    list.append(li);
  }
  box.append(h, list);
  turn.el.append(box);
}

function nearBottom() {
  return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
}

function append(text) {
  const follow = nearBottom();
  turn.text += text;
  turn.body.append(text); // a text node per frame: never parsed as HTML
  if (follow) turn.el.scrollIntoView({ block: "end" });
}

async function ask(ev) {
  ev?.preventDefault();
  const question = q.value.trim();
  if (!question || turn) return;
  const settings = form.querySelector(".settings");
  for (const id of ["temperature", "top_p", "max_tokens"]) {
    if (!$(id).checkValidity()) {
      settings.open = true;
      $(id).reportValidity();
      return;
    }
  }
  const messages = [...history, { role: "user", content: question }];
  bubble("user", question);
  const { el, body } = bubble("assistant", "");
  el.classList.add("streaming");
  el.setAttribute("aria-busy", "true");
  turn = { el, body, text: "", question, stopping: false, timer: 0 };
  q.value = "";
  setBusy(true);
  refreshPreview();
  try {
    const s = await connect();
    s.send(JSON.stringify({ type: "ask", messages, params: params(), rag: rag() }));
  } catch (err) {
    finish({ error: err.message });
  }
}

function stopAnswer() {
  if (!turn || turn.stopping) return;
  turn.stopping = true;
  stop.disabled = true;
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "stop" }));
  // The server confirms with done; if it does not within 3 s, end the turn here.
  turn.timer = setTimeout(() => turn && finish({ stopped: true }), 3000);
}

function finish({ usage, timing, error, stopped }) {
  const t = turn;
  if (!t) return; // already finished (e.g. an error followed by the socket closing)
  turn = null;
  clearTimeout(t.timer);
  t.el.classList.remove("streaming");
  t.el.removeAttribute("aria-busy");
  history.push({ role: "user", content: t.question });
  history.push({ role: "assistant", content: t.text });
  const meta = document.createElement("div");
  meta.className = "meta";
  const parts = [];
  if (error) {
    t.el.classList.add("failed");
    parts.push(`Error: ${error}`);
  } else {
    if (t.stopping || stopped) parts.push("stopped");
    if (usage?.completion_tokens != null) parts.push(`${usage.completion_tokens} tokens`);
    if (timing?.ttft_ms != null) parts.push(`first token ${Math.round(timing.ttft_ms)} ms`);
    if (timing?.tokens_per_s != null) parts.push(`${timing.tokens_per_s.toFixed(1)} tokens/s`);
  }
  const info = document.createElement("span");
  info.textContent = parts.join(" · ");
  meta.append(info);
  if (t.text) meta.append(copyButton(t.text));
  t.el.append(meta);
  status.textContent = error ? "" : "Answer complete.";
  setBusy(false);
  refreshPreview();
  q.focus();
}

function copyButton(text) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "secondary small copy";
  b.textContent = "Copy";
  b.setAttribute("aria-label", "Copy answer");
  b.onclick = async () => {
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = "Copied";
    } catch {
      b.textContent = "Copy failed";
    }
    setTimeout(() => { b.textContent = "Copy"; }, 1500);
  };
  return b;
}

function setBusy(busy) {
  send.disabled = busy;
  stop.disabled = !busy;
  $("reset").disabled = busy;
  if (busy) status.textContent = "Answering…";
}

let previewTimer = 0;
function refreshPreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(updatePreview, 80);
}

function updatePreview() {
  if (!medqa) return;
  const text = q.value.trim();
  try {
    const n = medqa.countTokens(text);
    const messages = [...history];
    if (text) messages.push({ role: "user", content: text });
    // Nothing to render before the first question (the template refuses an empty chat).
    const rendered = messages.length ? medqa.renderChat(messages, true) : "";
    const total = rendered ? medqa.countTokens(rendered) : 0;
    count.textContent = `${n} token${n === 1 ? "" : "s"} · prompt ${total}`;
    count.dataset.tokens = String(n);
    prompt.textContent = rendered;
  } catch (err) {
    count.textContent = "token count unavailable";
    console.warn(err);
  }
}

form.addEventListener("submit", ask);
stop.addEventListener("click", stopAnswer);
q.addEventListener("input", refreshPreview);
q.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    ask();
  }
});
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && turn) stopAnswer();
});
$("reset").addEventListener("click", () => {
  if (turn) return;
  history.length = 0;
  log.replaceChildren();
  status.textContent = "New conversation.";
  refreshPreview();
  q.focus();
});

// Tests (and impatient people) can tell when the page is interactive.
document.documentElement.dataset.ready = "chat";
