#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Loopback load generator for `seclog serve`.
//!
//! `cargo run --release -p seclog-server --example load -- URL KEY MODE CONCURRENCY SECONDS`
//! MODE `single` POSTs one event per request to /v1/events (201 only after commit) and prints
//! requests/s and latency percentiles; `batch` POSTs 1,000-event JSON arrays to
//! /v1/events/batch and prints events/s; `query-ip` and `query-type` GET /v1/events with an
//! IP (10.1.2.3) or type (auth_failure) filter and limit=100 and print latency percentiles.

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, key, mode, conc, secs] = &args[..] else {
        eprintln!("usage: load URL KEY single|batch|query-ip|query-type CONCURRENCY SECONDS");
        std::process::exit(2);
    };
    assert!(
        url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost"),
        "loopback only"
    );
    let conc: usize = conc.parse().unwrap();
    let secs: u64 = secs.parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(run(url.clone(), key.clone(), mode, conc, Duration::from_secs(secs)));
}

async fn run(url: String, key: String, mode: &str, conc: usize, dur: Duration) {
    let batch = mode == "batch";
    let query = match mode {
        "query-ip" => Some("ip_address=10.1.2.3&limit=100"),
        "query-type" => Some("event_type=auth_failure&limit=100"),
        "single" | "batch" => None,
        other => panic!("unknown mode {other}"),
    };
    let client = reqwest::Client::new();
    let body = if batch {
        let items: Vec<_> = (0..1000)
            .map(|i| serde_json::json!({"event_type": "api_access", "user_id": format!("u{i}"),
                "ip_address": format!("10.{}.{}.{}", i % 7, i % 251, i % 199 + 1), "request_url": "/api/x"}))
            .collect();
        serde_json::to_vec(&items).unwrap()
    } else {
        serde_json::to_vec(&serde_json::json!({"event_type": "api_access", "user_id": "u1",
            "ip_address": "10.1.2.3", "request_url": "/api/x"}))
        .unwrap()
    };
    let endpoint = match (batch, query) {
        (true, _) => format!("{url}/v1/events/batch"),
        (false, Some(q)) => format!("{url}/v1/events?{q}"),
        (false, None) => format!("{url}/v1/events"),
    };
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, endpoint, key, body) =
            (client.clone(), endpoint.clone(), key.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while start.elapsed() < dur {
                let t = Instant::now();
                let r = if query.is_some() {
                    client.get(&endpoint).header("X-Api-Key", &key).send().await
                } else {
                    client
                        .post(&endpoint)
                        .header("X-Api-Key", &key)
                        .header("Content-Type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                };
                match r {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        lat.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let n = lat.len() as f64;
    println!(
        "mode={} concurrency={conc} requests={} errors={errors} elapsed={elapsed:.1}s req/s={:.0} events/s={:.0} p50={:?} p99={:?} max={:?}",
        mode,
        lat.len(),
        n / elapsed,
        n * if batch { 1000.0 } else { 1.0 } / elapsed,
        pct(0.50),
        pct(0.99),
        lat.last().copied().unwrap_or_default()
    );
}
