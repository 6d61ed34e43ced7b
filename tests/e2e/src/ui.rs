//! What every end-to-end test does to the window: wait for an element, read and type into it,
//! click it, sign in. Elements are found by their `data-testid`.

use std::time::Duration;

use anyhow::{Context, Result};
use fantoccini::{Client, Locator};

use crate::testid;

/// Waits (at most 20 s) until the element `id` is in the page and not `hidden`.
pub async fn visible(client: &Client, id: &str) -> Result<()> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!("{}:not([hidden])", testid(id))))
        .await
        .with_context(|| format!("{id} never became visible"))?;
    Ok(())
}

/// The element's text.
pub async fn text(client: &Client, id: &str) -> Result<String> {
    Ok(client.find(Locator::Css(&testid(id))).await?.text().await?)
}

/// Replaces the field's value with `value`.
pub async fn type_into(client: &Client, id: &str, value: &str) -> Result<()> {
    let field = client.find(Locator::Css(&testid(id))).await?;
    field.clear().await?;
    if !value.is_empty() {
        field.send_keys(value).await?;
    }
    Ok(())
}

/// Clicks the element.
pub async fn click(client: &Client, id: &str) -> Result<()> {
    client
        .find(Locator::Css(&testid(id)))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Polls until `id`'s text satisfies `check` (at most 20 s).
pub async fn wait_text(client: &Client, id: &str, check: impl Fn(&str) -> bool) -> Result<String> {
    for _ in 0..200 {
        let t = text(client, id).await?;
        if check(&t) {
            return Ok(t);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = text(client, id).await?;
    anyhow::bail!("{id} never matched; it says {t:?}")
}

/// Fills the sign-in form and presses Sign in.
pub async fn sign_in(client: &Client, user: &str, password: &str) -> Result<()> {
    type_into(client, "username", user).await?;
    type_into(client, "password", password).await?;
    click(client, "sign-in").await
}

/// Sends a request from the home screen's console; returns the status and body it shows.
pub async fn send(
    client: &Client,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(String, String)> {
    // WebKitWebDriver cannot click an <option>: set the <select> the way a change would.
    client
        .execute(
            "const s = document.querySelector(\"[data-testid='request-method']\"); s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
            vec![serde_json::json!(method)],
        )
        .await?;
    type_into(client, "request-path", path).await?;
    type_into(client, "request-body", body).await?;
    // Mark the old response so we wait for the new one.
    client
        .execute(
            "document.querySelector(\"[data-testid='response-status']\").textContent='…'",
            vec![],
        )
        .await?;
    click(client, "request-send").await?;
    let status = wait_text(client, "response-status", |s| s != "…" && s != "–").await?;
    let body = text(client, "response-body").await?;
    Ok((status, body))
}
