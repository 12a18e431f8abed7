//! The CrowdSec bouncer protocol and manual decisions.

use serde_json::{json, Value};

use crate::common::{client, ev, Server};

#[test]
fn crowdsec_stream_sees_new_block_then_its_deletion_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("t.db"));
    let admin = s.key().to_string();
    let bouncer = s.create_key(&["bouncer"]);
    let stream = |q: &str| -> Value {
        let r = s.get(&format!("/v1/decisions/stream{q}"), &bouncer).send().unwrap();
        assert_eq!(r.status(), 200);
        r.json().unwrap()
    };

    // Startup with nothing: CrowdSec answers nulls.
    assert_eq!(stream("?startup=true"), json!({"new": null, "deleted": null}));
    assert_eq!(
        s.get("/v1/decisions", &bouncer).send().unwrap().json::<Value>().unwrap(),
        Value::Null
    );

    // Five failed logins from one IP: the default rule blocks it.
    for _ in 0..5 {
        assert_eq!(
            s.post("/v1/events", &admin, &ev("auth_failure", "203.0.113.7"))
                .send()
                .unwrap()
                .status(),
            201
        );
    }
    let inc = stream("");
    let new = inc["new"].as_array().expect("a new decision");
    assert_eq!(new.len(), 1);
    let d = &new[0];
    assert_eq!(d["value"], "203.0.113.7");
    assert_eq!(d["scope"], "Ip");
    assert_eq!(d["type"], "ban");
    assert!(d["id"].is_i64());
    assert!(d["duration"].as_str().unwrap().ends_with('s'));
    assert!(d["scenario"].is_string() && d["origin"].is_string());

    // GET /v1/decisions?ip= finds it; another IP does not.
    let by_ip: Value =
        s.get("/v1/decisions?ip=203.0.113.7", &bouncer).send().unwrap().json().unwrap();
    assert_eq!(by_ip[0]["value"], "203.0.113.7");
    let other: Value =
        s.get("/v1/decisions?ip=192.0.2.200", &bouncer).send().unwrap().json().unwrap();
    assert_eq!(other, Value::Null);

    // Lift it by hand: the next poll reports it deleted.
    let uuid = d["uuid"].as_str().unwrap();
    let r = client()
        .delete(s.url(&format!("/v1/decisions/{uuid}")))
        .header("X-Api-Key", &admin)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let inc = stream("");
    let deleted = inc["deleted"].as_array().expect("a deleted decision");
    assert!(deleted.iter().any(|x| x["uuid"] == uuid));

    // A manual decision of two seconds: new, then deleted by expiry.
    let body = json!({"scope": "ip", "value": "198.51.100.77", "duration": "2s", "reason": "test"});
    let r = s.post("/v1/decisions", &admin, &body).send().unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().unwrap()["id"].as_str().unwrap().to_string();
    let inc = stream("");
    assert!(inc["new"].as_array().unwrap().iter().any(|x| x["uuid"] == id));
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let inc = stream("");
    assert!(
        inc["deleted"]
            .as_array()
            .expect("expired decision reported")
            .iter()
            .any(|x| x["uuid"] == id),
        "{inc}"
    );

    // Errors: bad duration, unknown decision, a bouncer key cannot add.
    let r = s
        .post("/v1/decisions", &admin, &json!({"value": "1.2.3.4", "duration": "soon"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["error"]["field"], "duration");
    let r =
        client().delete(s.url("/v1/decisions/nope")).header("X-Api-Key", &admin).send().unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        s.post("/v1/decisions", &bouncer, &json!({"value": "1.2.3.4"})).send().unwrap().status(),
        403
    );
}

