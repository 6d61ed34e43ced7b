//! Client side of the `/_test/` controls (the same endpoints on both backends).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context as _};
use serde_json::{json, Value};

use crate::process::TestServer;

impl TestServer {
    async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        if !self.options().test_controls {
            bail!("test controls are off for this {} server", self.kind());
        }
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {path} on the {} server", self.kind()))?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path} answered {status}: {value}");
        }
        Ok(value)
    }

    /// All request counters, keyed `"METHOD path status"`.
    pub async fn counters(&self) -> anyhow::Result<BTreeMap<String, u64>> {
        let value = self
            .control(reqwest::Method::GET, "_test/counters", None)
            .await?;
        let counts = value
            .get("counts")
            .and_then(Value::as_object)
            .ok_or_else(|| anyhow!("unexpected counters body: {value}"))?;
        counts
            .iter()
            .map(|(key, count)| {
                count
                    .as_u64()
                    .map(|n| (key.clone(), n))
                    .ok_or_else(|| anyhow!("counter {key} is not a number: {count}"))
            })
            .collect()
    }

    /// One counter, e.g. `count("POST /api/token/refresh/ 200")`; 0 if never seen.
    pub async fn count(&self, method_path_status: &str) -> anyhow::Result<u64> {
        Ok(self
            .counters()
            .await?
            .get(method_path_status)
            .copied()
            .unwrap_or(0))
    }

    /// Zero the counters, clear injected failures and delay, put the clock back.
    pub async fn reset(&self) -> anyhow::Result<()> {
        self.control(reqwest::Method::POST, "_test/reset", None)
            .await?;
        Ok(())
    }

    /// The next `n` `POST /api/token/refresh/` answer `status` without being processed.
    pub async fn fail_next_refreshes(&self, n: u32, status: u16) -> anyhow::Result<()> {
        let body = json!({"count": n, "status": status});
        self.control(reqwest::Method::POST, "_test/fail-refresh", Some(body))
            .await?;
        Ok(())
    }

    /// As [`TestServer::fail_next_refreshes`], with a `Retry-After: SECS` header.
    pub async fn fail_next_refreshes_with_retry_after(
        &self,
        n: u32,
        status: u16,
        retry_after_secs: u64,
    ) -> anyhow::Result<()> {
        let body = json!({"count": n, "status": status, "retry_after": retry_after_secs});
        self.control(reqwest::Method::POST, "_test/fail-refresh", Some(body))
            .await?;
        Ok(())
    }

    /// Delay every later response by `ms` milliseconds (0 to stop).
    pub async fn set_delay_ms(&self, ms: u64) -> anyhow::Result<()> {
        self.control(
            reqwest::Method::POST,
            "_test/delay",
            Some(json!({ "ms": ms })),
        )
        .await?;
        Ok(())
    }

    /// Move the server clock `secs` seconds (cumulative; negative goes back; reset undoes).
    /// Returns the server's new "now" in Unix seconds.
    pub async fn shift_clock(&self, secs: i64) -> anyhow::Result<i64> {
        let value = self
            .control(
                reqwest::Method::POST,
                "_test/clock",
                Some(json!({ "shift_secs": secs })),
            )
            .await?;
        value
            .get("now")
            .and_then(Value::as_i64)
            .ok_or_else(|| anyhow!("unexpected clock body: {value}"))
    }
}
