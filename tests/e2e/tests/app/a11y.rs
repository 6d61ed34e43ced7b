//! Accessibility in the real window, in light and in dark: axe-core on every screen and state
//! a user meets (sign-in, a refused sign-in, registration with its field errors, profiles, a
//! profile being edited, home with a response, sharing on). Any violation fails, whatever its
//! impact; the count per screen is printed. And the desktop's "reduce animations" setting
//! stops every animation.

use anyhow::{ensure, Result};
use tessera_e2e::a11y::{axe, Violation};
use tessera_e2e::app_slot;
use tessera_testkit::{BackendKind, TestServer};

use super::{
    click, close, send, server_options, sign_in, type_into, visible, wait_text, Install, Theme,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_passes_axe_in_light_and_dark() -> Result<()> {
    let _slot = app_slot().await;
    let server = TestServer::start(BackendKind::Rust, server_options()).await?;
    let (user, password) = tessera_e2e::credentials(&server);
    let mut report: Vec<(String, Vec<Violation>)> = Vec::new();
    for (theme, name) in [(Theme::Light, "light"), (Theme::Dark, "dark")] {
        let install = Install::new();
        // A profile that offers registration, so "Create an account" is on the screen.
        install.offer_registration(&server)?;
        let (_driver, client) = install.launch_themed(&server, Some(theme)).await?;
        let mut check = |screen: &str, violations: Vec<Violation>| {
            report.push((format!("{screen} ({name})"), violations));
        };

        visible(&client, "create-account").await?;
        check("sign-in", axe(&client, &format!("sign-in, {name}")).await?);
        type_into(&client, "username", &user).await?;
        type_into(&client, "password", "wrong password").await?;
        click(&client, "sign-in").await?;
        visible(&client, "login-error").await?;
        check(
            "sign-in refused",
            axe(&client, &format!("sign-in refused, {name}")).await?,
        );

        click(&client, "create-account").await?;
        visible(&client, "register-screen").await?;
        check(
            "register",
            axe(&client, &format!("register, {name}")).await?,
        );
        click(&client, "register-submit").await?;
        wait_text(&client, "register-error", |t| !t.is_empty())
            .await
            .ok();
        check(
            "register with errors",
            axe(&client, &format!("register with errors, {name}")).await?,
        );
        click(&client, "register-cancel").await?;
        visible(&client, "login-screen").await?;

        click(&client, "manage-profiles").await?;
        visible(&client, "profiles-screen").await?;
        check(
            "profiles",
            axe(&client, &format!("profiles, {name}")).await?,
        );
        click(&client, "profile-new").await?;
        check(
            "profile form",
            axe(&client, &format!("new profile, {name}")).await?,
        );
        click(&client, "profiles-back").await?;
        visible(&client, "login-screen").await?;

        sign_in(&client, &user, &password).await?;
        visible(&client, "home-screen").await?;
        send(&client, "POST", "/api/echo/", r#"{"hello": "world"}"#).await?;
        check("home", axe(&client, &format!("home, {name}")).await?);
        click(&client, "share-toggle").await?;
        visible(&client, "share-details").await?;
        check(
            "home, sharing on",
            axe(&client, &format!("home sharing, {name}")).await?,
        );
        click(&client, "sign-out").await?;
        visible(&client, "login-screen").await?;
        close(client).await;
    }
    let failing: Vec<String> = report
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(screen, v)| {
            let list: Vec<String> = v.iter().map(ToString::to_string).collect();
            format!("{screen}: {}", list.join("; "))
        })
        .collect();
    eprintln!(
        "axe-core per screen: {}",
        report
            .iter()
            .map(|(s, v)| format!("{s} {}", v.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    ensure!(
        failing.is_empty(),
        "axe-core violations:\n{}",
        failing.join("\n")
    );
    Ok(())
}

/// The page's reading of the desktop's motion setting, and the spinner's animation.
async fn motion(client: &fantoccini::Client) -> Result<(bool, String)> {
    let value = client
        .execute(
            "return [matchMedia('(prefers-reduced-motion: reduce)').matches,
                     getComputedStyle(document.querySelector('.spinner')).animationName];",
            vec![],
        )
        .await?;
    Ok((
        value[0].as_bool().unwrap_or_default(),
        value[1].as_str().unwrap_or_default().to_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reduced_motion_on_the_desktop_stops_the_animations() -> Result<()> {
    let _slot = app_slot().await;
    let server = TestServer::start(BackendKind::Rust, server_options()).await?;
    let install = Install::new();
    let (_driver, client) = install.launch(&server).await?;
    let (reduce, spinner) = motion(&client).await?;
    ensure!(
        !reduce && spinner == "spin",
        "default motion: {reduce} {spinner}"
    );
    close(client).await;
    drop(_driver);

    let install = Install {
        reduced_motion: true,
        ..Install::new()
    };
    let (_driver, client) = install.launch(&server).await?;
    let (reduce, spinner) = motion(&client).await?;
    ensure!(
        reduce,
        "WebKit did not report prefers-reduced-motion: reduce"
    );
    ensure!(spinner == "none", "the spinner still spins: {spinner}");
    close(client).await;
    Ok(())
}
