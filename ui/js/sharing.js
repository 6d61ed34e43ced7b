// sharing.js: "Share with local tools" on the home screen. Rust runs a local proxy that lends
// the signed-in session to tools on this computer (curl, pytest, Postman) at a private URL; the
// page shows that URL to be copied and never a token. The URL is a secret too (whoever has it
// can use the session until sharing stops), so it lives only in the read-only field while
// sharing is on and is emptied as soon as it stops.

import { $, call, go, messageOf, setError, state } from "./core.js";

let announceTimer = null;

/** Shows `share` (share_status/share_start: {url, profile, addr}) or sharing off (null). */
export function renderSharing(share) {
  const on = !!share && !!state.status && share.profile === state.status.profile;
  $("share-toggle").checked = on;
  $("share-details").hidden = !on;
  $("share-url").value = on ? share.url : "";
  $("share-state").textContent = on ? "On" : "Off";
}

/** Sharing off on screen (the home screen was left: Rust stops the proxy itself). */
export function clearSharing() {
  renderSharing(null);
  setError($("share-error"), null);
}

/** Asks Rust what is shared, e.g. when the home screen opens. */
export async function refreshSharing() {
  try {
    renderSharing(await call("share_status"));
  } catch (error) {
    renderSharing(null);
    setError($("share-error"), error);
  }
}

/** The switch: on starts the proxy for the signed-in profile, off stops it. */
export async function onShareToggle() {
  const toggle = $("share-toggle");
  if (!state.status) return;
  const wanted = toggle.checked;
  toggle.disabled = true;
  toggle.setAttribute("aria-busy", "true");
  setError($("share-error"), null);
  try {
    if (wanted) {
      renderSharing(await call("share_start", { profile: state.status.profile }));
    } else {
      await call("share_stop");
      renderSharing(null);
    }
  } catch (error) {
    if (error && (error.code === "login_required" || error.code === "session_expired")) {
      go.login(error.message); // the session ended before the proxy could lend it
      return;
    }
    setError($("share-error"), messageOf(error));
    await refreshSharing();
  } finally {
    toggle.disabled = false;
    toggle.removeAttribute("aria-busy");
  }
}

/** "Stop sharing": the switch turned off, focus kept on it. */
export async function onShareStop() {
  const toggle = $("share-toggle");
  toggle.checked = false;
  await onShareToggle();
  toggle.focus();
}

/** "Copy": the clipboard API, else the field selected and the browser's copy command. */
export async function onShareCopy() {
  const field = $("share-url");
  if (!field.value) return;
  let copied = false;
  try {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      await navigator.clipboard.writeText(field.value);
      copied = true;
    }
  } catch (_) {
    copied = false;
  }
  if (!copied) {
    field.focus();
    field.select();
    try {
      copied = document.execCommand("copy");
    } catch (_) {
      copied = false;
    }
  }
  announce(copied ? "Copied" : "Could not copy: the URL is selected, copy it with Ctrl+C");
}

/** Says `text` in the polite live region (emptied first, so the same words are said again). */
function announce(text) {
  const region = $("share-announce");
  region.textContent = "";
  if (announceTimer) clearTimeout(announceTimer);
  setTimeout(() => {
    region.textContent = text;
  }, 50);
  announceTimer = setTimeout(() => {
    region.textContent = "";
    announceTimer = null;
  }, 4000);
}
