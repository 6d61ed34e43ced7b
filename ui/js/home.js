// home.js: the signed-in screen. Session status with live countdowns, the request console,
// sign-out, "Share with local tools" (sharing.js), and the activity log fed by Rust's session
// events.

import { $, busy, call, countdown, go, humanDuration, messageOf, profileByName, setError, show, state } from "./core.js";
import { refreshSharing } from "./sharing.js";

// `user` (who is signed in) comes with the status from the same command: one round trip.
/** How the engine's store names read on screen. */
const STORE_NAMES = {
  "secret-service": "the desktop keyring (Secret Service)",
  keychain: "the macOS Keychain",
  "credential-manager": "Windows Credential Manager",
  keyutils: "the kernel keyring (until reboot)",
  "encrypted-file": "the encrypted session file",
};

export function showHome(status, user) {
  state.status = status;
  show("home-screen");
  const entry = profileByName(status.profile);
  $("home-profile").textContent = entry ? `${status.profile} · ${entry.profile.base_url}` : status.profile;
  $("home-user").textContent = user && user.display ? user.display : status.user_id ? `User ${status.user_id}` : "Signed in";
  $("session-store").textContent = STORE_NAMES[state.store] || state.store || "–";
  renderStatus();
  startTimer();
  refreshSharing();
  $("request-path").focus();
}

function renderStatus() {
  const s = state.status;
  if (!s) return;
  $("access-expires").textContent = countdown(s.access_expires_at);
  $("refresh-expires").textContent = countdown(s.refresh_expires_at);
  $("next-refresh").textContent = countdown(s.next_refresh_at);
  const offset = (s.clock_offset_ms || 0) / 1000;
  $("clock-offset").textContent = Math.abs(offset) < 1 ? "in sync" : `server ${offset > 0 ? "ahead" : "behind"} by ${humanDuration(offset)}`;
  $("claims").textContent = JSON.stringify(s.claims || {}, null, 2);
}

function startTimer() {
  stopTimer();
  state.timer = setInterval(renderStatus, 1000);
}

export function stopTimer() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

function applyStatus(status) {
  if (!state.status || !status || status.profile !== state.status.profile) return;
  if (!status.signed_in) {
    endSession(status.reason || "Your session has ended. Sign in again.", null);
    return;
  }
  state.status = status;
  renderStatus();
}

async function refreshStatus() {
  if (!state.status) return;
  try {
    applyStatus(await call("session_status", { profile: state.status.profile }));
  } catch (error) {
    logActivity({ event: "error", message: messageOf(error) });
  }
}

function showResponseNote(lines) {
  const note = $("response-note");
  note.textContent = lines.join(" ");
  note.hidden = lines.length === 0;
}

export function onSend(event) {
  event.preventDefault();
  const body = $("request-body").value;
  return send({ method: $("request-method").value, path: $("request-path").value.trim(), body: body.trim() === "" ? null : body }, false);
}

// One request from the console; `again` when it is the one the session's end interrupted.
async function send(request, again) {
  const button = $("request-send");
  if (button.disabled || !state.status) return;
  busy(button, true);
  $("response-status").textContent = "…";
  $("response-time").textContent = "…";
  $("response-body").textContent = "";
  showResponseNote([]);
  try {
    const response = await call("session_request", { profile: state.status.profile, ...request });
    $("response-status").textContent = String(response.status);
    $("response-time").textContent = `${response.elapsed_ms} ms`;
    $("response-body").textContent = response.body;
    // The engine bounds what comes over IPC and says why a body is not re-indented.
    const notes = again ? [`Sent again after you signed in: ${request.method} ${request.path}.`] : [];
    if (response.hint) notes.push(response.hint);
    if (response.note) notes.push(response.note);
    if (response.truncated) notes.push("Only the first 1 MiB of the response is shown.");
    showResponseNote(notes);
    applyStatus(response.session);
  } catch (error) {
    $("response-status").textContent = error && error.code ? error.code : "error";
    $("response-time").textContent = "–";
    $("response-body").textContent = messageOf(error);
    if (error && (error.code === "session_expired" || error.code === "login_required")) {
      endSession(error.message, request);
      return;
    }
    refreshStatus();
  } finally {
    busy(button, false);
  }
}

