//! Configuration: the spec's keys with sensible defaults, loadable from TOML and environment.
//!
//! Precedence: defaults < TOML file < environment variables (`SECLOG_<KEY>` in upper case,
//! e.g. `SECLOG_DB_FILE`, `SECLOG_RETENTION_DAYS`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use seclog_core::monitor::{default_rules, EscalationPolicy, IpRiskConfig, Rule, RuleSet};
use seclog_core::redact::RedactionConfig;
use seclog_core::validate::Limits;

use crate::error::{LogError, Result};

/// What `log_event` does when the queue to the writer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueFullPolicy {
    /// Wait for room (back-pressure on the caller). Nothing is lost.
    #[default]
    Wait,
    /// Refuse the event at once, count it in `events_dropped`, return [`LogError::QueueFull`].
    Drop,
}

/// The smallest `wal_max_bytes` accepted: 64 KiB (a few transactions of a few events).
pub const MIN_WAL_MAX_BYTES: u64 = 64 * 1024;

/// Blocking and risk settings of real-time monitoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringConfig {
    /// Networks (CIDR) or addresses that are never blocked.
    pub allowlist: Vec<String>,
    /// IPv6 addresses are counted by the IP rules, scored and blocked as their network of this
    /// prefix length (default 64; 1 to 128, where 128 treats each address apart).
    pub ipv6_prefix: u8,
    /// Ban durations, escalating for repeat offenders.
    pub escalation: EscalationPolicy,
    /// Per-IP decaying risk; an IP above its threshold is suspicious (risk x1.5).
    pub ip_risk: IpRiskConfig,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig {
            allowlist: Vec::new(),
            ipv6_prefix: seclog_core::monitor::decision::DEFAULT_V6_PREFIX,
            escalation: EscalationPolicy::default(),
            ip_risk: IpRiskConfig::default(),
        }
    }
}

