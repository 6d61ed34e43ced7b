//! The session ends while the user works: the server stops accepting it (its clock jumps past
//! the refresh token's lifetime, so the refresh that the next request needs is refused). A
//! sign-in sheet opens over the home screen instead of the sign-in screen; the console keeps
//! the request and its body; after signing in the request is sent again, once, and the page
//! says so. Escape on the sheet goes to the sign-in screen.

use std::time::Duration;

use anyhow::{ensure, Result};
use fantoccini::key::Key;
use fantoccini::Client;
use tessera_e2e::app_slot;
use tessera_testkit::{BackendKind, ServerOptions, TestServer};

use super::{click, close, script_on, sign_in, text, type_into, visible, wait_text, Install};

const TWO_DAYS: i64 = 2 * 86_400;

async fn sheet_open(client: &Client) -> Result<bool> {
    Ok(script_on(client, "resign-sheet", "el.open").await? == serde_json::Value::Bool(true))
}

async fn wait_sheet(client: &Client) -> Result<()> {
    for _ in 0..100 {
        if sheet_open(client).await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("the sign-in sheet never opened")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_ends_mid_work_is_signed_in_again_over_the_work() -> Result<()> {
    let _slot = app_slot().await;
    let server = TestServer::start(BackendKind::Rust, ServerOptions::default()).await?;
    let (user, password) = tessera_e2e::credentials(&server);
    let install = Install::new();
    let (_driver, client) = install.launch(&server).await?;
    sign_in(&client, &user, &password).await?;
    visible(&client, "home-screen").await?;

    // The work: a POST with a body, written in the console.
    let body = r#"{"kept": "the user's work"}"#;
    script_on(&client, "request-method", "(el.value = 'POST', el.value)").await?;
    type_into(&client, "request-path", "/api/echo/").await?;
    type_into(&client, "request-body", body).await?;

    // The server no longer accepts the session; Send meets the end of it.
    server.shift_clock(TWO_DAYS).await?;
    click(&client, "request-send").await?;
    wait_sheet(&client).await?;
    let home_hidden = script_on(&client, "home-screen", "el.hidden").await?;
    ensure!(
        home_hidden == serde_json::Value::Bool(false),
        "the home screen was left"
    );
    visible(&client, "resign-kept").await?;
    let found = tessera_e2e::a11y::axe(&client, "sign-in sheet").await?;
    ensure!(found.is_empty(), "axe-core on the sign-in sheet: {found:?}");
    let reason = text(&client, "resign-reason").await?;
    ensure!(!reason.is_empty(), "the sheet does not say why");
    ensure!(
        script_on(&client, "request-body", "el.value").await? == serde_json::json!(body),
        "the request body was lost"
    );
    ensure!(
        server.count("POST /api/echo/ 200").await? == 0,
        "the request went through"
    );
    let sign_ins = server.count("POST /api/token/ 200").await?;
    let focus = client
        .execute("return document.activeElement.dataset.testid", vec![])
        .await?;
    ensure!(
        focus == "resign-password",
        "the sheet put the focus on {focus} (the username is known)"
    );

    // Sign in again on the sheet: the request is sent again, and the page says it was.
    server.shift_clock(-TWO_DAYS).await?;
    type_into(&client, "resign-password", &password).await?;
    click(&client, "resign-submit").await?;
    wait_text(&client, "response-status", |t| t == "200").await?;
    ensure!(!sheet_open(&client).await?, "the sheet stayed open");
    let note = text(&client, "response-note").await?;
    ensure!(
        note.contains("Sent again after you signed in: POST /api/echo/"),
        "the page does not say the request was sent again: {note:?}"
    );
    let echoed = text(&client, "response-body").await?;
    ensure!(echoed.contains("the user's work"), "echo: {echoed}");
    ensure!(server.count("POST /api/echo/ 200").await? == 1);
    ensure!(server.count("POST /api/token/ 200").await? == sign_ins + 1);

    // Once more, and Escape: the sign-in screen, the session still ended.
    server.shift_clock(TWO_DAYS).await?;
    click(&client, "request-send").await?;
    wait_sheet(&client).await?;
    client
        .active_element()
        .await?
        .send_keys(&char::from(Key::Escape).to_string())
        .await?;
    visible(&client, "login-screen").await?;
    ensure!(!sheet_open(&client).await?, "the sheet stayed open");
    close(client).await;
    Ok(())
}
