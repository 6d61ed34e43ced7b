//! The whole journey with keys only, in the real window: sign in, send a request from the
//! console, sign out, open the profiles, add one, go back and switch to it, open registration
//! and leave it with Escape. Every control is reached with Tab / Shift-Tab (nothing is clicked),
//! the focused control always shows a focus ring, and each new screen puts the focus on its
//! first field.

use anyhow::{bail, ensure, Result};
use fantoccini::key::Key;
use fantoccini::Client;
use tessera_e2e::{app_slot, save_screenshot};
use tessera_testkit::{BackendKind, TestServer};

use super::{close, server_options, text, visible, wait_text, Install, PROFILE};

fn key(k: Key) -> String {
    char::from(k).to_string()
}

/// The focused element's `data-testid` (or id).
async fn focused(client: &Client) -> Result<String> {
    let value = client
        .execute(
            "const el = document.activeElement; return el ? (el.dataset.testid || el.id || el.tagName) : '';",
            vec![],
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

/// Types into whatever has the focus, as a keyboard does.
async fn press(client: &Client, keys: &str) -> Result<()> {
    client.active_element().await?.send_keys(keys).await?;
    Ok(())
}

/// Presses Tab (or Shift-Tab) until `id` has the focus; fails after 40 presses. Each stop on
/// the way must show a focus ring.
async fn tab_to(client: &Client, id: &str, backwards: bool) -> Result<()> {
    let step = if backwards {
        format!("{}{}{}", key(Key::Shift), key(Key::Tab), key(Key::Null))
    } else {
        key(Key::Tab)
    };
    let mut path = Vec::new();
    for _ in 0..40 {
        let now = focused(client).await?;
        if now == id {
            return Ok(());
        }
        press(client, &step).await?;
        let now = focused(client).await?;
        focus_ring(client, &now).await?;
        path.push(now);
    }
    bail!("{id} cannot be reached with the keyboard; the focus went {path:?}")
}

/// The focused element draws a visible outline (2 px or more).
async fn focus_ring(client: &Client, what: &str) -> Result<()> {
    let ring = client
        .execute(
            "const s = getComputedStyle(document.activeElement);
             return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;",
            vec![],
        )
        .await?;
    ensure!(
        ring == serde_json::Value::Bool(true),
        "{what} has the focus but no focus ring"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_works_with_the_keyboard_alone() -> Result<()> {
    let _slot = app_slot().await;
    let server = TestServer::start(BackendKind::Rust, server_options()).await?;
    let (user, password) = tessera_e2e::credentials(&server);
    let install = Install::new();
    install.offer_registration(&server)?;
    let (_driver, client) = install.launch(&server).await?;

    // Sign in: the focus starts in the username field.
    ensure!(
        focused(&client).await? == "username",
        "focus starts on {}",
        focused(&client).await?
    );
    press(&client, &user).await?;
    tab_to(&client, "password", false).await?;
    press(&client, &format!("{password}{}", key(Key::Enter))).await?;
    visible(&client, "home-screen").await?;
    ensure!(
        focused(&client).await? == "request-path",
        "home put the focus on {}",
        focused(&client).await?
    );
    focus_ring(&client, "request-path").await?;

    // A request from the console: Enter in the path sends it.
    press(&client, &key(Key::Enter)).await?;
    wait_text(&client, "response-status", |t| t == "200").await?;

    // Sign out, reached backwards through the home screen.
    tab_to(&client, "sign-out", true).await?;
    press(&client, &key(Key::Enter)).await?;
    visible(&client, "login-screen").await?;
    let first = focused(&client).await?;
    ensure!(
        first == "username" || first == "password",
        "sign-in put the focus on {first}"
    );

    // Profiles: Space on "Manage profiles", then "Add profile", fill it, save.
    tab_to(&client, "manage-profiles", true).await?;
    press(&client, &key(Key::Space)).await?;
    visible(&client, "profiles-screen").await?;
    ensure!(
        focused(&client).await? == "pf-name",
        "profiles put the focus on {}",
        focused(&client).await?
    );
    tab_to(&client, "profile-new", true).await?;
    press(&client, &key(Key::Enter)).await?;
    ensure!(
        focused(&client).await? == "pf-name",
        "Add profile put the focus on {}",
        focused(&client).await?
    );
    press(&client, "second").await?;
    tab_to(&client, "pf-base-url", false).await?;
    press(&client, server.base_url().as_str()).await?;
    tab_to(&client, "profile-save", false).await?;
    press(&client, &key(Key::Enter)).await?;
    wait_text(&client, "profile-message", |t| t.contains("Saved")).await?;

    // Back, and switch to the new profile in the list with the keyboard.
    tab_to(&client, "profiles-back", true).await?;
    press(&client, &key(Key::Enter)).await?;
    visible(&client, "login-screen").await?;
    tab_to(&client, "profile-select", true).await?;
    press(&client, "second").await?;
    wait_text(&client, "profile-url", |t| t == server.base_url().as_str()).await?;
    let selected = client
        .execute("return document.getElementById('profile').value", vec![])
        .await?;
    ensure!(selected == "second", "the profile list shows {selected}");

    // Registration opens from the keyboard and Escape leaves it. (Typing picks an option once
    // the list's type-ahead of "second" has lapsed.)
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    press(&client, PROFILE).await?;
    let selected = client
        .execute("return document.getElementById('profile').value", vec![])
        .await?;
    ensure!(selected == PROFILE, "the profile list shows {selected}");
    tab_to(&client, "create-account", false).await?;
    press(&client, &key(Key::Enter)).await?;
    visible(&client, "register-screen").await?;
    ensure!(
        focused(&client).await? == "reg-username",
        "registration put the focus on {}",
        focused(&client).await?
    );
    press(&client, &key(Key::Escape)).await?;
    visible(&client, "login-screen").await?;
    ensure!(
        text(&client, "profile-url").await?.starts_with("http"),
        "the sign-in screen lost its profile"
    );
    save_screenshot(&client, "keyboard-journey").await?;
    close(client).await;
    Ok(())
}
