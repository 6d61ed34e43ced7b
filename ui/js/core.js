// Tessera UI. Plain JS, no framework, no bundler. It talks to Rust only through `invoke` and
// events and never sees a token: Rust keeps them in the OS keyring. Nothing here writes to
// localStorage, sessionStorage or cookies, and server text is only ever set as textContent.
//
// core.js: what every screen shares (the Tauri bridge, element lookup, the one `state`, error
// and busy handling, time formatting). It imports nothing, so every other module can import
// it without forming a circle.

export const tauri = window.__TAURI__;
export const invoke = tauri && tauri.core ? tauri.core.invoke : null;
export const listen = tauri && tauri.event ? tauri.event.listen : null;

export const $ = (id) => document.getElementById(id);
export const state = {
  profiles: [], // [{name, profile}]
  selected: "", // profile name on the login screen
  status: null, // SessionStatus of the signed-in profile
  codeFor: null, // profile name whose sign-in waits for a second-factor code (never the code)
  editing: null, // profile name being edited ("" for a new one)
  draft: null, // the profile the form started from (stored, copied, or filled by a preset or Detect)
  defaults: null, // the engine's defaults, the start of a new profile
  presets: [], // the engine's preset names (app_start), the profile form's "Stack" choices
  store: "", // where sessions are kept (app_start), shown on the home screen
  timer: null,
};

// A module imports only modules listed before it: core, updates, sharing, home, login,
// profiles, main.
// The one call the other way, home showing the sign-in screen when a session ends, goes
// through this registry: login.js sets `go.login` when it loads, before start-up runs.
export const go = Object.seal({
  login: null, // (reason) => shows the sign-in screen
});

export function call(command, args) {
  if (!invoke) return Promise.reject({ code: "no_runtime", message: "The Tessera runtime is not available in this window." });
  return invoke(command, args || {});
}

export function messageOf(error) {
  if (error && typeof error === "object" && typeof error.message === "string") return error.message;
  return String(error);
}

export function show(screen) {
  for (const id of ["login-screen", "register-screen", "home-screen", "profiles-screen"]) {
    $(id).hidden = id !== screen;
  }
}

export function busy(button, on) {
  button.disabled = on;
  if (on) button.setAttribute("aria-busy", "true");
  else button.removeAttribute("aria-busy");
}

export function setError(box, error) {
  if (error == null || error === "") {
    box.textContent = "";
    box.hidden = true;
  } else {
    box.textContent = typeof error === "string" ? error : messageOf(error);
    box.hidden = false;
  }
}

export function profileByName(name) {
  return state.profiles.find((p) => p.name === name) || null;
}

export function humanDuration(seconds) {
  const s = Math.abs(Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

// Expiry times are in server time; the engine reports the server-minus-local offset.
export function countdown(at) {
  if (!state.status || at == null) return "–";
  const serverNow = (Date.now() + (state.status.clock_offset_ms || 0)) / 1000;
  const left = at - serverNow;
  const when = new Date(at * 1000 - (state.status.clock_offset_ms || 0)).toLocaleTimeString();
  return left >= 0 ? `in ${humanDuration(left)} (${when})` : `expired ${humanDuration(left)} ago (${when})`;
}
