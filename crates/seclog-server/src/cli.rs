//! Command-line arguments.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// seclog: security event logging and monitoring.
#[derive(Debug, Parser)]
#[command(name = "seclog", version, about)]
pub(crate) struct Cli {
    /// SQLite database file.
    #[arg(long, global = true, env = "SECLOG_DB", default_value = "seclog.db")]
    pub(crate) db: PathBuf,
    /// TOML configuration file (defaults < file < SECLOG_* environment variables).
    #[arg(long, global = true, env = "SECLOG_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Run the command against a running `seclog serve` at this URL instead of --db.
    #[arg(long, global = true, env = "SECLOG_SERVER")]
    pub(crate) server: Option<String>,
    /// API key for --server.
    #[arg(long, global = true, env = "SECLOG_API_KEY", hide_env_values = true)]
    pub(crate) api_key: Option<String>,
    /// Extra CA certificate (PEM) to trust for an https:// --server.
    #[arg(long, global = true, env = "SECLOG_CA_CERT")]
    pub(crate) ca_cert: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Import JSON-lines events (spec field names) from FILE or `-` (stdin) through the full
    /// engine, exactly like live events.
    Import {
        /// File to read, or `-` for standard input.
        file: PathBuf,
        /// Hide the progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Query stored events, newest first.
    Query(Box<QueryArgs>),
    /// Print statistics.
    Stats {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Classify inputs (one per line on stdin) with the attack detector; prints JSON lines.
    Detect,
    /// List block decisions (active, or --all including expired and lifted), or add/delete one.
    Decisions(DecisionsArgs),
    /// List suspicious IPs.
    Ips {
        /// Only those under an active block.
        #[arg(long)]
        blocked: bool,
        /// Most rows.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List alerts, or acknowledge / resolve one.
    Alerts(AlertsArgs),
    /// Run the HTTP API server (JSON under /v1, CrowdSec-compatible decisions, /metrics).
    Serve(ServeArgs),
    /// Manage the server's API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Export events as JSON lines, streaming page by page (constant memory for any size).
    Export(ExportArgs),
    /// Follow events live as they are stored (an imported batch of old events too), with
    /// filters; --by-event-time follows event timestamps instead.
    Tail(TailArgs),
    /// Delete events older than a date; refuses events inside the retention period.
    Purge {
        /// RFC 3339 time or YYYY-MM-DD (midnight UTC).
        #[arg(long)]
        before: String,
    },
    /// Write a consistent copy of the database (--db) to DEST, a new file, while it stays in
    /// use (SQLite's online backup: `seclog serve` may go on ingesting meanwhile).
    Backup {
        /// The file to create.
        dest: PathBuf,
    },
    /// List the rules in force.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// `seclog decisions`.
#[derive(Debug, Args)]
pub(crate) struct DecisionsArgs {
    #[command(subcommand)]
    pub(crate) action: Option<DecisionAction>,
    /// Include expired and lifted decisions.
    #[arg(long)]
    pub(crate) all: bool,
    /// Most rows.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,
}

/// `seclog decisions add|delete`.
#[derive(Debug, Subcommand)]
pub(crate) enum DecisionAction {
    /// Block an IP, a network or a user by hand (`cscli decisions add`'s flags).
    Add(AddDecisionArgs),
    /// Lift decisions by id, or every decision in force on an IP, network, user or value
    /// (`cscli decisions delete`'s flags); they stay in the history.
    Delete(DeleteDecisionArgs),
}

/// `seclog decisions add`: what to block is one of --ip, --range, --user or --value.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["ip", "range", "user", "value"])))]
pub(crate) struct AddDecisionArgs {
    /// Block this IP (shorthand for --scope ip --value IP).
    #[arg(short = 'i', long, conflicts_with = "scope")]
    pub(crate) ip: Option<String>,
    /// Block this network (shorthand for --scope range --value CIDR).
    #[arg(short = 'r', long, conflicts_with = "scope")]
    pub(crate) range: Option<String>,
    /// Lock this user account (shorthand for --scope user --value USER).
    #[arg(long, conflicts_with = "scope")]
    pub(crate) user: Option<String>,
    /// The IP, CIDR or user id, in --scope.
    #[arg(short = 'v', long)]
    pub(crate) value: Option<String>,
    /// Scope of --value: ip, range or user.
    #[arg(long, default_value = "ip")]
    pub(crate) scope: String,
    /// How long, e.g. 30m, 4h, 7d (default: permanent; cscli's default is 4h).
    #[arg(short = 'd', long)]
    pub(crate) duration: Option<String>,
    /// Why.
    #[arg(short = 'R', long, default_value = "manual block")]
    pub(crate) reason: String,
    /// Decision type: seclog's decisions are all bans.
    #[arg(short = 't', long = "type", value_name = "TYPE", default_value = "ban",
          value_parser = ["ban"])]
    pub(crate) kind: String,
    /// Who.
    #[arg(long, env = "USER", default_value = "operator")]
    pub(crate) by: String,
}

/// `seclog decisions delete`: an id, or one of --ip, --range, --user or --value.
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("target").required(true).args(["id", "id_flag", "ip", "range", "user", "value"])
))]
pub(crate) struct DeleteDecisionArgs {
    /// The decision id.
    pub(crate) id: Option<String>,
    /// The decision id (as `cscli decisions delete --id`).
    #[arg(long = "id", value_name = "ID")]
    pub(crate) id_flag: Option<String>,
    /// Lift the decisions covering this IP: its IP decision and the ranges containing it.
    #[arg(short = 'i', long, conflicts_with = "scope")]
    pub(crate) ip: Option<String>,
    /// Lift the decisions covering this whole network (the range itself, wider ranges).
    #[arg(short = 'r', long, conflicts_with = "scope")]
    pub(crate) range: Option<String>,
    /// Lift the locks of this user account (shorthand for --scope user --value USER).
    #[arg(long, conflicts_with = "scope")]
    pub(crate) user: Option<String>,
    /// Lift the decisions with exactly this value (in any scope unless --scope is given).
    #[arg(short = 'v', long)]
    pub(crate) value: Option<String>,
    /// Scope of --value: ip, range or user.
    #[arg(long, requires = "value")]
    pub(crate) scope: Option<String>,
    /// Decision type: seclog's decisions are all bans.
    #[arg(short = 't', long = "type", value_name = "TYPE", value_parser = ["ban"])]
    pub(crate) kind: Option<String>,
}

