//! Accessibility checks run inside the real window: axe-core (pinned in `package.json`,
//! installed by `scripts/setup.sh`) injected over WebDriver into the running app, on whatever
//! screen it shows. Every rule axe runs counts, whatever its impact: minor and moderate too.

use crate::workspace_root;
use anyhow::{bail, Context, Result};
use fantoccini::Client;

/// One rule broken on the page, with the elements that break it.
#[derive(Debug)]
pub struct Violation {
    /// The axe rule, e.g. `color-contrast`.
    pub id: String,
    /// minor, moderate, serious or critical.
    pub impact: Option<String>,
    /// What the rule asks for.
    pub help: String,
    /// CSS selectors of the offending elements.
    pub nodes: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let impact = self.impact.as_deref().unwrap_or("unrated");
        write!(
            f,
            "{} ({impact}): {} — {}",
            self.id,
            self.help,
            self.nodes.join(", ")
        )
    }
}

/// The pinned axe-core's version and source.
fn axe_source() -> Result<(String, String)> {
    let dir = workspace_root().join("node_modules/axe-core");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("package.json"))
            .context("axe-core is not installed: run `bash scripts/setup.sh test`")?,
    )?;
    let version = manifest["version"].as_str().unwrap_or_default().to_owned();
    let source = std::fs::read_to_string(dir.join("axe.min.js"))?;
    Ok((version, source))
}

/// Runs every axe rule (WCAG 2.0–2.2 A and AA, and axe's best practices) on the page as it is
/// now; returns what it found and prints the count under `label`.
pub async fn axe(client: &Client, label: &str) -> Result<Vec<Violation>> {
    let (version, source) = axe_source()?;
    let loaded = client
        .execute(
            &format!("{source}\n;return typeof axe === 'object';"),
            vec![],
        )
        .await
        .context("injecting axe-core")?;
    if loaded != serde_json::Value::Bool(true) {
        bail!("axe-core did not load in the window");
    }
    let answer = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ["violations"] })
              .then((r) => done({ violations: r.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")),
              })) }))
              .catch((e) => done({ error: String(e) }));"#,
            vec![],
        )
        .await
        .context("running axe-core")?;
    if let Some(error) = answer.get("error") {
        bail!("axe-core failed: {error}");
    }
    let violations: Vec<Violation> = answer["violations"]
        .as_array()
        .context("axe-core returned no violations list")?
        .iter()
        .map(|v| Violation {
            id: v["id"].as_str().unwrap_or_default().to_owned(),
            impact: v["impact"].as_str().map(str::to_owned),
            help: v["help"].as_str().unwrap_or_default().to_owned(),
            nodes: v["nodes"]
                .as_array()
                .map(|n| {
                    n.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    eprintln!(
        "axe-core {version}: {label}: {} violations",
        violations.len()
    );
    for v in &violations {
        eprintln!("  {v}");
    }
    Ok(violations)
}
