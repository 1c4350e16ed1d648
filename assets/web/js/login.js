// Sign-in: POST /api/login {"password"}; the server sets the session cookie.
const form = document.getElementById("login");
const err = document.getElementById("login-error");

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  err.textContent = "";
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const res = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ password: document.getElementById("password").value }),
    });
    if (res.ok) {
      location.assign(form.dataset.next || "/admin/runs");
      return;
    }
    if (res.status === 429) {
      const wait = res.headers.get("Retry-After");
      err.textContent = `Too many attempts. Try again${wait ? ` in ${wait} s` : " later"}.`;
    } else if (res.status === 401 || res.status === 403) {
      err.textContent = "Wrong password.";
    } else {
      err.textContent = `Sign-in failed (HTTP ${res.status}).`;
    }
  } catch {
    err.textContent = "Could not reach the server.";
  } finally {
    button.disabled = false;
  }
  const pw = document.getElementById("password");
  pw.select();
  pw.focus();
});

// Tests (and impatient people) can tell when the page is interactive.
document.documentElement.dataset.ready = "login";