/// `seclog alerts`.
#[derive(Debug, Args)]
pub(crate) struct AlertsArgs {
    #[command(subcommand)]
    pub(crate) action: Option<AlertAction>,
    /// Only alerts of this status (active, acknowledged, resolved).
    #[arg(long)]
    pub(crate) status: Option<String>,
    /// Most rows.
    #[arg(long, default_value_t = 100)]
    pub(crate) limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,
}

/// `seclog alerts ack|resolve|show`.
#[derive(Debug, Subcommand)]
pub(crate) enum AlertAction {
    /// Acknowledge an active alert.
    Ack {
        /// The alert id.
        id: String,
        /// Who acknowledges it.
        #[arg(long)]
        by: String,
        /// A note for the history.
        #[arg(long)]
        note: Option<String>,
    },
    /// Resolve an alert with a reason.
    Resolve {
        /// The alert id.
        id: String,
        /// Who resolves it.
        #[arg(long)]
        by: String,
        /// true_positive, false_positive, benign, duplicate or other.
        #[arg(long)]
        reason: String,
        /// A note for the history.
        #[arg(long)]
        note: Option<String>,
    },
    /// Show one alert with its history (JSON).
    Show {
        /// The alert id.
        id: String,
    },
}

/// Filters of `seclog query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
    /// Most events per page.
    #[arg(long, default_value_t = 100)]
    pub(crate) limit: usize,
    /// Continue after this cursor (printed on stderr when more events follow).
    #[arg(long)]
    pub(crate) cursor: Option<String>,
    /// Fetch every page, not only the first.
    #[arg(long)]
    pub(crate) all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,
}

/// `seclog serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed on stderr).
    #[arg(long, env = "SECLOG_LISTEN", default_value = "127.0.0.1:8470")]
    pub(crate) listen: String,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long, requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
}

/// `seclog keys create|list|revoke`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysAction {
    /// Create a key and print it once (only its SHA-256 hash is stored).
    Create {
        /// A name for the key.
        #[arg(long)]
        name: String,
        /// ingest, read, admin (implies all) or bouncer; repeatable.
        #[arg(long, required = true)]
        scope: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List keys (never the secrets).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Revoke a key by id.
    Revoke {
        /// The key id.
        id: String,
    },
}

/// Event filters shared by `query`, `export` and `tail`.
#[derive(Debug, Args)]
pub(crate) struct FilterArgs {
    /// Event type (repeatable: any of them).
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) types: Vec<String>,
    /// Minimum severity (info, low, medium, high, critical).
    #[arg(long)]
    pub(crate) min_severity: Option<String>,
    /// Exact client IP.
    #[arg(long)]
    pub(crate) ip: Option<String>,
    /// Network in CIDR form (e.g. 10.0.0.0/8).
    #[arg(long)]
    pub(crate) cidr: Option<String>,
    /// User id.
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// Session id (as the application knows it; it is hashed before lookup).
    #[arg(long)]
    pub(crate) session: Option<String>,
    /// Correlation id.
    #[arg(long)]
    pub(crate) correlation_id: Option<String>,
    /// Investigation status.
    #[arg(long)]
    pub(crate) status: Option<String>,
    /// Start of the time range (RFC 3339, inclusive).
    #[arg(long, alias = "start-time")]
    pub(crate) since: Option<String>,
    /// End of the time range (RFC 3339, inclusive).
    #[arg(long, alias = "end-time")]
    pub(crate) until: Option<String>,
}

/// `seclog export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub(crate) output: Option<PathBuf>,
    /// Events fetched per page.
    #[arg(long, default_value_t = 1000)]
    pub(crate) page_size: usize,
    /// Hide the progress bar.
    #[arg(long)]
    pub(crate) quiet: bool,
}

/// `seclog tail`.
#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
    /// Print this many recent events first.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub(crate) lines: usize,
    /// Poll interval in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub(crate) interval_ms: u64,
    /// Stop after printing this many new events.
    #[arg(long)]
    pub(crate) max: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub(crate) timeout: Option<u64>,
    /// Print the recent events and exit without following.
    #[arg(long)]
    pub(crate) once: bool,
    /// Follow event timestamps instead of the order of storage: recent means the newest
    /// timestamps, and an event whose timestamp is older than the newest one shown is skipped.
    #[arg(long)]
    pub(crate) by_event_time: bool,
    /// Output format (table or jsonl).
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,
}
