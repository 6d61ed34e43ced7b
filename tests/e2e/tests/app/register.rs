//! Registration through the window against the reference backend: the server's field errors
//! (a taken username, an invalid email, a short password) appear next to their fields, each
//! field is marked invalid and described by its error, the focus goes to the first of them;
//! corrected, the account is created and the user is signed in.

use anyhow::{ensure, Result};
use tessera_e2e::app_slot;
use tessera_testkit::{BackendKind, TestServer};

use super::{
    click, close, script_on, server_options, text, type_into, visible, wait_text, Install,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_shows_the_servers_field_errors_then_signs_in() -> Result<()> {
    let _slot = app_slot().await;
    let server = TestServer::start(BackendKind::Rust, server_options()).await?;
    let (taken, _) = tessera_e2e::credentials(&server);
    let install = Install::new();
    install.offer_registration(&server)?;
    let (_driver, client) = install.launch(&server).await?;
    click(&client, "create-account").await?;
    visible(&client, "register-screen").await?;

    type_into(&client, "reg-username", &taken).await?;
    type_into(&client, "reg-email", "not-an-email").await?;
    type_into(&client, "reg-password", "short").await?;
    click(&client, "register-submit").await?;
    for field in ["username", "email", "password"] {
        let error = format!("reg-{field}-error");
        visible(&client, &error).await?;
        ensure!(
            !text(&client, &error).await?.is_empty(),
            "{field}: empty error"
        );
        let marks = script_on(
            &client,
            &format!("reg-{field}"),
            "[el.getAttribute('aria-invalid'), el.getAttribute('aria-describedby')]",
        )
        .await?;
        ensure!(
            marks == serde_json::json!(["true", format!("reg-{field}-error")]),
            "{field}: {marks}"
        );
    }
    let focus = client
        .execute("return document.activeElement.dataset.testid", vec![])
        .await?;
    ensure!(focus == "reg-username", "the focus went to {focus}");
    ensure!(
        server.count("POST /api/register/ 201").await? == 0,
        "an account was created"
    );

    type_into(&client, "reg-username", "carol").await?;
    type_into(&client, "reg-email", "carol@example.com").await?;
    type_into(&client, "reg-password", "a long enough password").await?;
    click(&client, "register-submit").await?;
    visible(&client, "home-screen").await?;
    wait_text(&client, "home-user", |t| t.contains("carol")).await?;
    let marks = script_on(&client, "reg-username", "el.getAttribute('aria-invalid')").await?;
    ensure!(
        marks.is_null(),
        "the username is still marked invalid: {marks}"
    );
    close(client).await;
    Ok(())
}
