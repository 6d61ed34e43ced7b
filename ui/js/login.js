// login.js: the sign-in screen (profile choice, username and password, then a second-factor
// code when the server asks for one) and the registration screen it leads to. Both end on the
// home screen; the password and code fields are cleared either way.

import { $, busy, call, go, profileByName, setError, show, state } from "./core.js";
import { clearSharing } from "./sharing.js";
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
  $("create-account").hidden = !(entry && entry.profile.registration_path) || state.codeFor !== null;
}

export function focusFirstEmpty() {
  const username = $("username");
  (username.value.trim() === "" ? username : $("password")).focus();
}

export function showLogin(reason) {
  stopTimer();
  clearSharing(); // Rust stops the proxy when the session it lends ends
  state.status = null;
  show("login-screen");
  showPasswordStep(reason);
}
go.login = showLogin;

// One form, two steps: Enter submits the step that is shown.
export function onLoginSubmit(event) {
  return state.codeFor === null ? onLogin(event) : onVerify(event);
}

async function onLogin(event) {
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
    if (error && error.code === "mfa_required") {
      showCodeStep(error.message); // the engine keeps the server's one-time sign-in token
    } else {
      setError($("login-error"), error);
      focusFirstEmpty();
    }
  } finally {
    busy(button, false);
  }
}

// ---- sign-in, second step: the code ---------------------------------------------------------
function setStep(code) {
  $("password-step").hidden = code;
  $("sign-in").hidden = code;
  $("code-step").hidden = !code;
  $("verify-code").hidden = !code;
  $("code-back").hidden = !code;
  $("mfa-code").value = "";
}

/** The password was right and the server wants a code: ask for it, saying why (`message`). */
function showCodeStep(message) {
  state.codeFor = state.selected;
  $("code-for").textContent = `Password accepted for ${$("username").value.trim()}.`;
  setStep(true);
  renderSelectedProfile();
  setError($("login-error"), message);
  // The server's request for a code is a step, not a failure: shown as a note.
  $("login-error").classList.add("note");
  $("mfa-code").focus();
}

/** Username and password again: on start, after an expired code step, a profile change, or "Sign in with a different account". */
export function showPasswordStep(message) {
  state.codeFor = null;
  setStep(false);
  renderProfileSelect();
  $("login-error").classList.remove("note");
  setError($("login-error"), message || null);
  focusFirstEmpty();
}

/** The field's value, the field emptied: the code goes from the input to Rust and nowhere else. */
function takeValue(input) {
  const value = input.value.trim();
  input.value = "";
  return value;
}

async function onVerify(event) {
  event.preventDefault();
  const button = $("verify-code");
  if (button.disabled || state.codeFor === null) return;
  $("login-error").classList.remove("note");
  setError($("login-error"), null);
  const input = $("mfa-code");
  if (input.value.trim() === "") {
    setError($("login-error"), "Enter the code from your authenticator app, or a recovery code.");
    input.focus();
    return;
  }
  busy(button, true);
  try {
    const signedIn = await call("session_verify_code", { profile: state.codeFor, code: takeValue(input) });
    state.codeFor = null;
    setStep(false);
    showHome(signedIn.status, signedIn.user);
  } catch (error) {
    if (error && error.code === "mfa_expired") {
      showPasswordStep(error.message); // start again with the password
    } else {
      setError($("login-error"), error); // mfa_code_rejected and the rest: the user may retry
      input.focus();
    }
  } finally {
    busy(button, false);
  }
}

// ---- registration -------------------------------------------------------------------------
export function showRegister() {
  const entry = profileByName(state.selected);
  if (!entry) return;
  $("register-url").textContent = entry.profile.base_url;
  clearFieldErrors();
  setError($("register-error"), null);
  show("register-screen");
  $("reg-username").focus();
}

function clearFieldErrors() {
  for (const p of document.querySelectorAll("#register-form .field-error")) setError(p, null);
  for (const input of document.querySelectorAll("#register-form input")) input.removeAttribute("aria-invalid");
}

export async function onRegister(event) {
  event.preventDefault();
  const button = $("register-submit");
  if (button.disabled) return;
  clearFieldErrors();
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
          // The field says it is wrong, and its error is its description (aria-describedby).
          const input = $(`reg-${field}`);
          if (input) input.setAttribute("aria-invalid", "true");
          shown = true;
        }
      }
    }
    if (!shown || !fields) setError($("register-error"), error);
    const invalid = document.querySelector('#register-form [aria-invalid="true"]');
    if (invalid) invalid.focus();
  } finally {
    busy(button, false);
  }
}
