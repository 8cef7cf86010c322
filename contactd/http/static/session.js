// Staff sign-in for the pages (desk, kiosk, console): a login and personal token exchanged once
// for a session cookie (HttpOnly: no script here ever sees the session's key), or the agency's
// single sign-on. Every change the page makes carries the session's CSRF token. The page keeps
// no token: after a reload, or a restart of the kiosk's browser, the cookie still signs in.
"use strict";

const staffSession = {
  current: null,  // {login, name, role, csrf, via, expires_at} while signed in
  onEnded: () => {},  // the page shows its sign-in form again

  // The live session, or null (not signed in, or it ended).
  async check() {
    const response = await fetch("/api/session", { credentials: "same-origin" });
    this.current = response.ok ? await response.json() : null;
    return this.current;
  },

  // How staff may sign in here: {token: bool, oidc: {label, start} | null}.
  async ways() {
    const response = await fetch("/api/session/ways");
    return response.ok ? response.json() : { token: true, oidc: null };
  },

  async signIn(login, token) {
    const response = await fetch("/api/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ login: login.trim().toLowerCase(), token: token.trim() }),
    });
    const data = await response.json();
    if (!response.ok) throw this._error(response, data);
    this.current = data;
    return data;
  },

  // Single sign-on: to the provider and back to this page.
  singleSignOn(start) {
    location.assign(`${start}?next=${encodeURIComponent(location.pathname)}`);
  },

  async signOut(everywhere = false) {
    try {
      await this.api(everywhere ? "POST" : "DELETE", everywhere ? "/api/session/everywhere" : "/api/session");
    } finally {
      this.current = null;
    }
  },

  // A JSON request as the signed-in person; a 401 means the session ended.
  async api(method, path, body) {
    const headers = body !== undefined ? { "Content-Type": "application/json" } : {};
    if (method !== "GET" && this.current?.csrf) headers["X-CSRF-Token"] = this.current.csrf;
    const response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers,
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const data = response.headers.get("Content-Type")?.startsWith("application/json")
      ? await response.json() : {};
    if (!response.ok) {
      if (response.status === 401 && this.current) { this.current = null; this.onEnded(); }
      throw this._error(response, data);
    }
    return data;
  },

  // Show the page's sign-in form (#signin with #tokenSignIn, #login, #token, #sso and
  // #ssoButton) with the ways this deployment offers, and focus its first field.
  async showForm() {
    const $ = (id) => document.getElementById(id);
    $("signin").hidden = false;
    $("token").value = "";
    const ways = await this.ways();
    $("tokenSignIn").hidden = !ways.token;
    for (const id of ["login", "token"]) $(id).required = ways.token;
    $("sso").hidden = !ways.oidc;
    if (ways.oidc) {
      $("ssoButton").textContent = ways.oidc.label;
      $("ssoButton").onclick = () => this.singleSignOn(ways.oidc.start);
    }
    (ways.token ? $("login") : $("ssoButton")).focus();
  },

  _error(response, data) {
    const problems = (data.error?.details || []).map((d) => d.problem).join("; ");
    const message = problems || data.error?.message || response.statusText;
    return Object.assign(new Error(message), { status: response.status, code: data.error?.code });
  },
};
