//! The HTTP client of a running `seclog serve` (reqwest blocking, rustls).

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;
use seclog::core::monitor::{Decision, Rule};
use seclog::core::{EventPage, SecurityAlert, Statistics, StoredPage, SuspiciousIp};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::{Backend, NewDecision, Params};

/// A server at `base` (e.g. `https://127.0.0.1:8470`) reached with an API key.
pub(crate) struct Remote {
    base: String,
    key: String,
    client: Client,
}

impl Remote {
    /// A client for `base`; `ca_cert` (PEM) is trusted in addition to the web PKI roots.
    pub(crate) fn new(base: &str, key: &str, ca_cert: Option<&Path>) -> anyhow::Result<Remote> {
        let base = base.trim_end_matches('/').to_string();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            bail!("--server {base:?}: expected an http:// or https:// URL");
        }
        if key.is_empty() {
            bail!("--server needs --api-key (or SECLOG_API_KEY)");
        }
        let mut builder = Client::builder()
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("seclog-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read the CA certificate {}", path.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .with_context(|| format!("{}: not a PEM certificate", path.display()))?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder.build().context("cannot build the HTTP client")?;
        Ok(Remote { base, key: key.to_string(), client })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn send(&self, req: RequestBuilder) -> anyhow::Result<Response> {
        let resp = req
            .header("X-Api-Key", &self.key)
            .send()
            .with_context(|| format!("cannot reach the server {}", self.base))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let body: Value = resp.json().unwrap_or(Value::Null);
        Err(server_error(status, &body))
    }

    fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> anyhow::Result<T> {
        let resp = self.send(self.client.get(self.url(path)).query(query))?;
        resp.json().context("unexpected answer from the server")
    }

    fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> anyhow::Result<T> {
        let resp = self.send(self.client.post(self.url(path)).json(body))?;
        resp.json().context("unexpected answer from the server")
    }

    /// `None` on 404.
    fn get_opt<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Option<T>> {
        match self.get(path, &[]) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.downcast_ref::<NotFound>().is_some() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A 404 from the server.
#[derive(Debug)]
struct NotFound(String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFound {}

/// The server's `{"error": {code, message, field?}}` as an error.
fn server_error(status: StatusCode, body: &Value) -> anyhow::Error {
    let e = &body["error"];
    let code = e["code"].as_str().unwrap_or("error");
    let message = e["message"].as_str().unwrap_or("no details");
    let text = match e["field"].as_str() {
        Some(f) => format!("server answered {status}: {code} ({f}): {message}"),
        None => format!("server answered {status}: {code}: {message}"),
    };
    if status == StatusCode::NOT_FOUND {
        anyhow!(NotFound(text))
    } else {
        anyhow!(text)
    }
}

fn seg(id: &str) -> String {
    serde_urlencoded::to_string([("", id)])
        .map(|s| s.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

impl Backend for Remote {
    fn ingest(&self, items: &[&str]) -> anyhow::Result<Vec<Option<String>>> {
        let mut body = String::with_capacity(items.iter().map(|s| s.len() + 1).sum());
        for item in items {
            body.push_str(item.trim());
            body.push('\n');
        }
        let req = self
            .client
            .post(self.url("/v1/events/batch"))
            .header("Content-Type", "application/x-ndjson")
            .body(body);
        let answer: Value = self.send(req)?.json().context("unexpected answer from the server")?;
        let mut out = vec![None; items.len()];
        for r in answer["rejected"].as_array().into_iter().flatten() {
            let index = r["index"].as_u64().and_then(|i| usize::try_from(i).ok());
            let message = r["error"]["message"].as_str().unwrap_or("rejected").to_string();
            if let Some(slot) = index.and_then(|i| out.get_mut(i)) {
                *slot = Some(message);
            }
        }
        Ok(out)
    }

    fn finish_ingest(&self) -> anyhow::Result<u64> {
        // Every accepted event of a batch is committed before the server answers 201.
        Ok(0)
    }

    fn query(
        &self,
        params: &Params,
        cursor: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<EventPage> {
        let mut q = params.clone();
        q.push(("limit".into(), limit.clamp(1, 1000).to_string()));
        if let Some(c) = cursor {
            q.push(("cursor".into(), c.to_string()));
        }
        self.get("/v1/events", &q)
    }

    fn stored(
        &self,
        params: &Params,
        after: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<StoredPage> {
        let mut q = params.clone();
        q.push(("limit".into(), limit.clamp(1, 1000).to_string()));
        if let Some(a) = after {
            q.push(("after".into(), a.to_string()));
        }
        self.get("/v1/events/feed", &q)
    }

    fn statistics(&self) -> anyhow::Result<Statistics> {
        self.get("/v1/statistics", &[])
    }

    fn decisions(&self, all: bool, limit: usize) -> anyhow::Result<Vec<Decision>> {
        let q = [("all".to_string(), all.to_string()), ("limit".into(), limit.to_string())];
        self.get("/v1/decisions/list", &q)
    }

    fn add_decision(&self, d: &NewDecision) -> anyhow::Result<Decision> {
        self.post("/v1/decisions", &serde_json::to_value(d)?)
    }

    fn delete_decision(&self, id: &str) -> anyhow::Result<Option<Decision>> {
        let req = self.client.delete(self.url(&format!("/v1/decisions/{}", seg(id))));
        match self.send(req) {
            Ok(r) => Ok(Some(r.json().context("unexpected answer from the server")?)),
            Err(e) if e.downcast_ref::<NotFound>().is_some() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn lift_decisions(&self, selection: &Params) -> anyhow::Result<u64> {
        let req = self.client.delete(self.url("/v1/decisions")).query(selection);
        let v: Value = self.send(req)?.json().context("unexpected answer from the server")?;
        v["nbDeleted"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| anyhow!("unexpected answer from the server: {v}"))
    }

    fn suspicious_ips(&self, blocked: bool, limit: usize) -> anyhow::Result<Vec<SuspiciousIp>> {
        let q = [("blocked".to_string(), blocked.to_string()), ("limit".into(), limit.to_string())];
        self.get("/v1/ips", &q)
    }

    fn alerts(&self, status: Option<&str>, limit: usize) -> anyhow::Result<Vec<SecurityAlert>> {
        let mut q = vec![("limit".to_string(), limit.to_string())];
        if let Some(s) = status {
            q.push(("status".into(), s.to_string()));
        }
        self.get("/v1/alerts", &q)
    }

    fn get_alert(&self, id: &str) -> anyhow::Result<Option<SecurityAlert>> {
        self.get_opt(&format!("/v1/alerts/{}", seg(id)))
    }

    fn acknowledge_alert(
        &self,
        id: &str,
        by: &str,
        note: Option<&str>,
    ) -> anyhow::Result<SecurityAlert> {
        self.post(&format!("/v1/alerts/{}/acknowledge", seg(id)), &json!({"by": by, "note": note}))
    }

    fn resolve_alert(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        note: Option<&str>,
    ) -> anyhow::Result<SecurityAlert> {
        self.post(
            &format!("/v1/alerts/{}/resolve", seg(id)),
            &json!({"by": by, "reason": reason, "note": note}),
        )
    }

    fn rules(&self) -> anyhow::Result<Vec<Rule>> {
        self.get("/v1/rules", &[])
    }

    fn purge_before(&self, cutoff: time::OffsetDateTime) -> anyhow::Result<u64> {
        let before = cutoff.format(&time::format_description::well_known::Rfc3339)?;
        let v: Value = self.post("/v1/purge", &json!({ "before": before }))?;
        v["deleted"].as_u64().ok_or_else(|| anyhow!("unexpected answer from the server: {v}"))
    }
}
