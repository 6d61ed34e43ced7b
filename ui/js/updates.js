// updates.js: the update bar shown on every screen when Rust found a newer signed release.
// Installing happens only on request; Rust checks the signature and restarts the app.

import { $, busy, call, messageOf } from "./core.js";

// Rust decides whether this installation can install the release (`installable`) and says
// what installing does or, when it cannot, where to get the release (`note`): no button is
// shown that would fail.
export function showUpdate(update) {
  if (!update || !update.version) return;
  $("update-text").textContent = `Tessera ${update.version} is available (you have ${update.current_version}).`;
  $("update-note").textContent = update.note || "";
  $("update-install").hidden = !update.installable;
  $("update-error").textContent = "";
  $("update-banner").hidden = false;
}

export async function onInstallUpdate() {
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
