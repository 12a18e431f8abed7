//! Acknowledged means durable: SIGKILL mid-load loses no event whose 201 was received.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::common::{client, Server};

#[test]
fn sigkill_mid_load_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let s = Server::start(&db);
    let key = s.key().to_string();
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..8 {
        let (url, key, acked, stop) =
            (s.url("/v1/events"), key.clone(), acked.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let c = client();
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body =
                    serde_json::json!({"event_type": "api_access", "user_id": format!("u{t}-{n}")});
                match c.post(&url).header("X-Api-Key", &key).json(&body).send() {
                    Ok(r) if r.status() == 201 => {
                        if let Ok(v) = r.json::<Value>() {
                            acked.lock().unwrap().push(v["event_id"].as_str().unwrap().to_string());
                        }
                    }
                    _ => {}
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    drop(s); // SIGKILL while the clients are still sending
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 50, "only {} events acknowledged", acked.len());

    let s = Server::start(&db);
    assert!(s.admin_key.is_none(), "the existing admin key is kept");
    let c = client();
    for id in &acked {
        let r = c.get(s.url(&format!("/v1/events/{id}"))).header("X-Api-Key", &key).send().unwrap();
        assert_eq!(r.status(), 200, "acknowledged event {id} lost");
    }
}
