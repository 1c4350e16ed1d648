// Shared by the admin pages: API calls carry the session cookie and the CSRF token from the
// page's <meta name="csrf-token">; a 401 sends the person back to sign in.
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

export async function api(method, url, body) {
  const headers = { "X-CSRF-Token": csrfToken() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    location.assign(`/admin/login?next=${encodeURIComponent(location.pathname)}`);
    throw new Error("signed out");
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const msg = data?.error?.message || data?.error || data?.message || text.trim() || res.statusText;
    const err = new Error(`${res.status}: ${msg}`);
    err.status = res.status;
    err.data = data;
    throw err;
  }
  return data;
}

document.getElementById("logout")?.addEventListener("click", async () => {
  try { await api("POST", "/api/logout"); } catch { /* signed out either way */ }
  location.assign("/admin/login");
});
