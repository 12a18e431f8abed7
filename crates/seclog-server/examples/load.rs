#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Loopback load generator for `seclog serve`.
//!
//! `cargo run --release -p seclog-server --example load -- URL KEY MODE CONCURRENCY SECONDS`
//!
//! - `single`: one event per request to POST /v1/events (201 only after the commit); prints
//!   requests/s and latency percentiles.
//! - `batch`: 1,000-event JSON arrays to POST /v1/events/batch (accepted items are committed
//!   before the answer); prints events/s.
//! - `query-ip` / `query-type`: GET /v1/events with `limit=100` and an IP filter (cycling
//!   through 1,024 addresses of the benchmark database's generator, `10.(i%7).(i%251).(i%199+1)`)
//!   or a type filter (cycling through its four types); prints latency percentiles.
//!
//! CONCURRENCY connections each send their next request when the previous answer arrives.
//! Bodies and URLs are built before the clock starts. With the key's scope allowing it
//! (admin), the server's commit counters are read from /metrics before and after, and the
//! events per commit (how well concurrent requests group) are printed too.
//! `LOAD_THREADS` sets the generator's tokio worker threads (default 1: on the 2-core
//! benchmark machine the server needs the other core).

use std::time::{Duration, Instant};

use axum::body::Bytes;

const BATCH: usize = 1000;

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
    let threads: usize = std::env::var("LOAD_THREADS").map_or(1, |v| v.parse().unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(url.clone(), key.clone(), mode, conc, Duration::from_secs(secs)));
}

/// What one connection sends.
#[derive(Clone)]
enum Work {
    Post { endpoint: String, body: Bytes },
    Get { urls: Vec<String> },
}

fn work(url: &str, mode: &str) -> Work {
    match mode {
        "single" => Work::Post {
            endpoint: format!("{url}/v1/events"),
            body: serde_json::to_vec(&serde_json::json!({"event_type": "api_access",
                "user_id": "u1", "ip_address": "10.1.2.3", "request_url": "/api/x"}))
            .unwrap()
            .into(),
        },
        "batch" => {
            let items: Vec<_> = (0..BATCH)
                .map(|i| {
                    serde_json::json!({"event_type": "api_access", "user_id": format!("u{i}"),
                    "ip_address": format!("10.{}.{}.{}", i % 7, i % 251, i % 199 + 1),
                    "request_url": "/api/x"})
                })
                .collect();
            Work::Post {
                endpoint: format!("{url}/v1/events/batch"),
                body: serde_json::to_vec(&items).unwrap().into(),
            }
        }
        "query-ip" => Work::Get {
            urls: (0..1024u64)
                .map(|k| {
                    // Spread over the generator's 349,643 distinct addresses.
                    let i = k.wrapping_mul(2_654_435_761) % 10_000_000;
                    let ip = format!("10.{}.{}.{}", i % 7, i % 251, i % 199 + 1);
                    format!("{url}/v1/events?ip_address={ip}&limit=100")
                })
                .collect(),
        },
        "query-type" => Work::Get {
            urls: ["auth_failure", "api_access", "auth_success", "data_access"]
                .iter()
                .map(|t| format!("{url}/v1/events?event_type={t}&limit=100"))
                .collect(),
        },
        other => panic!("unknown mode {other}"),
    }
}

/// `(batches, events)` committed so far, when /metrics is readable with this key.
async fn commits(client: &reqwest::Client, url: &str, key: &str) -> Option<(f64, f64)> {
    let r = client.get(format!("{url}/metrics")).header("X-Api-Key", key).send().await.ok()?;
    let text = r.error_for_status().ok()?.text().await.ok()?;
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
    };
    Some((value("seclog_commit_batches_total")?, value("seclog_events_committed_total")?))
}

async fn run(url: String, key: String, mode: &str, conc: usize, dur: Duration) {
    let per_request = if mode == "batch" { BATCH as f64 } else { 1.0 };
    let work = work(&url, mode);
    let client = reqwest::Client::new();
    let before = commits(&client, &url, &key).await;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..conc {
        let (client, key, work) = (client.clone(), key.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut n = c;
            while start.elapsed() < dur {
                let t = Instant::now();
                let r = match &work {
                    Work::Get { urls } => {
                        client.get(&urls[n % urls.len()]).header("X-Api-Key", &key).send().await
                    }
                    Work::Post { endpoint, body } => {
                        client
                            .post(endpoint)
                            .header("X-Api-Key", &key)
                            .header("Content-Type", "application/json")
                            .body(body.clone())
                            .send()
                            .await
                    }
                };
                n += conc;
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
    let after = commits(&client, &url, &key).await;
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let n = lat.len() as f64;
    let grouping = match (before, after) {
        (Some((b0, e0)), Some((b1, e1))) if b1 > b0 => {
            format!(" commits={} events/commit={:.0}", b1 - b0, (e1 - e0) / (b1 - b0))
        }
        _ => String::new(),
    };
    println!(
        "mode={mode} concurrency={conc} requests={} errors={errors} elapsed={elapsed:.1}s \
         req/s={:.0} events/s={:.0} p50={:?} p99={:?} max={:?}{grouping}",
        lat.len(),
        n / elapsed,
        n * per_request / elapsed,
        pct(0.50),
        pct(0.99),
        lat.last().copied().unwrap_or_default()
    );
}
