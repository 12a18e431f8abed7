//! Starts the real `seclog serve` binary on an ephemeral port.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder};
use serde_json::Value;

pub struct Server {
    pub child: Child,
    pub base: String,
    pub admin_key: Option<String>,
    pub db: PathBuf,
}

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("seclog")
}

impl Server {
    pub fn start(db: &Path) -> Server {
        Self::start_with(db, &[])
    }

    pub fn start_with(db: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_full(db, env, &[])
    }

    /// With extra `seclog serve` arguments (e.g. --tls-cert/--tls-key).
    pub fn start_full(db: &Path, env: &[(&str, &str)], extra: &[&str]) -> Server {
        let mut cmd = Command::new(bin());
        cmd.arg("--db").arg(db).args(["serve", "--listen", "127.0.0.1:0"]).args(extra);
        cmd.env_remove("SECLOG_SERVER").env_remove("SECLOG_API_KEY");
        cmd.env_remove("SECLOG_CONFIG").env_remove("SECLOG_DB").env_remove("SECLOG_LISTEN");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut admin_key = None;
        let base = loop {
            let line = rx.recv_timeout(Duration::from_secs(30)).expect("server starts");
            if let Some(k) = line.strip_prefix("seclog: admin key: ") {
                admin_key = Some(k.trim().to_string());
            }
            if let Some(a) = line.strip_prefix("seclog: listening on ") {
                break a.trim().to_string();
            }
        };
        Server { child, base, admin_key, db: db.to_path_buf() }
    }

    pub fn key(&self) -> &str {
        self.admin_key.as_deref().expect("an admin key was printed")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str, key: &str) -> RequestBuilder {
        client().get(self.url(path)).header("X-Api-Key", key)
    }

    pub fn post(&self, path: &str, key: &str, body: &Value) -> RequestBuilder {
        client().post(self.url(path)).bearer_auth(key).json(body)
    }

    /// Creates a key through the CLI on the same database.
    pub fn create_key(&self, scopes: &[&str]) -> String {
        let mut cmd = Command::new(bin());
        cmd.arg("--db").arg(&self.db).args(["keys", "create", "--name", "t", "--format", "json"]);
        for s in scopes {
            cmd.args(["--scope", s]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["key"].as_str().unwrap().to_string()
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(self) -> std::process::ExitStatus {
        self.signal("-TERM")
    }

    /// Sends `signal` (`-TERM`, `-INT`, ...), then the exit status.
    pub fn signal(mut self, signal: &str) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let st = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(st.success());
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> Client {
    Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

pub fn ev(ty: &str, ip: &str) -> Value {
    serde_json::json!({"event_type": ty, "ip_address": ip, "user_id": "alice"})
}

/// The error code of a JSON error answer (and checks its shape).
pub fn error_code(v: &Value) -> String {
    assert!(v["error"]["message"].is_string(), "error shape: {v}");
    v["error"]["code"].as_str().unwrap().to_string()
}
