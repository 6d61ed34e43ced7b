//! "Share with local tools" in the real window: the switch starts the local proxy, the page
//! shows its URL (read here as a user would copy it) and a tool's request through it reaches
//! the server with the session; "Stop sharing", sign-out and quitting close it.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use fantoccini::{Client, Locator};
use tessera_e2e::{app_slot, save_screenshot, testid};
use tessera_session::vault::Vault;
use tessera_testkit::{BackendKind, TestServer};

use super::{
    click, close, script_on, server_options, sign_in, visible, wait_text, Install, PROFILE,
};

/// `GET {url}/api/hello/` from a tool: its status and body, or why it could not be sent.
async fn hello_through(url: &str) -> reqwest::Result<(u16, String)> {
    let answer = reqwest::Client::new()
        .get(format!("{url}/api/hello/"))
        .timeout(Duration::from_secs(10))
        .send()
        .await?;
    let status = answer.status().as_u16();
    Ok((status, answer.text().await?))
}

/// Waits until `id` is hidden.
async fn hidden(client: &Client, id: &str) -> Result<()> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!("{}[hidden]", testid(id))))
        .await
        .with_context(|| format!("{id} never became hidden"))?;
    Ok(())
}

/// What the (visually hidden) live region of "Share with local tools" says, once it says
/// something: its text content, as a screen reader reads it.
async fn announced(client: &Client) -> Result<String> {
    for _ in 0..100 {
        let said = script_on(client, "share-announce", "el.textContent").await?;
        let said = said.as_str().unwrap_or_default();
        if !said.is_empty() {
            return Ok(said.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the live region never announced anything after Copy")
}

/// The URL the page shows, once sharing is on.
async fn shown_url(client: &Client) -> Result<String> {
    visible(client, "share-details").await?;
    let url = script_on(client, "share-url", "el.value").await?;
    let url = url.as_str().unwrap_or_default().to_owned();
    ensure!(
        url.starts_with("http://127.0.0.1:"),
        "the page shows {url:?}"
    );
    Ok(url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_with_local_tools_from_the_home_screen() -> Result<()> {
    let _slot = app_slot().await;
    let server = TestServer::start(BackendKind::Rust, server_options()).await?;
    let (user, password) = tessera_e2e::credentials(&server);
    let install = Install::new();
    let (_driver, client) = install.launch(&server).await?;
    sign_in(&client, &user, &password).await?;
    visible(&client, "home-screen").await?;
    wait_text(&client, "home-user", |t| t.contains(&user)).await?;

    // An accessible switch, off at first.
    let switch = script_on(
        &client,
        "share-toggle",
        "[el.type, el.getAttribute('role'), el.labels[0].textContent, el.checked]",
    )
    .await?;
    ensure!(
        switch == serde_json::json!(["checkbox", "switch", "Share with local tools", false]),
        "the switch: {switch}"
    );

    // On: the URL is shown, and a tool's request through it gets the server's answer.
    click(&client, "share-toggle").await?;
    let url = shown_url(&client).await?;
    let (status, body) = hello_through(&url).await?;
    ensure!(
        status == 200 && body.contains("Hello, World!"),
        "{status} {body}"
    );
    let readonly = script_on(
        &client,
        "share-url",
        "[el.readOnly, getComputedStyle(el).fontFamily]",
    )
    .await?;
    ensure!(
        readonly[0] == true && readonly[1].as_str().unwrap_or_default().contains("mono"),
        "the URL field: {readonly}"
    );
    // "Copy" says what it did in the polite live region (the clipboard works under Xvfb).
    click(&client, "share-copy").await?;
    let said = announced(&client).await?;
    ensure!(said == "Copied", "after Copy the live region says {said:?}");
    let live = script_on(&client, "share-announce", "el.getAttribute('aria-live')").await?;
    ensure!(live == "polite", "{live}");
    save_screenshot(&client, "sharing").await?;

    // "Stop sharing": the switch is off, the URL gone from the page, the port closed.
    click(&client, "share-stop").await?;
    hidden(&client, "share-details").await?;
    let after = script_on(
        &client,
        "share-toggle",
        "[el.checked, document.querySelector(\"[data-testid='share-url']\").value]",
    )
    .await?;
    ensure!(
        after == serde_json::json!([false, ""]),
        "after stopping: {after}"
    );
    ensure!(hello_through(&url).await.is_err(), "the URL still works");

    // On again, then sign out: sharing ends with the session.
    click(&client, "share-toggle").await?;
    let url = shown_url(&client).await?;
    ensure!(hello_through(&url).await?.0 == 200);
    click(&client, "sign-out").await?;
    visible(&client, "login-screen").await?;
    ensure!(
        hello_through(&url).await.is_err(),
        "the URL works after sign-out"
    );

    // Signed in and sharing again, then the app quits: the port closes with it.
    sign_in(&client, &user, &password).await?;
    visible(&client, "home-screen").await?;
    click(&client, "share-toggle").await?;
    let url = shown_url(&client).await?;
    ensure!(hello_through(&url).await?.0 == 200);
    close(client).await;
    ensure!(
        hello_through(&url).await.is_err(),
        "the URL works after quitting"
    );
    // The keyring is shared by every test of the run: leave no session for the next one.
    Vault::new(install.store(), Duration::from_secs(5))
        .clear(PROFILE)
        .await?;
    Ok(())
}
