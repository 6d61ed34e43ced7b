// Tessera UI. Plain JS, no framework, no bundler. It talks to Rust only through `invoke` and
// events and never sees a token: Rust keeps them in the OS keyring. Nothing here writes to
// localStorage, sessionStorage or cookies, and server text is only ever set as textContent.
"use strict";

(function () {
  const tauri = window.__TAURI__;
  const invoke = tauri && tauri.core ? tauri.core.invoke : null;
  const listen = tauri && tauri.event ? tauri.event.listen : null;

  const $ = (id) => document.getElementById(id);
  const state = {
    profiles: [], // [{name, profile}]
    selected: "", // profile name on the login screen
    status: null, // SessionStatus of the signed-in profile
    editing: null, // profile name being edited ("" for a new one)
    timer: null,
  };

  // ---- helpers ----------------------------------------------------------------------------
  function call(command, args) {
    if (!invoke) return Promise.reject({ code: "no_runtime", message: "The Tessera runtime is not available in this window." });
    return invoke(command, args || {});
  }

  function messageOf(error) {
    if (error && typeof error === "object" && typeof error.message === "string") return error.message;
    return String(error);
  }

  // ---- updates ----------------------------------------------------------------------------
  function showUpdate(update) {
    if (!update || !update.version) return;
    $("update-text").textContent = `Tessera ${update.version} is available (you have ${update.current_version}).`;
    $("update-error").textContent = "";
    $("update-banner").hidden = false;
  }

  async function onInstallUpdate() {
    const button = $("update-install");
    busy(button, true);
    $("update-error").textContent = "";
    try {
      await call("update_install"); // restarts the app when it succeeds
    } catch (error) {
      $("update-error").textContent = messageOf(error);
    } finally {
      busy(button, false);
    }
  }

  function show(screen) {
    for (const id of ["login-screen", "register-screen", "home-screen", "profiles-screen"]) {
      $(id).hidden = id !== screen;
    }
  }

  function busy(button, on) {
    button.disabled = on;
    if (on) button.setAttribute("aria-busy", "true");
    else button.removeAttribute("aria-busy");
  }

  function setError(box, error) {
    if (error == null || error === "") {
      box.textContent = "";
      box.hidden = true;
    } else {
      box.textContent = typeof error === "string" ? error : messageOf(error);
      box.hidden = false;
    }
  }

  function profileByName(name) {
    return state.profiles.find((p) => p.name === name) || null;
  }

  function humanDuration(seconds) {
    const s = Math.abs(Math.round(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  }

  // Expiry times are in server time; the engine reports the server-minus-local offset.
  function countdown(at) {
    if (!state.status || at == null) return "–";
    const serverNow = (Date.now() + (state.status.clock_offset_ms || 0)) / 1000;
    const left = at - serverNow;
    const when = new Date(at * 1000 - (state.status.clock_offset_ms || 0)).toLocaleTimeString();
    return left >= 0 ? `in ${humanDuration(left)} (${when})` : `expired ${humanDuration(left)} ago (${when})`;
  }

  // ---- login --------------------------------------------------------------------------------
  function renderProfileSelect() {
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

  function renderSelectedProfile() {
    const entry = profileByName(state.selected);
    $("profile-url").textContent = entry ? entry.profile.base_url : "\u00a0";
    const loginField = entry ? entry.profile.login_field : "username";
    $("username-label").textContent = loginField === "email" ? "Email" : "Username";
    $("username").setAttribute("autocomplete", loginField === "email" ? "email" : "username");
    $("create-account").hidden = !(entry && entry.profile.registration_path);
  }

  function focusFirstEmpty() {
    const username = $("username");
    (username.value.trim() === "" ? username : $("password")).focus();
  }

  function showLogin(reason) {
    stopTimer();
    state.status = null;
    show("login-screen");
    renderProfileSelect();
    setError($("login-error"), reason || null);
    focusFirstEmpty();
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
      setError($("login-error"), error);
      focusFirstEmpty();
    } finally {
      busy(button, false);
    }
  }

  // ---- registration -------------------------------------------------------------------------
  function showRegister() {
    const entry = profileByName(state.selected);
    if (!entry) return;
    $("register-url").textContent = entry.profile.base_url;
    for (const p of document.querySelectorAll("#register-form .field-error")) setError(p, null);
    setError($("register-error"), null);
    show("register-screen");
    $("reg-username").focus();
  }

  async function onRegister(event) {
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

  // ---- home ---------------------------------------------------------------------------------
  // `user` (who is signed in) comes with the status from the same command: one round trip.
  function showHome(status, user) {
    state.status = status;
    show("home-screen");
    const entry = profileByName(status.profile);
    $("home-profile").textContent = entry ? `${status.profile} · ${entry.profile.base_url}` : status.profile;
    $("home-user").textContent = user && user.display ? user.display : status.user_id ? `User ${status.user_id}` : "Signed in";
    renderStatus();
    startTimer();
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

  function stopTimer() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
  }

  function applyStatus(status) {
    if (!state.status || !status || status.profile !== state.status.profile) return;
    if (!status.signed_in) {
      showLogin(status.reason || "Your session has ended. Sign in again.");
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

  async function onSend(event) {
    event.preventDefault();
    const button = $("request-send");
    if (button.disabled || !state.status) return;
    busy(button, true);
    $("response-status").textContent = "…";
    $("response-time").textContent = "…";
    $("response-body").textContent = "";
    showResponseNote([]);
    const body = $("request-body").value;
    try {
      const response = await call("session_request", {
        profile: state.status.profile,
        method: $("request-method").value,
        path: $("request-path").value.trim(),
        body: body.trim() === "" ? null : body,
      });
      $("response-status").textContent = String(response.status);
      $("response-time").textContent = `${response.elapsed_ms} ms`;
      $("response-body").textContent = response.body;
      // The engine bounds what comes over IPC and says why a body is not re-indented.
      const notes = [];
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
        showLogin(error.message);
        return;
      }
      refreshStatus();
    } finally {
      busy(button, false);
    }
  }

  async function onSignOut() {
    const button = $("sign-out");
    if (button.disabled || !state.status) return;
    busy(button, true);
    try {
      await call("session_logout", { profile: state.status.profile });
      showLogin(null);
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

  function logActivity(event) {
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

  function onSessionEvent(event) {
    logActivity(event);
    if (!state.status || event.profile !== state.status.profile) return;
    if (event.event === "session_expired") {
      showLogin(event.reason);
    } else if (event.event === "refreshed" || event.event === "restored") {
      refreshStatus();
    }
  }

  // ---- profiles -----------------------------------------------------------------------------
  const TEXT_FIELDS = ["base_url", "obtain_path", "refresh_path", "verify_path", "blacklist_path", "registration_path", "me_path", "access_field", "refresh_field", "refresh_request_field", "proxy", "ca_cert_file"];
  const OPTIONAL_FIELDS = new Set(["verify_path", "blacklist_path", "registration_path", "me_path", "proxy", "ca_cert_file"]);

  function showProfiles() {
    stopTimer();
    show("profiles-screen");
    renderProfileList();
    editProfile(state.selected || (state.profiles[0] && state.profiles[0].name) || "");
  }

  function renderProfileList() {
    const list = $("profile-list");
    list.replaceChildren();
    for (const { name, profile } of state.profiles) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.profile = name;
      button.setAttribute("aria-current", String(name === state.editing));
      const title = document.createElement("strong");
      title.textContent = name;
      const url = document.createElement("span");
      url.className = "muted url";
      url.textContent = profile.base_url;
      button.append(title, url);
      button.addEventListener("click", () => editProfile(name));
      item.append(button);
      list.append(item);
    }
  }

  function editProfile(name) {
    const entry = profileByName(name);
    state.editing = entry ? name : "";
    state.pendingCopy = null;
    // A new profile starts from the engine's defaults (simplejwt's paths and field names).
    const p = entry ? entry.profile : Object.assign({}, state.defaults || {}, { base_url: "" });
    $("pf-name").value = entry ? name : "";
    for (const field of TEXT_FIELDS) $(`pf-${field}`).value = p[field] == null ? "" : String(p[field]);
    // The proxy's password never comes to the window: it is shown as ***, and saving the
    // value unchanged keeps the stored one.
    $("pf-proxy").title = entry && entry.proxy_has_credentials
      ? "The password is hidden (***). Leave it as it is to keep it, or type the whole URL to change it."
      : "";
    setSelect($("pf-login_field"), p.login_field || "username");
    setSelect($("pf-auth_header_type"), p.auth_header_type || "Bearer");
    $("pf-sliding").checked = !!p.sliding;
    $("pf-allow_insecure_http").checked = !!p.allow_insecure_http;
    $("pf-refresh_margin_secs").value = p.refresh_margin_secs == null ? "" : p.refresh_margin_secs;
    $("pf-request_timeout_secs").value = p.request_timeout_secs == null ? "" : p.request_timeout_secs;
    $("pf-insecure-warning").hidden = !p.allow_insecure_http;
    $("profile-delete").hidden = !entry;
    $("profile-duplicate").hidden = !entry;
    setNote(null);
    renderProfileList();
    $("pf-name").focus();
  }

  /** Selects `value`, adding it as an option first if it is not one (e.g. set by the CLI). */
  function setSelect(select, value) {
    if (![...select.options].some((o) => o.value === value)) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = value;
      select.append(option);
    }
    select.value = value;
  }

  // The form edits only what it shows: every other field of the stored profile (including
  // ones this version does not know) is sent back unchanged.
  function formProfile() {
    const entry = profileByName(state.editing);
    const p = Object.assign({}, entry ? entry.profile : state.pendingCopy || {});
    for (const field of TEXT_FIELDS) {
      const value = $(`pf-${field}`).value.trim();
      if (value === "") {
        if (OPTIONAL_FIELDS.has(field)) p[field] = null;
        else delete p[field];
      } else {
        p[field] = value;
      }
    }
    p.login_field = $("pf-login_field").value;
    p.auth_header_type = $("pf-auth_header_type").value;
    p.sliding = $("pf-sliding").checked;
    p.allow_insecure_http = $("pf-allow_insecure_http").checked;
    for (const field of ["refresh_margin_secs", "request_timeout_secs"]) {
      const raw = $(`pf-${field}`).value.trim();
      if (raw === "") delete p[field];
      else p[field] = Number(raw);
    }
    return p;
  }

  function setNote(text, bad) {
    const note = $("profile-message");
    if (!text) {
      note.hidden = true;
      note.textContent = "";
      return;
    }
    note.textContent = text;
    note.className = bad ? "note bad" : "note";
    note.hidden = false;
  }

  function applyProfiles(list) {
    state.profiles = list.profiles || [];
    if (list.defaults) state.defaults = list.defaults;
    if (list.last_profile && profileByName(list.last_profile)) state.selected = list.last_profile;
    renderProfileSelect();
  }

  async function onSaveProfile(event) {
    event.preventDefault();
    const name = $("pf-name").value.trim();
    try {
      const list = await call("profile_save", { name, previousName: state.editing || null, profile: formProfile() });
      state.selected = name;
      applyProfiles(list);
      editProfile(name);
      setNote(`Saved “${name}”.`);
    } catch (error) {
      setNote(messageOf(error), true);
    }
  }

  async function onDeleteProfile() {
    if (!state.editing) return;
    const name = state.editing;
    try {
      applyProfiles(await call("profile_delete", { name }));
      editProfile(state.profiles[0] ? state.profiles[0].name : "");
      setNote(`Deleted “${name}”.`);
    } catch (error) {
      setNote(messageOf(error), true);
    }
  }

  function onDuplicateProfile() {
    if (!state.editing) return;
    const base = state.editing;
    let copy = `${base} copy`;
    for (let i = 2; profileByName(copy); i += 1) copy = `${base} copy ${i}`;
    const p = formProfile();
    state.editing = "";
    $("pf-name").value = copy;
    $("profile-delete").hidden = true;
    $("profile-duplicate").hidden = true;
    renderProfileList();
    // Keep the edited values; saving creates the copy.
    state.pendingCopy = p;
    setNote(`Editing a copy of “${base}”: save to create it.`);
    $("pf-name").focus();
  }

  async function onTestProfile() {
    const button = $("profile-test");
    if (button.disabled) return;
    busy(button, true);
    setNote("Testing…");
    try {
      const result = await call("profile_test", { profile: formProfile() });
      setNote(result.message, !result.ok);
    } catch (error) {
      setNote(messageOf(error), true);
    } finally {
      busy(button, false);
    }
  }

  async function onPickCa() {
    const dialog = tauri && tauri.dialog;
    if (!dialog) return;
    try {
      const picked = await dialog.open({ multiple: false, directory: false, title: "CA certificate (PEM)", filters: [{ name: "PEM certificate", extensions: ["pem", "crt", "cer"] }] });
      if (typeof picked === "string") $("pf-ca_cert_file").value = picked;
    } catch (error) {
      setNote(messageOf(error), true);
    }
  }

  // ---- start-up -----------------------------------------------------------------------------
  async function init() {
    $("login-form").addEventListener("submit", onLogin);
    $("profile").addEventListener("change", () => {
      state.selected = $("profile").value;
      renderSelectedProfile();
      call("profile_select", { name: state.selected }).catch(() => {});
    });
    $("manage-profiles").addEventListener("click", showProfiles);
    $("create-account").addEventListener("click", showRegister);
    $("register-form").addEventListener("submit", onRegister);
    $("register-cancel").addEventListener("click", () => showLogin(null));
    $("request-form").addEventListener("submit", onSend);
    $("sign-out").addEventListener("click", onSignOut);
    $("profiles-back").addEventListener("click", () => showLogin(null));
    $("profile-form").addEventListener("submit", onSaveProfile);
    $("profile-new").addEventListener("click", () => editProfile(""));
    $("profile-delete").addEventListener("click", onDeleteProfile);
    $("profile-duplicate").addEventListener("click", onDuplicateProfile);
    $("profile-test").addEventListener("click", onTestProfile);
    $("pf-ca-pick").addEventListener("click", onPickCa);
    $("pf-allow_insecure_http").addEventListener("change", () => {
      $("pf-insecure-warning").hidden = !$("pf-allow_insecure_http").checked;
    });
    $("update-install").addEventListener("click", onInstallUpdate);
    $("update-dismiss").addEventListener("click", () => {
      $("update-banner").hidden = true;
    });
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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