export async function onSignOut() {
  const button = $("sign-out");
  if (button.disabled || !state.status) return;
  busy(button, true);
  try {
    await call("session_logout", { profile: state.status.profile }); // stops sharing too
    go.login(null);
  } catch (error) {
    logActivity({ event: "error", message: messageOf(error) });
  } finally {
    busy(button, false);
  }
}

const EVENT_TEXT = {
  logged_in: () => "Signed in",
  registered: () => "Account created",
  restored: () => "Session restored from the keyring",
  refreshed: (e) => `Access token refreshed${e.rotated ? " (refresh token rotated)" : ""}${e.by_other_process ? " by another Tessera process" : ""}`,
  replayed_after_401: (e) => `${e.method} ${e.path} got 401, replayed after refresh`,
  refresh_failed_transiently: (e) => `Refresh failed (${e.code}), attempt ${e.attempt}${e.retry_in_ms != null ? `, retrying in ${Math.round(e.retry_in_ms / 100) / 10} s` : ""}`,
  session_expired: (e) => `Session ended: ${e.reason}`,
  logged_out: (e) => `Signed out${e.server_revoked ? " (refresh token blacklisted)" : ""}`,
  error: (e) => e.message,
};

export function logActivity(event) {
  const item = document.createElement("li");
  item.dataset.event = event.event;
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString();
  const text = document.createElement("span");
  const describe = EVENT_TEXT[event.event];
  text.textContent = describe ? describe(event) : event.event;
  if (event.event === "refresh_failed_transiently" || event.event === "session_expired" || event.event === "error") text.className = "warn";
  item.append(time, text);
  const log = $("activity-log");
  log.prepend(item);
  while (log.children.length > 200) log.lastChild.remove();
}

export function onSessionEvent(event) {
  logActivity(event);
  if (!state.status || event.profile !== state.status.profile) return;
  if (event.event === "session_expired") {
    endSession(event.reason, null);
  } else if (event.event === "refreshed" || event.event === "restored") {
    refreshStatus();
  }
}

// ---- the session ended mid-work: sign in again over the home screen ------------------------
// The console, its request and its response stay where they are; a request the end interrupted
// is sent again after the sign-in. Anything else (a second factor, leaving) goes to sign-in.
let interrupted = null;

function endSession(reason, request) {
  const sheet = $("resign-sheet");
  if ($("home-screen").hidden || !state.status) {
    go.login(reason);
    return;
  }
  stopTimer();
  if (request) interrupted = request;
  $("resign-reason").textContent = reason || "Your session has ended.";
  $("resign-kept").hidden = interrupted === null;
  if (!sheet.open) {
    $("resign-username").value = $("username").value.trim();
    $("resign-password").value = "";
    setError($("resign-error"), null);
    sheet.showModal();
  }
  ($("resign-username").value === "" ? $("resign-username") : $("resign-password")).focus();
}

function leaveToSignIn() {
  const reason = $("resign-reason").textContent;
  interrupted = null;
  $("resign-sheet").close();
  go.login(reason);
}

async function onResign(event) {
  event.preventDefault();
  const button = $("resign-submit");
  if (button.disabled || !state.status) return;
  const login = $("resign-username").value.trim();
  if (login === "" || $("resign-password").value === "") {
    setError($("resign-error"), "Enter your username and password.");
    return;
  }
  busy(button, true);
  try {
    const signedIn = await call("session_login", { profile: state.status.profile, login, password: $("resign-password").value });
    $("resign-password").value = "";
    $("username").value = login;
    $("resign-sheet").close();
    showHome(signedIn.status, signedIn.user);
    const request = interrupted;
    interrupted = null;
    if (request) await send(request, true);
  } catch (error) {
    $("resign-password").value = "";
    if (error && error.code === "mfa_required") {
      leaveToSignIn();
    } else {
      setError($("resign-error"), error);
      $("resign-password").focus();
    }
  } finally {
    busy(button, false);
  }
}

export function wireResign() {
  $("resign-form").addEventListener("submit", onResign);
  $("resign-leave").addEventListener("click", leaveToSignIn);
  // Escape on the sheet: to the sign-in screen, like its button (never a dead home screen).
  $("resign-sheet").addEventListener("cancel", (event) => {
    event.preventDefault();
    leaveToSignIn();
  });
}
