use super::*;

const M: &str = "[REDACTED]";

fn r(s: &str) -> String {
    redact_text(s, &KeyMatcher::default(), M).unwrap_or_else(|| s.to_string())
}

#[test]
fn clean_text_is_not_copied() {
    for s in [
        "Mozilla/5.0 (X11; Linux x86_64)",
        "/api/login",
        "user=alice&remember=1",
        "{\"username\": \"alice\", \"token_count\": 3}",
        "Basic Authentication failed",
        "at 10:00:00 from https://example.com/x",
        "",
    ] {
        assert_eq!(redact_text(s, &KeyMatcher::default(), M), None, "{s}");
    }
}

#[test]
fn form_and_query_pairs() {
    assert_eq!(r("user=alice&password=hunter2&x=1"), "user=alice&password=[REDACTED]&x=1");
    assert_eq!(r("/login?api_key=abc123&next=/"), "/login?api_key=[REDACTED]&next=/");
    assert_eq!(r("/x;jsessionid=ABCDEF1234"), "/x;jsessionid=[REDACTED]");
    assert_eq!(r("user%5Bpassword%5D=s3cr3t"), "user%5Bpassword%5D=[REDACTED]");
    assert_eq!(r("user[password]=s3cr3t&a=b"), "user[password]=[REDACTED]&a=b");
    assert_eq!(r("password=my+secret+pw"), "password=[REDACTED]");
}

#[test]
fn json_text_pairs_stay_json() {
    let out = r(r#"{"user":"bob","password":"p@ss \"w\" rd","pin": 1234,"cvv":"123"}"#);
    assert_eq!(
        out,
        r#"{"user":"bob","password":"[REDACTED]","pin": "[REDACTED]","cvv":"[REDACTED]"}"#
    );
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    // Truncated JSON still gets masked.
    assert_eq!(r(r#"{"password": "hunter2…[truncated]"#), r#"{"password": "[REDACTED]"#);
    // JSON embedded in a JSON string.
    assert_eq!(r(r#"{\"token\":\"abc\"}"#), r#"{\"token\":\"[REDACTED]\"}"#);
}

#[test]
fn free_text_pairs_and_schemes() {
    assert_eq!(
        r("login failed, password: hunter2, retry"),
        "login failed, password: [REDACTED], retry"
    );
    assert_eq!(r("Authorization: Bearer abc.def.ghi"), "Authorization: [REDACTED]");
    assert_eq!(r("Authorization: Token zz9xx8yy7"), "Authorization: [REDACTED]");
    assert_eq!(r("sent bearer sk-abcdef123456 to api"), "sent bearer [REDACTED] to api");
    assert_eq!(r("hdr Basic dXNlcjpwYXNz"), "hdr Basic [REDACTED]");
    assert_eq!(r("the bearer of news"), "the bearer of news");
}

#[test]
fn jwts_prefixes_pem_userinfo() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nat_ure";
    assert_eq!(r(&format!("token was {jwt} ok")), "token was [REDACTED] ok");
    assert_eq!(r("key sk_live_4eC39HqLyjWDarjtT1zdp7dc used"), "key [REDACTED] used");
    assert_eq!(r("AKIAIOSFODNN7EXAMPLE"), "[REDACTED]");
    let pem = "x -----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE KEY----- y";
    assert_eq!(r(pem), "x [REDACTED] y");
    let cert = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----";
    assert_eq!(r(cert), cert);
    assert_eq!(r("postgres://app:S3cret!@db:5432/x"), "postgres://app:[REDACTED]@db:5432/x");
    assert_eq!(r("https://example.com:8443/a"), "https://example.com:8443/a");
}

#[test]
fn cards_in_text() {
    assert_eq!(r("paid with 4111-1111-1111-1111 today"), "paid with 411111******1111 today");
    assert_eq!(r("order 1234567812345678"), "order 1234567812345678");
}

#[test]
fn redaction_is_idempotent_on_examples() {
    for s in [
        "user=a&password=x&card=4111111111111111",
        "Authorization: Bearer abcdefgh",
        r#"{"pan": 4111111111111111, "cvv": 123}"#,
        "pan=4111 1111 1111 1111",
    ] {
        let once = r(s);
        assert_eq!(r(&once), once, "{s}");
    }
}
