//! Split a CRS regression request into the inputs the deployed detector examines.
//!
//! The detector runs on every input of a request: the URL path, each query value, the body as a
//! whole and, when it is form / JSON / multipart encoded, each of its values, and the values of
//! the headers an application reads (see [`SKIPPED_HEADERS`]). Query and form values are
//! URL-decoded once, as a web framework hands them to the application; the detector decodes
//! further itself.

use serde_json::Value;

/// Protocol framing and content-negotiation headers. Their values are parsed by the HTTP server
/// against a fixed grammar and never reach application code as free text, so they are not
/// examined. Every other header (Referer, Cookie, User-Agent, Authorization, X-*) is.
pub(crate) const SKIPPED_HEADERS: &[&str] = &[
    "host",
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-charset",
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "proxy-connection",
    "keep-alive",
    "cache-control",
    "pragma",
    "te",
    "upgrade",
];

/// Percent-decode once (`+` as space when `form`); invalid escapes are kept literally.
pub(crate) fn url_decode(s: &str, form: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' && i + 2 < b.len() {
            let h = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = h.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if c == b'+' && form { b' ' } else { c });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Values of an `a=1&b=2` string, each decoded once; a bare token without `=` is its own value.
fn form_values(s: &str, out: &mut Vec<String>) {
    for pair in s.split('&') {
        if pair.is_empty() {
            continue;
        }
        let v = pair.split_once('=').map_or(pair, |(_, v)| v);
        out.push(url_decode(v, true));
    }
}

fn json_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| json_values(x, out)),
        Value::Object(o) => o.values().for_each(|x| json_values(x, out)),
        _ => {}
    }
}

/// Part bodies and `filename` parameters of a multipart body (split on lines starting `--`).
fn multipart_values(body: &str, out: &mut Vec<String>) {
    for part in body.split("\n--").flat_map(|p| p.split("\r\n--")) {
        let Some((head, content)) = part.split_once("\n\n").or_else(|| part.split_once("\r\n\r\n"))
        else {
            continue;
        };
        if let Some(p) = head.find("filename=\"") {
            let rest = &head[p + 10..];
            out.push(rest.split('"').next().unwrap_or_default().to_string());
        }
        out.push(content.trim_end_matches(['\r', '\n']).to_string());
    }
}

/// The inputs of one CRS test request (a JSON object from the `.jsonl` file).
pub(crate) fn request_inputs(req: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let uri = req["uri"].as_str().unwrap_or_default();
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    out.push(path.to_string());
    form_values(query, &mut out);
    let headers: Vec<(String, String)> = req["headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    if let Some(body) = req["data"].as_str() {
        out.push(body.to_string());
        if content_type.starts_with("application/json") {
            if let Ok(v) = serde_json::from_str::<Value>(body) {
                json_values(&v, &mut out);
            }
        } else if content_type.starts_with("multipart/form-data") {
            multipart_values(body, &mut out);
        } else if content_type.is_empty()
            || content_type.starts_with("application/x-www-form-urlencoded")
        {
            // A body without a Content-Type is read as a form, as an HTML form would send it.
            form_values(body, &mut out);
        }
    }
    for (name, value) in &headers {
        if SKIPPED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        out.push(value.clone());
        if name == "cookie" {
            for c in value.split(';') {
                if let Some((_, v)) = c.split_once('=') {
                    out.push(url_decode(v.trim(), false));
                }
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out.dedup();
    out
}
