//! The OpenAPI document against the router: what each route answers is declared on it.
//! (`scripts/contract_test.sh` checks the whole contract with generated requests.)

use serde_json::Value;

use crate::common::{client, Server};

/// Each operation of the document as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

#[test]
fn every_status_a_route_answers_to_plain_mistakes_is_declared_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("c.db"));
    let doc: Value = client().get(s.url("/openapi.json")).send().unwrap().json().unwrap();
    for (method, path, op) in operations(&doc) {
        let url = s.url(&path.replace("{id}", "no-such-id"));
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let tries = [
            ("no key", client().request(m.clone(), &url)),
            ("no body", client().request(m.clone(), &url).header("X-Api-Key", s.key())),
            (
                "a text body",
                client()
                    .request(m.clone(), &url)
                    .header("X-Api-Key", s.key())
                    .header("Content-Type", "text/plain")
                    .body("x"),
            ),
            (
                "an empty JSON object",
                client()
                    .request(m.clone(), &url)
                    .header("X-Api-Key", s.key())
                    .header("Content-Type", "application/json")
                    .body("{}"),
            ),
        ];
        for (what, req) in tries {
            let status = req.send().unwrap().status().as_u16().to_string();
            assert!(
                op["responses"].get(&status).is_some(),
                "{method} {path} with {what} answered {status}, which the document does not \
                 declare: {}",
                op["responses"]
            );
        }
    }
}

#[test]
fn bodies_are_required_and_keyed_routes_name_their_key_schemes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("c.db"));
    let doc: Value = client().get(s.url("/openapi.json")).send().unwrap().json().unwrap();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["name"], "X-Api-Key", "{schemes}");
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    for (method, path, op) in operations(&doc) {
        if method == "post" {
            assert_eq!(op["requestBody"]["required"], true, "{method} {path}: {op}");
        }
        let open = ["/health", "/openapi.json"].contains(&path.as_str());
        assert_eq!(op.get("security").is_none(), open, "{method} {path}: security");
        if !open {
            for status in ["401", "403", "429"] {
                assert!(op["responses"].get(status).is_some(), "{method} {path}: {status}");
            }
        }
    }
}
