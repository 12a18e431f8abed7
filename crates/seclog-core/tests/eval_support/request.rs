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

/// Names and values of an `a=1&b=2` string, each decoded once; a bare token without `=` is its
/// own value. Names are inputs too: an application that validates its parameters (an allow-list
/// of names) hands an unexpected name to the logger, and attacks are carried in names
/// (`?/etc/passwd=1`, `{"$where": ..}` keys).
fn form_values(s: &str, out: &mut Vec<String>) {
    for pair in s.split('&') {
        if pair.is_empty() {
            continue;
        }
        match pair.split_once('=') {
            Some((k, v)) => {
                out.push(url_decode(k, true));
                out.push(url_decode(v, true));
            }
            None => out.push(url_decode(pair, true)),
        }
    }
}

fn json_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| json_values(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            json_values(x, out);
        }),
        _ => {}
    }
}

/// Attribute values and text nodes of an XML body (entities are left for the detector).
fn xml_values(body: &str, out: &mut Vec<String>) {
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        let text = rest[..lt].trim();
        if !text.is_empty() {
            out.push(text.to_string());
        }
        let Some(gt) = rest[lt..].find('>') else { break };
        let tag = &rest[lt + 1..lt + gt];
        let mut t = tag;
        while let Some(eq) = t.find('=') {
            let after = t[eq + 1..].trim_start();
            let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else { break };
            let Some(end) = after[1..].find(q) else { break };
            out.push(after[1..1 + end].to_string());
            t = &after[1 + end + 1..];
        }
        rest = &rest[lt + gt + 1..];
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
pub(crate) fn request_inputs(req: &Value, user_agent: Option<&str>) -> Vec<String> {
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
        // Without a Content-Type the body is sniffed: `<` starts XML, `{`/`[` JSON, else a form.
        let sniffed = match body.trim_start().chars().next() {
            _ if !content_type.is_empty() => content_type.clone(),
            Some('<') => "application/xml".to_string(),
            Some('{' | '[') => "application/json".to_string(),
            _ => String::new(),
        };
        let content_type = sniffed;
        if content_type.starts_with("application/json") {
            if let Ok(v) = serde_json::from_str::<Value>(body) {
                json_values(&v, &mut out);
            }
        } else if content_type.contains("xml") {
            xml_values(body, &mut out);
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
                if let Some((k, v)) = c.split_once('=') {
                    out.push(url_decode(k.trim(), false));
                    out.push(url_decode(v.trim(), false));
                }
            }
        }
    }
    if let Some(ua) = user_agent {
        out.push(ua.to_string());
    }
    out.retain(|s| !s.is_empty());
    out.dedup();
    out
}

/// `User-Agent` values of the CRS test YAML files, keyed by (file, test id, stage index).
///
/// The `.jsonl` export drops the `User-Agent`, `Host` and `Accept` headers (go-ftw's defaults),
/// but some tests place their payload in the User-Agent, which the deployed detector examines,
/// so it is recovered from the YAML source (a line scan: `- test_id:`, `- input:`, `User-Agent:`).
pub(crate) fn yaml_user_agents(
    tests_dir: &std::path::Path,
) -> std::collections::HashMap<(String, String, usize), String> {
    let mut out = std::collections::HashMap::new();
    let Ok(groups) = std::fs::read_dir(tests_dir) else { return out };
    for g in groups.flatten() {
        let Ok(files) = std::fs::read_dir(g.path()) else { continue };
        for f in files.flatten() {
            let name =
                format!("{}/{}", g.file_name().to_string_lossy(), f.file_name().to_string_lossy());
            let text = std::fs::read_to_string(f.path()).unwrap_or_default();
            let (mut test, mut stage) = (String::new(), 0usize);
            for line in text.lines() {
                let t = line.trim_start();
                if let Some(id) = t.strip_prefix("- test_id:") {
                    test = id.trim().to_string();
                    stage = 0;
                } else if t.starts_with("- input:") {
                    stage += 1;
                } else if let Some(v) = t.strip_prefix("User-Agent:") {
                    out.insert(
                        (name.clone(), test.clone(), stage.saturating_sub(1)),
                        yaml_scalar(v),
                    );
                }
            }
        }
    }
    out
}

/// A one-line YAML scalar: plain, `'single'` (`''` escapes `'`) or `"double"` (backslash escapes).
fn yaml_scalar(v: &str) -> String {
    let v = v.trim();
    if let Some(inner) = v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        return inner.replace("''", "'");
    }
    if let Some(inner) = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        let mut s = String::new();
        let mut it = inner.chars();
        while let Some(c) = it.next() {
            if c == '\\' {
                match it.next() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(o) => s.push(o),
                    None => {}
                }
            } else {
                s.push(c);
            }
        }
        return s;
    }
    v.to_string()
}
