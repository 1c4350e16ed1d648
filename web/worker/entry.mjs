// medqa's Cloudflare Workers entry. Websocket upgrades on /ws/ (chat streaming, run events) go
// straight to the backend: a Go http.Handler cannot return a WebSocket pair to the runtime, and
// returning the backend's 101 response from fetch() lets Cloudflare join the two sockets.
// Everything else runs the Go worker (pages, /api and /v1 proxying); /static/ and /wasm/ are
// Cloudflare static assets (wrangler.toml [assets]) and never reach this code.
import * as go from "./build/shim.mjs";
import mod from "./build/app.wasm";

go.init(mod);

export default {
  async fetch(req, env, ctx) {
    const url = new URL(req.url);
    if (url.pathname.startsWith("/ws/") && (req.headers.get("Upgrade") || "").toLowerCase() === "websocket") {
      return forwardWebSocket(req, url, env);
    }
    return go.fetch(req, env, ctx);
  },
};

function forwardWebSocket(req, url, env) {
  const backend = new URL(env.MEDQA_BACKEND);
  const target = new URL(url.pathname + url.search, backend);
  const headers = new Headers(req.headers);
  // Same-origin pages talk to the worker's host; the backend checks Origin against its own.
  if (headers.get("Origin") === url.origin) headers.set("Origin", backend.origin);
  // The visitor, as the Go front forwards it (front.forwardClient): a backend that lists
  // Cloudflare in --trusted-proxies rate-limits and logs by this address.
  const ip = req.headers.get("CF-Connecting-IP");
  if (ip) headers.set("X-Forwarded-For", ip);
  else headers.delete("X-Forwarded-For");
  headers.set("X-Forwarded-Proto", url.protocol.replace(":", ""));
  return fetch(target, { method: "GET", headers });
}
