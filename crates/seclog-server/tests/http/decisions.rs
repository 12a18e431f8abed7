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
