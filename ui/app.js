// Tessera UI. Plain JS, no framework, no bundler. It talks to Rust only through `invoke`
// and events; it never sees a token (Rust keeps them in the OS keyring).
"use strict";

(function () {
  const tauri = window.__TAURI__;
  const invoke = tauri && tauri.core ? tauri.core.invoke : null;

  const $ = (id) => document.getElementById(id);

  /** Shows an engine error ({code, message}) in words a user understands. */
  function showError(error) {
    const box = $("login-error");
    const message = error && typeof error === "object" && error.message ? error.message : String(error);
    box.textContent = message;
    box.hidden = false;
  }

  function clearError() {
    const box = $("login-error");
    box.textContent = "";
    box.hidden = true;
  }

  /** Focus starts in the first empty field. */
  function focusFirstEmpty() {
    const username = $("username");
    const password = $("password");
    (username.value.trim() === "" ? username : password).focus();
  }

  async function onSubmit(event) {
    event.preventDefault();
    const button = $("sign-in");
    if (button.disabled) return; // no double submit
    clearError();
    if ($("username").value.trim() === "" || $("password").value === "") {
      showError("Enter your username and password.");
      focusFirstEmpty();
      return;
    }
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      if (!invoke) throw new Error("The Tessera runtime is not available in this window.");
      await invoke("login", {
        profile: $("profile").value,
        username: $("username").value,
        password: $("password").value,
      });
    } catch (error) {
      showError(error);
    } finally {
      $("password").value = "";
      button.disabled = false;
      button.removeAttribute("aria-busy");
      focusFirstEmpty();
    }
  }

  async function init() {
    $("login-form").addEventListener("submit", onSubmit);
    focusFirstEmpty();
    if (invoke) {
      try {
        const info = await invoke("app_info");
        $("app-version").textContent = `${info.name} ${info.version}`;
      } catch (error) {
        $("app-version").textContent = "";
      }
    }
    // Signals readiness to tests and benchmarks: the login screen is interactive.
    document.body.dataset.ready = "true";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