#[test]
fn crowdsec_delete_by_value_unblocks_the_ip_in_the_engine_and_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("v.db"));
    let admin = s.key().to_string();
    let bouncer = s.create_key(&["bouncer"]);
    let delete = |q: &str, key: &str| client().delete(s.url(q)).header("X-Api-Key", key).send();
    // The default rule bans 203.0.113.7; a manual range covers it too, another does not.
    for _ in 0..5 {
        let r = s.post("/v1/events", &admin, &ev("auth_failure", "203.0.113.7")).send().unwrap();
        assert_eq!(r.status(), 201);
    }
    for net in ["203.0.113.0/24", "198.51.100.0/24"] {
        let body = json!({"scope": "range", "value": net});
        assert_eq!(s.post("/v1/decisions", &admin, &body).send().unwrap().status(), 201);
    }
    let startup: Value =
        s.get("/v1/decisions/stream?startup=true", &bouncer).send().unwrap().json().unwrap();
    assert_eq!(startup["new"].as_array().unwrap().len(), 3);
    let blocks = |ip: &str| -> Value {
        s.get(&format!("/v1/decisions?ip={ip}"), &bouncer).send().unwrap().json().unwrap()
    };
    assert!(blocks("203.0.113.7").is_array());

    // A bouncer may not delete (in CrowdSec a machine's action); bad selections are 400s.
    assert_eq!(delete("/v1/decisions?ip=203.0.113.7", &bouncer).unwrap().status(), 403);
    for q in ["", "?ip=203.0.113", "?colour=red", "?ip=203.0.113.7&type=captcha"] {
        let r = delete(&format!("/v1/decisions{q}"), &admin).unwrap();
        assert_eq!(r.status(), 400, "{q}");
    }

    let r = delete("/v1/decisions?ip=203.0.113.7", &admin).unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap(), json!({"nbDeleted": "2"}), "the ban and the /24");
    assert_eq!(blocks("203.0.113.7"), Value::Null, "the engine no longer blocks it");
    assert!(blocks("198.51.100.1").is_array(), "the other range stays");
    let inc: Value = s.get("/v1/decisions/stream", &bouncer).send().unwrap().json().unwrap();
    let mut deleted: Vec<&str> =
        inc["deleted"].as_array().unwrap().iter().map(|d| d["value"].as_str().unwrap()).collect();
    deleted.sort_unstable();
    assert_eq!(deleted, ["203.0.113.0/24", "203.0.113.7"], "{inc}");

    let r = delete("/v1/decisions?scope=Range&value=198.51.100.0/24", &admin).unwrap();
    assert_eq!(r.json::<Value>().unwrap(), json!({"nbDeleted": "1"}));
    let r = delete("/v1/decisions?ip=203.0.113.7", &admin).unwrap();
    assert_eq!(r.json::<Value>().unwrap(), json!({"nbDeleted": "0"}), "nothing left to lift");
}

/// `seclog decisions add|delete` on the database of a running `seclog serve` is carried out by
/// the server (the engine of that database): its API and bouncer stream agree at once.
#[test]
fn a_decision_added_with_the_cli_on_the_database_is_enforced_by_the_running_server_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let s = Server::start(&db);
    let bouncer = s.create_key(&["bouncer"]);
    assert_eq!(s.get("/v1/decisions/stream?startup=true", &bouncer).send().unwrap().status(), 200);
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(crate::common::bin())
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let ip = "198.51.100.77";
    let lookup = || -> Value {
        s.get(&format!("/v1/decisions?ip={ip}"), &bouncer).send().unwrap().json().unwrap()
    };
    cli(&["decisions", "add", "--ip", ip, "--duration", "1h", "--reason", "cli"]);
    // The first request after the command returns already sees it.
    let found = lookup();
    assert_eq!(found[0]["value"], ip, "{found}");
    let inc: Value = s.get("/v1/decisions/stream", &bouncer).send().unwrap().json().unwrap();
    assert_eq!(inc["new"][0]["value"], ip, "{inc}");
    cli(&["decisions", "delete", "--ip", ip]);
    assert_eq!(lookup(), Value::Null);
    let inc: Value = s.get("/v1/decisions/stream", &bouncer).send().unwrap().json().unwrap();
    assert_eq!(inc["deleted"][0]["value"], ip, "{inc}");
    s.terminate();
}