/// Configuration of a [`crate::SecurityLogger`]. Field names are the spec's config keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// JSON-lines security log file; `None` disables the file log.
    pub log_file: Option<PathBuf>,
    /// SQLite database file (`:memory:` for an in-memory store).
    pub db_file: PathBuf,
    /// At most this many events are kept; older ones are purged in the background.
    pub max_events: u64,
    /// Events older than this many days are purged in the background (PCI DSS 10.5.1 asks
    /// for 12 months: the default is 365).
    pub retention_days: u32,
    /// Run the rules on every event (alerts, blocks, suspicious IPs).
    pub enable_real_time_monitoring: bool,
    /// Raise alerts when rules fire.
    pub enable_alerting: bool,
    /// Capacity of the queue between `log_event` and the writer thread.
    pub queue_capacity: usize,
    /// What happens when the queue is full.
    pub queue_full_policy: QueueFullPolicy,
    /// Most events committed in one transaction (default: the queue capacity, so a backlog is
    /// committed at once; fewer, larger transactions rewrite fewer index pages). The WAL bound
    /// may lower it: see `wal_max_bytes`.
    pub batch_size: usize,
    /// Pin the writer thread (the one serial step of ingest) to this CPU, and keep seclog's
    /// other threads (checkpoints, retention; in `seclog serve` all of its threads) off it
    /// (Linux only). Unset by default: the scheduler places every thread. On a small
    /// machine a core of its own is worth about a quarter more batch-ingest throughput
    /// (docs/benchmarks-server.md); other busy processes should keep off it too.
    pub writer_cpu: Option<usize>,
    /// One engine for every process that opens `db_file` (default on): the first to open it
    /// runs the writer and the rules, elected by a lock `<db_file>-engine.lock`; the others
    /// send it their events over `<db_file>-engine.sock` and follow its decisions
    /// (docs/deployment.md). Off: this process runs an engine of its own whatever others do.
    pub shared_engine: bool,
    /// `log_event` returns only after the event is committed.
    pub durable: bool,
    /// Bound of the SQLite write-ahead log (`<db_file>-wal`), in bytes (default 128 MiB).
    /// Checkpoints copy it into the database file from a quarter of it on; at half of it the
    /// writer checkpoints itself, and it commits at most as many events per transaction as
    /// fit in an eighth of it (learnt from the WAL growth of its last transaction). A batch
    /// logged with [`crate::SecurityLogger::log_events_durable`] is one transaction whatever
    /// its size. A clean close empties the WAL: the database file alone then holds everything.
    pub wal_max_bytes: u64,
    /// How long a durable write waits for its commit, in milliseconds.
    pub durable_timeout_ms: u64,
    /// Rotate the log file when it would exceed this size.
    pub log_file_max_bytes: u64,
    /// Rotated log files kept.
    pub log_file_max_files: u32,
    /// Seconds between background retention passes.
    pub retention_interval_secs: u64,
    /// Hex-encoded 32-byte key for hashing session ids. When absent, a random key is created
    /// once and kept in `<db_file>.key` (mode 0600).
    pub session_hash_key: Option<String>,
    /// Name recorded as `source` when an event has none.
    pub source: Option<String>,
    /// Redaction of secrets (on by default).
    pub redaction: RedactionConfig,
    /// Size limits of event fields.
    pub limits: Limits,
    /// Blocking, allowlist and IP risk.
    pub monitoring: MonitoringConfig,
    /// Rules by name (`[rules.high_failure_rate]` tables). A rule named like a default rule
    /// replaces it; the other defaults stay (set `enabled = false` to turn one off).
    pub rules: BTreeMap<String, Rule>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            log_file: None,
            db_file: PathBuf::from("security_events.db"),
            max_events: 10_000_000,
            retention_days: 365,
            enable_real_time_monitoring: true,
            enable_alerting: true,
            queue_capacity: 32_768,
            queue_full_policy: QueueFullPolicy::Wait,
            batch_size: 32_768,
            writer_cpu: None,
            shared_engine: true,
            durable: false,
            wal_max_bytes: seclog_store::sqlite::DEFAULT_WAL_MAX_BYTES,
            durable_timeout_ms: 10_000,
            log_file_max_bytes: 100 * 1024 * 1024,
            log_file_max_files: 5,
            retention_interval_secs: 300,
            session_hash_key: None,
            source: None,
            redaction: RedactionConfig::default(),
            limits: Limits::default(),
            monitoring: MonitoringConfig::default(),
            rules: BTreeMap::new(),
        }
    }
}

