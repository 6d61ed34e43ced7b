// profiles.js: the profiles screen, listing, editing, duplicating, deleting and testing server
// profiles, and filling one from a Django stack's preset or from what "Detect" found at the
// server. Rust validates and stores them (and knows the presets and how to detect them); the
// form sends back every field it does not show.

import { $, busy, call, messageOf, profileByName, show, state, tauri } from "./core.js";
import { stopTimer } from "./home.js";
import { renderProfileSelect } from "./login.js";

const TEXT_FIELDS = ["base_url", "obtain_path", "refresh_path", "verify_path", "blacklist_path", "registration_path", "me_path", "access_field", "refresh_field", "refresh_request_field", "renewal_access_field", "renewal_refresh_field", "logout_request_field", "refresh_cookie", "mfa_verify_path", "proxy", "ca_cert_file"];
const OPTIONAL_FIELDS = new Set(["verify_path", "blacklist_path", "registration_path", "me_path", "renewal_access_field", "renewal_refresh_field", "logout_request_field", "refresh_cookie", "mfa_verify_path", "proxy", "ca_cert_file"]);
// Shown under "Advanced": the form opens it when a profile sets any of them.
const ADVANCED_FIELDS = ["renewal_access_field", "renewal_refresh_field", "logout_request_field", "refresh_cookie", "mfa_verify_path"];
// `verification` (the engine's VerificationConfig) besides its `algorithm`; inputs `pfv-<name>`.
const VERIFICATION_FIELDS = ["public_key_file", "jwks_url", "audience", "issuer"];
// Sent instead of an empty server URL when a stack is chosen first (nothing is sent to it).
const NO_URL_YET = "https://server.invalid/";

export function showProfiles() {
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
    if (profile.preset) {
      const stack = document.createElement("span");
      stack.className = "muted stack";
      stack.textContent = `Stack: ${profile.preset}`;
      button.append(stack);
    }
    button.addEventListener("click", () => editProfile(name));
    item.append(button);
    list.append(item);
  }
}

export function editProfile(name) {
  const entry = profileByName(name);
  state.editing = entry ? name : "";
  // A new profile starts from the engine's defaults (simplejwt's paths and field names).
  state.draft = Object.assign({}, entry ? entry.profile : state.defaults || {});
  if (!entry) state.draft.base_url = "";
  $("pf-name").value = entry ? name : "";
  fillForm(state.draft);
  // The proxy's password never comes to the window: it is shown as ***, and saving the
  // value unchanged keeps the stored one.
  $("pf-proxy").title = entry && entry.proxy_has_credentials
    ? "The password is hidden (***). Leave it as it is to keep it, or type the whole URL to change it."
    : "";
  $("profile-delete").hidden = !entry;
  $("profile-duplicate").hidden = !entry;
  setNote(null);
  showDetection(null);
  renderProfileList();
  $("pf-name").focus();
}

/** Shows profile `p` in the form (all but its name). */
function fillForm(p) {
  for (const field of TEXT_FIELDS) $(`pf-${field}`).value = p[field] == null ? "" : String(p[field]);
  renderPresets();
  setSelect($("pf-preset"), p.preset || "");
  setSelect($("pf-login_field"), p.login_field || "username");
  setSelect($("pf-auth_header_type"), p.auth_header_type || "Bearer");
  $("pf-sliding").checked = !!p.sliding;
  $("pf-allow_insecure_http").checked = !!p.allow_insecure_http;
  $("pf-refresh_margin_secs").value = p.refresh_margin_secs == null ? "" : p.refresh_margin_secs;
  $("pf-request_timeout_secs").value = p.request_timeout_secs == null ? "" : p.request_timeout_secs;
  $("pf-insecure-warning").hidden = !p.allow_insecure_http;
  const v = p.verification || {};
  setSelect($("pfv-algorithm"), v.algorithm || "");
  for (const field of VERIFICATION_FIELDS) $(`pfv-${field}`).value = v[field] == null ? "" : String(v[field]);
  if (p.verification || ADVANCED_FIELDS.some((field) => p[field] != null)) $("profile-advanced").open = true;
}

/** The "Stack" choices: "Custom", then the engine's presets (`app_start` lists them). */
function renderPresets() {
  const select = $("pf-preset");
  const custom = document.createElement("option");
  custom.value = "";
  custom.textContent = "Custom";
  select.replaceChildren(custom);
  for (const name of state.presets) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    select.append(option);
  }
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

// The form edits only what it shows: every other field of the profile it started from (the
// stored one, a copy, or what a preset made of it; including fields this version does not
// know) is sent back unchanged.
function formProfile() {
  const p = Object.assign({}, state.draft || {});
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
  p.verification = formVerification(p.verification);
  return p;
}

