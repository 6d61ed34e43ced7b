// main.js: start-up, the page's entry module (index.html loads only this one). It wires every
// control to its section's handler, then runs the start-up IPC and marks the page ready.

import { $, call, invoke, listen, messageOf, state } from "./core.js";
import { onInstallUpdate, showUpdate } from "./updates.js";
import { onShareCopy, onShareStop, onShareToggle } from "./sharing.js";
import { logActivity, onSend, onSessionEvent, onSignOut, showHome, wireResign } from "./home.js";
import { focusFirstEmpty, onLoginSubmit, onRegister, renderSelectedProfile, showLogin, showPasswordStep, showRegister } from "./login.js";
import { applyProfiles, editProfile, onChoosePreset, onDeleteProfile, onDetect, onDuplicateProfile, onPickCa, onPickKey, onSaveProfile, onTestProfile, showProfiles } from "./profiles.js";

async function init() {
  $("login-form").addEventListener("submit", onLoginSubmit);
  $("code-back").addEventListener("click", () => showPasswordStep(null));
  $("profile").addEventListener("change", () => {
    state.selected = $("profile").value;
    // A code answers the sign-in of the profile it was asked for: another one starts over.
    if (state.codeFor !== null) showPasswordStep(null);
    else renderSelectedProfile();
    call("profile_select", { name: state.selected }).catch(() => {});
  });
  $("manage-profiles").addEventListener("click", showProfiles);
  $("create-account").addEventListener("click", showRegister);
  $("register-form").addEventListener("submit", onRegister);
  $("register-cancel").addEventListener("click", () => showLogin(null));
  $("request-form").addEventListener("submit", onSend);
  $("sign-out").addEventListener("click", onSignOut);
  wireResign();
  $("share-toggle").addEventListener("change", onShareToggle);
  $("share-copy").addEventListener("click", onShareCopy);
  $("share-stop").addEventListener("click", onShareStop);
  $("profiles-back").addEventListener("click", () => showLogin(null));
  $("profile-form").addEventListener("submit", onSaveProfile);
  $("profile-new").addEventListener("click", () => editProfile(""));
  $("profile-delete").addEventListener("click", onDeleteProfile);
  $("profile-duplicate").addEventListener("click", onDuplicateProfile);
  $("profile-test").addEventListener("click", onTestProfile);
  $("pf-ca-pick").addEventListener("click", onPickCa);
  $("pf-key-pick").addEventListener("click", onPickKey);
  $("pf-preset").addEventListener("change", onChoosePreset);
  $("profile-detect").addEventListener("click", onDetect);
  $("pf-allow_insecure_http").addEventListener("change", () => {
    $("pf-insecure-warning").hidden = !$("pf-allow_insecure_http").checked;
  });
  $("update-install").addEventListener("click", onInstallUpdate);
  $("update-dismiss").addEventListener("click", () => {
    $("update-banner").hidden = true;
  });
  // Escape leaves registration for sign-in and closes the update bar. Not the profile form:
  // it may hold unsaved changes (its Back button is first in the tab order).
  document.addEventListener("keydown", onEscape);
  focusFirstEmpty();

  // Independent start-up calls go out together (each is an IPC round trip); only app_start
  // waits, for the listeners, so the restore's session events reach the activity log.
  const listening = listen
    ? Promise.all([
        listen("update-available", (message) => showUpdate(message.payload)),
        listen("session-event", (message) => onSessionEvent(message.payload)),
      ]).catch((error) => logActivity({ event: "error", message: messageOf(error) }))
    : Promise.resolve();
  const version = invoke
    ? call("app_info")
        .then((info) => {
          $("app-version").textContent = `${info.name} ${info.version}`;
        })
        .catch(() => {
          $("app-version").textContent = "";
        })
    : Promise.resolve();
  await listening;
  if (invoke) {
    try {
      const start = await call("app_start");
      state.presets = start.presets || [];
      state.store = start.store || "";
      applyProfiles(start.profiles);
      if (start.selected) state.selected = start.selected;
      if (start.status && start.status.signed_in) {
        showHome(start.status, start.user);
      } else {
        showLogin(start.status && start.status.reason ? start.status.reason : start.error ? start.error.message : null);
      }
    } catch (error) {
      showLogin(messageOf(error));
    }
  }
  if (invoke) {
    // The start-up check may have finished before the listener above was registered.
    call("update_status").then(showUpdate).catch(() => {});
  }
  await version;
  // Signals readiness to tests and benchmarks: the first screen is interactive.
  document.body.dataset.ready = "true";
  if (invoke) {
    call("app_ready").catch(() => {});
  }
}

function onEscape(event) {
  if (event.key !== "Escape" || event.defaultPrevented) return;
  // An open <select> list closes by itself; nothing else happens for that press.
  if (event.target instanceof HTMLSelectElement) return;
  if (!$("register-screen").hidden) {
    event.preventDefault();
    showLogin(null);
  } else if (!$("update-banner").hidden && $("update-banner").contains(event.target)) {
    event.preventDefault();
    $("update-banner").hidden = true;
  }
}

// Module scripts run deferred, after parsing, so the DOM is normally there already.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
