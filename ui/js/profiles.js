// profiles.js: the profiles screen, listing, editing, duplicating, deleting and testing server
// profiles. Rust validates and stores them; the form sends back every field it does not show.

import { $, busy, call, messageOf, profileByName, show, state, tauri } from "./core.js";
import { stopTimer } from "./home.js";
import { renderProfileSelect } from "./login.js";

const TEXT_FIELDS = ["base_url", "obtain_path", "refresh_path", "verify_path", "blacklist_path", "registration_path", "me_path", "access_field", "refresh_field", "refresh_request_field", "proxy", "ca_cert_file"];
const OPTIONAL_FIELDS = new Set(["verify_path", "blacklist_path", "registration_path", "me_path", "proxy", "ca_cert_file"]);

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
    button.addEventListener("click", () => editProfile(name));
    item.append(button);
    list.append(item);
  }
}

export function editProfile(name) {
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

export async function onTestProfile() {
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

export async function onPickCa() {
  const dialog = tauri && tauri.dialog;
  if (!dialog) return;
  try {
    const picked = await dialog.open({ multiple: false, directory: false, title: "CA certificate (PEM)", filters: [{ name: "PEM certificate", extensions: ["pem", "crt", "cer"] }] });
    if (typeof picked === "string") $("pf-ca_cert_file").value = picked;
  } catch (error) {
    setNote(messageOf(error), true);
  }
}