// Every input empty: no verification. Otherwise the engine checks the settings on save (an
// algorithm left off with a key given is refused there, with what to do). Settings the form
// does not show (an inline PEM key, the leeway) are kept.
function formVerification(previous) {
  const v = Object.assign({}, previous || {}, { algorithm: $("pfv-algorithm").value });
  let any = v.algorithm !== "";
  for (const field of VERIFICATION_FIELDS) {
    const value = $(`pfv-${field}`).value.trim();
    v[field] = value === "" ? null : value;
    if (value !== "") any = true;
  }
  return any ? v : null;
}

// A chosen stack: Rust fills the form's profile with the stack's endpoints and field names
// (and records the preset); the form shows the result, and edits made after it win on save.
export async function onChoosePreset() {
  const select = $("pf-preset");
  const preset = select.value;
  const current = formProfile();
  showDetection(null); // the user's choice now, not what Detect found
  if (preset === "") {
    delete current.preset; // "Custom": the settings stay as they are
    state.draft = current;
    setNote(null);
    return;
  }
  const url = current.base_url;
  if (!url) current.base_url = NO_URL_YET;
  try {
    const filled = await call("profile_apply_preset", { profile: current, preset });
    if (!url) filled.base_url = "";
    state.draft = filled;
    fillForm(filled);
    setNote(`Filled in for ${preset}. Check the endpoints, then save.`);
  } catch (error) {
    setSelect(select, (state.draft && state.draft.preset) || "");
    setNote(messageOf(error), true);
  }
}

// "Detect": Rust asks the server at the form's URL which Django stack it runs (harmless
// requests only: no password, token or cookie) and answers the profile that works with it.
// The form shows that profile like a chosen preset (the Stack choice set to the stack found),
// lists the findings, and saves nothing until the user saves.
export async function onDetect() {
  const button = $("profile-detect");
  if (button.disabled) return;
  const current = formProfile();
  if (!current.base_url) {
    showDetection("Enter the server URL first: Detect asks that server.", null, true);
    $("pf-base_url").focus();
    return;
  }
  busy(button, true);
  showDetection(`Asking ${current.base_url}…`);
  try {
    const detection = await call("profile_detect", { previousName: state.editing || null, profile: current });
    state.draft = detection.profile;
    fillForm(detection.profile);
    if (detection.preset) setSelect($("pf-preset"), detection.preset);
    const found = detection.preset ? `Detected ${detection.preset}` : "Detected the server's own views";
    showDetection(`${found} (${detection.probes} requests). Check the settings, then save.`, detection.findings);
  } catch (error) {
    showDetection(messageOf(error), null, true);
  } finally {
    busy(button, false);
  }
}

/** The Detect result under the Stack choice (a polite live region): a title and the findings. */
function showDetection(title, findings, bad) {
  const box = $("profile-detection");
  if (!title) {
    box.replaceChildren();
    return;
  }
  const head = document.createElement("p");
  head.textContent = title;
  if (bad) head.className = "bad";
  const parts = [head];
  if (findings && findings.length > 0) {
    const list = document.createElement("ul");
    list.dataset.testid = "profile-findings";
    for (const finding of findings) {
      const item = document.createElement("li");
      item.textContent = finding;
      list.append(item);
    }
    parts.push(list);
  }
  box.replaceChildren(...parts);
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

export function applyProfiles(list) {
  state.profiles = list.profiles || [];
  if (list.defaults) state.defaults = list.defaults;
  if (list.last_profile && profileByName(list.last_profile)) state.selected = list.last_profile;
  renderProfileSelect();
}

export async function onSaveProfile(event) {
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

export async function onDeleteProfile() {
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

export function onDuplicateProfile() {
  if (!state.editing) return;
  const base = state.editing;
  let copy = `${base} copy`;
  for (let i = 2; profileByName(copy); i += 1) copy = `${base} copy ${i}`;
  // Keep the edited values; saving creates the copy.
  state.draft = formProfile();
  state.editing = "";
  $("pf-name").value = copy;
  $("profile-delete").hidden = true;
  $("profile-duplicate").hidden = true;
  renderProfileList();
  setNote(`Editing a copy of “${base}”: save to create it.`);
  $("pf-name").focus();
}

export async function onTestProfile() {
  const button = $("profile-test");
  if (button.disabled) return;
  busy(button, true);
  setNote("Testing…");
  try {
    const result = await call("profile_test", { previousName: state.editing || null, profile: formProfile() });
    setNote(result.message, !result.ok);
  } catch (error) {
    setNote(messageOf(error), true);
  } finally {
    busy(button, false);
  }
}

export function onPickCa() {
  return pickFile("pf-ca_cert_file", "CA certificate (PEM)", { name: "PEM certificate", extensions: ["pem", "crt", "cer"] });
}

export function onPickKey() {
  return pickFile("pfv-public_key_file", "Public key (PEM)", { name: "PEM public key", extensions: ["pem", "pub", "key"] });
}

async function pickFile(input, title, filter) {
  const dialog = tauri && tauri.dialog;
  if (!dialog) return;
  try {
    const picked = await dialog.open({ multiple: false, directory: false, title, filters: [filter] });
    if (typeof picked === "string") $(input).value = picked;
  } catch (error) {
    setNote(messageOf(error), true);
  }
}