impl Config {
    /// Parses a TOML document (unknown keys are errors naming the key).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| LogError::Config(e.to_string()))
    }

    /// Loads defaults, then the TOML file if given, then environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let mut cfg = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| LogError::Config(format!("cannot read {}: {e}", p.display())))?;
                Self::from_toml_str(&text)?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    /// Applies `SECLOG_*` overrides read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T> {
            v.trim().parse().map_err(|_| LogError::Config(format!("{key}: not a number: {v:?}")))
        }
        fn flag(key: &str, v: &str) -> Result<bool> {
            match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(LogError::Config(format!("{key}: expected true or false, got {v:?}"))),
            }
        }
        if let Some(v) = get("SECLOG_LOG_FILE") {
            self.log_file = if v.is_empty() { None } else { Some(PathBuf::from(v)) };
        }
        if let Some(v) = get("SECLOG_DB_FILE") {
            self.db_file = PathBuf::from(v);
        }
        if let Some(v) = get("SECLOG_MAX_EVENTS") {
            self.max_events = num("SECLOG_MAX_EVENTS", &v)?;
        }
        if let Some(v) = get("SECLOG_RETENTION_DAYS") {
            self.retention_days = num("SECLOG_RETENTION_DAYS", &v)?;
        }
        if let Some(v) = get("SECLOG_ENABLE_REAL_TIME_MONITORING") {
            self.enable_real_time_monitoring = flag("SECLOG_ENABLE_REAL_TIME_MONITORING", &v)?;
        }
        if let Some(v) = get("SECLOG_ENABLE_ALERTING") {
            self.enable_alerting = flag("SECLOG_ENABLE_ALERTING", &v)?;
        }
        if let Some(v) = get("SECLOG_QUEUE_CAPACITY") {
            self.queue_capacity = num("SECLOG_QUEUE_CAPACITY", &v)?;
        }
        if let Some(v) = get("SECLOG_QUEUE_FULL_POLICY") {
            self.queue_full_policy = match v.trim() {
                "wait" => QueueFullPolicy::Wait,
                "drop" => QueueFullPolicy::Drop,
                other => {
                    return Err(LogError::Config(format!(
                        "SECLOG_QUEUE_FULL_POLICY: expected wait or drop, got {other:?}"
                    )))
                }
            };
        }
        if let Some(v) = get("SECLOG_WRITER_CPU") {
            self.writer_cpu =
                if v.trim().is_empty() { None } else { Some(num("SECLOG_WRITER_CPU", &v)?) };
        }
        if let Some(v) = get("SECLOG_SHARED_ENGINE") {
            self.shared_engine = flag("SECLOG_SHARED_ENGINE", &v)?;
        }
        if let Some(v) = get("SECLOG_DURABLE") {
            self.durable = flag("SECLOG_DURABLE", &v)?;
        }
        if let Some(v) = get("SECLOG_WAL_MAX_BYTES") {
            self.wal_max_bytes = num("SECLOG_WAL_MAX_BYTES", &v)?;
        }
        if let Some(v) = get("SECLOG_SESSION_HASH_KEY") {
            self.session_hash_key = Some(v);
        }
        self.validate()
    }

    /// The rules in force: the defaults, with the configured ones replacing or adding by name.
    pub fn effective_rules(&self) -> Result<Vec<Rule>> {
        let mut by_name: BTreeMap<String, Rule> =
            default_rules().into_iter().map(|r| (r.name.clone(), r)).collect();
        let configured = RuleSet { rules: self.rules.clone() }
            .into_rules()
            .map_err(|e| LogError::Config(e.to_string()))?;
        for r in configured {
            by_name.insert(r.name.clone(), r);
        }
        // Defaults first in their documented order, then the others by name.
        let mut out = Vec::with_capacity(by_name.len());
        for d in default_rules() {
            if let Some(r) = by_name.remove(&d.name) {
                out.push(r);
            }
        }
        out.extend(by_name.into_values());
        Ok(out)
    }

    /// Checks values that the types allow but the logger cannot use.
    pub fn validate(&self) -> Result<()> {
        if self.queue_capacity == 0 {
            return Err(LogError::Config("queue_capacity must be at least 1".into()));
        }
        if self.batch_size == 0 {
            return Err(LogError::Config("batch_size must be at least 1".into()));
        }
        if self.max_events == 0 {
            return Err(LogError::Config("max_events must be at least 1".into()));
        }
        if self.retention_days == 0 {
            return Err(LogError::Config("retention_days must be at least 1".into()));
        }
        if !(1..=128).contains(&self.monitoring.ipv6_prefix) {
            return Err(LogError::Config(format!(
                "monitoring.ipv6_prefix must be between 1 and 128, got {}",
                self.monitoring.ipv6_prefix
            )));
        }
        if self.wal_max_bytes < MIN_WAL_MAX_BYTES {
            return Err(LogError::Config(format!(
                "wal_max_bytes must be at least {MIN_WAL_MAX_BYTES}, got {}",
                self.wal_max_bytes
            )));
        }
        for net in &self.monitoring.allowlist {
            seclog_core::monitor::cidr::parse_net(net)
                .map_err(|e| LogError::Config(format!("monitoring.allowlist: {e}")))?;
        }
        self.effective_rules()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_keys_parse_from_toml() {
        let cfg = Config::from_toml_str(
            r#"
            log_file = "/var/log/mingus/security.log"
            db_file = "/var/lib/mingus/security_events.db"
            max_events = 100000
            retention_days = 90
            enable_real_time_monitoring = true
            enable_alerting = false
            "#,
        )
        .unwrap();
        assert_eq!(cfg.max_events, 100_000);
        assert_eq!(cfg.retention_days, 90);
        assert!(!cfg.enable_alerting);
        assert_eq!(cfg.log_file.as_deref(), Some(Path::new("/var/log/mingus/security.log")));
        assert_eq!(cfg.queue_capacity, Config::default().queue_capacity);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_toml_str("retention_dayz = 3").unwrap_err().to_string();
        assert!(err.contains("retention_dayz"), "{err}");
    }

    #[test]
    fn env_overrides_and_bad_values_are_named() {
        let mut cfg = Config::default();
        cfg.apply_env(|k| match k {
            "SECLOG_DB_FILE" => Some("x.db".into()),
            "SECLOG_QUEUE_FULL_POLICY" => Some("drop".into()),
            "SECLOG_ENABLE_ALERTING" => Some("off".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.db_file, PathBuf::from("x.db"));
        assert_eq!(cfg.queue_full_policy, QueueFullPolicy::Drop);
        assert!(!cfg.enable_alerting);
        let err = Config::default()
            .apply_env(|k| (k == "SECLOG_MAX_EVENTS").then(|| "lots".to_string()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("SECLOG_MAX_EVENTS") && err.contains("lots"), "{err}");
    }

    #[test]
    fn rules_from_toml_replace_defaults_by_name() {
        let cfg = Config::from_toml_str(
            r#"
            [rules.high_failure_rate]
            threshold = 3
            window = 60
            event_types = ["auth_failure"]
            action = "block_ip"

            [rules.admin_probe]
            threshold = 2
            window = 30
            event_types = ["authorization_failure"]
            action = "alert"
            group_by = "user_id"
            "#,
        )
        .unwrap();
        let rules = cfg.effective_rules().unwrap();
        let hfr = rules.iter().find(|r| r.name == "high_failure_rate").unwrap();
        assert_eq!((hfr.threshold, hfr.window_secs), (3, 60));
        assert!(rules.iter().any(|r| r.name == "critical_violations"), "other defaults stay");
        assert!(rules.iter().any(|r| r.name == "admin_probe"));
        assert_eq!(rules[0].name, "high_failure_rate");
    }

    #[test]
    fn bad_allowlist_entry_is_named() {
        let err = Config::from_toml_str("[monitoring]\nallowlist = [\"10.0.0.0/33\"]")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("10.0.0.0/33"), "{err}");
    }

    #[test]
    fn ipv6_prefix_out_of_range_is_named() {
        for bad in [0, 129] {
            let err = Config::from_toml_str(&format!("[monitoring]\nipv6_prefix = {bad}"))
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("monitoring.ipv6_prefix") && err.contains(&bad.to_string()),
                "{err}"
            );
        }
        let ok = Config::from_toml_str("[monitoring]\nipv6_prefix = 128").unwrap();
        assert_eq!(ok.monitoring.ipv6_prefix, 128);
        ok.validate().unwrap();
    }

    #[test]
    fn wal_max_bytes_comes_from_toml_and_env_and_is_checked() {
        assert_eq!(Config::default().wal_max_bytes, 128 << 20);
        let mut cfg = Config::from_toml_str("wal_max_bytes = 2097152").unwrap();
        assert_eq!(cfg.wal_max_bytes, 2 << 20);
        cfg.apply_env(|k| (k == "SECLOG_WAL_MAX_BYTES").then(|| "1048576".to_string())).unwrap();
        assert_eq!(cfg.wal_max_bytes, 1 << 20);
        let err = Config::from_toml_str("wal_max_bytes = 1000").unwrap().validate().unwrap_err();
        assert!(err.to_string().contains("wal_max_bytes"), "{err}");
        let err = Config::default()
            .apply_env(|k| (k == "SECLOG_WAL_MAX_BYTES").then(|| "big".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("SECLOG_WAL_MAX_BYTES"), "{err}");
    }

    #[test]
    fn zero_capacity_is_rejected() {
        let err = Config::from_toml_str("queue_capacity = 0").unwrap().validate().unwrap_err();
        assert!(err.to_string().contains("queue_capacity"));
    }
}
