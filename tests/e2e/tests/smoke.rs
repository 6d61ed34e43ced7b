//! Smoke test of the real release-mode window: the login screen renders and its password
//! field can take focus.

use fantoccini::Locator;
use tessera_e2e::{app_binary, app_slot, save_screenshot, testid, wait_until_ready, Driver};

#[tokio::test(flavor = "multi_thread")]
async fn login_screen_renders_with_a_focusable_password_field() -> anyhow::Result<()> {
    let app = app_binary()?;
    let _slot = app_slot().await;
    let data = tempfile::tempdir()?;
    let driver = Driver::start_with_env(&[("XDG_DATA_HOME", data.path().as_os_str())]).await?;
    let client = driver.launch(&app, &[]).await?;

    let result = async {
        wait_until_ready(&client).await?;
        let title = client.title().await?;
        anyhow::ensure!(title == "Tessera", "window title was {title:?}");

        let password = client.find(Locator::Css(&testid("password"))).await?;
        anyhow::ensure!(
            password.is_displayed().await?,
            "password field is not displayed"
        );
        anyhow::ensure!(password.is_enabled().await?, "password field is disabled");
        anyhow::ensure!(
            password.attr("type").await?.as_deref() == Some("password"),
            "password field does not mask its input"
        );

        // Focus starts in the first empty field: the username.
        let active = client
            .execute(
                "return document.activeElement && document.activeElement.dataset.testid",
                vec![],
            )
            .await?;
        anyhow::ensure!(
            active == "username",
            "initial focus was on {active}, expected username"
        );

        // The password field takes focus when clicked.
        password.click().await?;
        let active = client
            .execute(
                "return document.activeElement && document.activeElement.dataset.testid",
                vec![],
            )
            .await?;
        anyhow::ensure!(active == "password", "after a click, focus was on {active}");

        // The footer is filled through IPC (`invoke("app_info")`): proves the strict CSP and
        // the capability still let the page reach Rust.
        let footer = client
            .find(Locator::Css(&testid("app-version")))
            .await?
            .text()
            .await?;
        anyhow::ensure!(
            footer == format!("Tessera {}", env!("CARGO_PKG_VERSION")),
            "footer was {footer:?}: the app_info IPC call failed"
        );

        for id in ["profile-select", "username", "sign-in"] {
            client.find(Locator::Css(&testid(id))).await?;
        }
        let shot = save_screenshot(&client, "login").await?;
        eprintln!("screenshot: {}", shot.display());
        Ok(())
    }
    .await;

    client.close().await?;
    result
}
