//! `seclog detect`: one input per line on stdin, one JSON object per line on stdout.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use seclog::core::detect::detect;
use serde_json::json;

pub(crate) fn run() -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.split(b'\n') {
        let bytes = line?;
        let text = String::from_utf8_lossy(&bytes);
        let input = text.strip_suffix('\r').unwrap_or(&text);
        let findings = detect(input);
        let mut attacks: Vec<&str> = Vec::new();
        let mut rules: Vec<String> = Vec::new();
        for f in &findings {
            if !attacks.contains(&f.class.as_str()) {
                attacks.push(f.class.as_str());
            }
            rules.push(f.rule.to_string());
        }
        serde_json::to_writer(
            &mut out,
            &json!({"input": input, "attacks": attacks, "rules": rules}),
        )?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
