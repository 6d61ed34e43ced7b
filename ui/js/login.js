// login.js: the sign-in screen (profile choice, username and password) and the registration
// screen it leads to. Both end on the home screen; the password fields are cleared either way.

import { $, busy, call, go, profileByName, setError, show, state } from "./core.js";
import { showHome, stopTimer } from "./home.js";

// ---- sign-in ------------------------------------------------------------------------------
export function renderProfileSelect() {
  const select = $("profile");
  select.replaceChildren();
  if (state.profiles.length === 0) {
    const option = document.createElement("option");
    option.value = "";
    option.textContent = "No profiles yet: add one";
    select.append(option);
  }
  for (const { name } of state.profiles) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    select.append(option);
  }
  if (!profileByName(state.selected) && state.profiles.length > 0) state.selected = state.profiles[0].name;
  select.value = state.selected;
  renderSelectedProfile();
}

export function renderSelectedProfile() {
  const entry = profileByName(state.selected);
  $("profile-url").textContent = entry ? entry.profile.base_url : "\u00a0";
  const loginField = entry ? entry.profile.login_field : "username";
  $("username-label").textContent = loginField === "email" ? "Email" : "Username";
  $("username").setAttribute("autocomplete", loginField === "email" ? "email" : "username");
  $("create-account").hidden = !(entry && entry.profile.registration_path);
}

export function focusFirstEmpty() {
  const username = $("username");
  (username.value.trim() === "" ? username : $("password")).focus();
}

export function showLogin(reason) {
  stopTimer();
  state.status = null;
  show("login-screen");
  renderProfileSelect();
  setError($("login-error"), reason || null);
  focusFirstEmpty();
}
go.login = showLogin;

export async function onLogin(event) {
  event.preventDefault();
  const button = $("sign-in");
  if (button.disabled) return; // no double submit
  setError($("login-error"), null);
  if (!state.selected) {
    setError($("login-error"), "Choose a server profile first, or add one with “Manage profiles”.");
    return;
  }
  if ($("username").value.trim() === "" || $("password").value === "") {
    setError($("login-error"), "Enter your username and password.");
    focusFirstEmpty();
    return;
  }
  busy(button, true);
  try {
    const signedIn = await call("session_login", {
      profile: state.selected,
      login: $("username").value.trim(),
      password: $("password").value,
    });
    $("password").value = "";
    showHome(signedIn.status, signedIn.user);
  } catch (error) {
    $("password").value = "";
    setError($("login-error"), error);
    focusFirstEmpty();
  } finally {
    busy(button, false);
  }
}

// ---- registration -------------------------------------------------------------------------
export function showRegister() {
  const entry = profileByName(state.selected);
  if (!entry) return;
  $("register-url").textContent = entry.profile.base_url;
  for (const p of document.querySelectorAll("#register-form .field-error")) setError(p, null);
  setError($("register-error"), null);
  show("register-screen");
  $("reg-username").focus();
}

export async function onRegister(event) {
  event.preventDefault();
  const button = $("register-submit");
  if (button.disabled) return;
  for (const p of document.querySelectorAll("#register-form .field-error")) setError(p, null);
  setError($("register-error"), null);
  busy(button, true);
  try {
    const signedIn = await call("session_register", {
      profile: state.selected,
      username: $("reg-username").value.trim(),
      email: $("reg-email").value.trim(),
      password: $("reg-password").value,
    });
    $("reg-password").value = "";
    showHome(signedIn.status, signedIn.user);
  } catch (error) {
    $("reg-password").value = "";
    const fields = error && error.fields ? error.fields : null;
    let shown = false;
    if (fields) {
      for (const [field, messages] of Object.entries(fields)) {
        const box = document.querySelector(`#register-form .field-error[data-field="${CSS.escape(field)}"]`);
        if (box) {
          setError(box, [].concat(messages).join(" "));
          shown = true;
        }
      }
    }
    if (!shown || !fields) setError($("register-error"), error);
  } finally {
    busy(button, false);
  }
}
