//! Seeded generator of seclog's brute-force workload: a stream of failed logins in which a known
//! set of source addresses, and only those, reaches the default rule `high_failure_rate`
//! (`threshold` failures within `window` seconds), plus that exact set.
//!
//! From one seeded random sequence it builds the events and writes them in three equivalent
//! forms (`events.jsonl` for `seclog import`, an sshd `auth.log`, an nginx `access.log`), the
//! expected bans (`expected_banned.txt`, `expected_bans.tsv`) and `meta.json`. The same seed
//! gives byte-identical files on every machine: the random generator is our own
//! ([`Rng`], xoshiro256**), not a library's whose stream may change between versions.
//!
//! Construction, so that the expected set does not hang on boundary conventions:
//! - attacker addresses (`attacker_frac` of `ips`) send one or two bursts; inside a burst
//!   consecutive failures are 0-2 s (half of the attackers), 2-20 s (30 %) or 20-70 s (20 %)
//!   apart, so the first five of a burst span at most 280 s;
//! - every other address gets the remaining events with consecutive failures at least
//!   `window / (threshold - 1) + 1` seconds apart (76 s for 5 in 300 s), so no `threshold` of
//!   them fit in a window.
//!
//! The expected set is nevertheless recomputed from the final events with an exact sliding
//! window ([`expected_bans`]), not taken from the construction.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::Path;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// User names an attacker tries.
const ATTACK_USERS: &[&str] = &[
    "root",
    "admin",
    "test",
    "user",
    "guest",
    "oracle",
    "ubuntu",
    "postgres",
    "mysql",
    "ftp",
    "www",
    "data",
    "support",
    "info",
    "pi",
    "git",
    "deploy",
    "jenkins",
    "hadoop",
    "tomcat",
    "nagios",
    "backup",
    "operator",
    "web",
    "dev",
    "demo",
    "sales",
    "office",
    "mail",
    "apache",
    "nginx",
    "server",
    "teamspeak",
    "minecraft",
    "steam",
    "student",
    "teacher",
    "library",
    "public",
    "system",
    "manager",
    "administrator",
    "ansible",
    "vagrant",
    "docker",
    "kafka",
    "elastic",
    "redis",
    "zabbix",
];
/// First names of the benign users (each address keeps one user).
const BENIGN_FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "xavier", "yvonne",
    "zoe",
];
/// Suffixes of the benign user names.
const BENIGN_SUFFIX: &[&str] = &["", ".dev", "_ops", ".admin"];
/// User-Agents of the access log.
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "python-requests/2.31.0",
    "curl/7.88.1",
    "Go-http-client/1.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/119.0 Safari/537.36",
];
/// Reserved and private IPv4 ranges that are never emitted (allowlists of fail2ban and
/// CrowdSec cover some of them; 192.0.2.0/24 stays free for end-of-run sentinels).
const RESERVED: &[([u8; 4], u32)] = &[
    ([0, 0, 0, 0], 8),
    ([10, 0, 0, 0], 8),
    ([100, 64, 0, 0], 10),
    ([127, 0, 0, 0], 8),
    ([169, 254, 0, 0], 16),
    ([172, 16, 0, 0], 12),
    ([192, 0, 0, 0], 24),
    ([192, 0, 2, 0], 24),
    ([192, 88, 99, 0], 24),
    ([192, 168, 0, 0], 16),
    ([198, 18, 0, 0], 15),
    ([198, 51, 100, 0], 24),
    ([203, 0, 113, 0], 24),
    ([224, 0, 0, 0], 3),
];
/// Seconds in an hour.
const HOUR: i64 = 3600;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Total number of events.
    pub events: usize,
    /// Number of distinct source addresses.
    pub ips: usize,
    /// Fraction of the addresses that attack (reach the threshold).
    pub attacker_frac: f64,
    /// Seed of the random sequence.
    pub seed: u64,
    /// Length of the time range, in seconds.
    pub duration: i64,
    /// Start of the time range, Unix seconds (UTC).
    pub start: i64,
    /// The rule's threshold (failures).
    pub threshold: usize,
    /// The rule's window, in seconds.
    pub window: i64,
    /// Host name written into `auth.log`.
    pub host: String,
}

impl Default for Params {
    /// The workload of the benchmarks: 200,000 events from 20,000 addresses, 5 % attackers,
    /// six hours from 2026-11-20T00:00:00Z, the default rule (5 in 300 s), seed 42.
    fn default() -> Self {
        Self {
            events: 200_000,
            ips: 20_000,
            attacker_frac: 0.05,
            seed: 42,
            duration: 6 * HOUR,
            start: 1_795_132_800,
            threshold: 5,
            window: 300,
            host: "bastion".to_string(),
        }
    }
}

/// Why a workload cannot be generated with the given parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError(String);

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamError {}

/// One failed login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Unix seconds (UTC).
    pub ts: i64,
    /// Source address.
    pub ip: Ipv4Addr,
    /// The user name tried.
    pub user: String,
}

/// An address that must be banned, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    /// The address.
    pub ip: Ipv4Addr,
    /// Time of the failure that first completes `threshold` failures within `window`.
    pub first_trigger: i64,
    /// All failures of the address in the workload.
    pub total: usize,
}

/// A generated workload.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The parameters it was made with.
    pub params: Params,
    /// The events, sorted by time.
    pub events: Vec<Event>,
    /// The addresses constructed as attackers.
    pub attackers: Vec<Ipv4Addr>,
    /// Events sent by the attackers.
    pub attack_events: usize,
    /// The exact expected bans, by first trigger time then address.
    pub expected: Vec<Ban>,
}

/// A small, fast, seedable generator whose output never changes: xoshiro256** seeded through
/// SplitMix64 (the seeding its authors recommend).
#[derive(Debug, Clone)]
pub struct Rng([u64; 4]);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Self([next(), next(), next(), next()])
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `lo..=hi` (`lo` when `hi < lo`).
    pub fn int_in(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u128 + 1;
        lo + ((self.next_u64() as u128 * span) >> 64) as i64
    }

    /// A uniform element of `items` (which must not be empty).
    pub fn choose<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.int_in(0, items.len() as i64 - 1) as usize]
    }

    /// A log-normal variate with the given parameters of the underlying normal.
    pub fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        // Box-Muller; 1 - unit() is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        (mu + sigma * normal).exp()
    }
}

/// Whether `v` lies in one of the reserved ranges.
fn is_reserved(v: u32) -> bool {
    RESERVED.iter().any(|(net, prefix)| {
        let net = u32::from_be_bytes(*net);
        (v >> (32 - prefix)) == (net >> (32 - prefix))
    })
}

/// A random public unicast IPv4 address whose last octet is neither 0 nor 255.
fn public_ip(rng: &mut Rng) -> Ipv4Addr {
    loop {
        let v = (rng.next_u64() >> 32) as u32;
        if is_reserved(v) || matches!(v & 0xFF, 0 | 255) {
            continue;
        }
        return Ipv4Addr::from(v);
    }
}

/// Parses a start time: Unix seconds, or RFC 3339 (`2026-11-20T00:00:00Z`).
pub fn parse_start(s: &str) -> Result<i64, ParamError> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|e| ParamError(format!("start {s:?}: {e}")));
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|e| ParamError(format!("start {s:?} is neither Unix seconds nor RFC 3339: {e}")))
}

/// Checks the parameters that would make the construction impossible.
fn check(p: &Params) -> Result<(), ParamError> {
    let err = |m: String| Err(ParamError(m));
    if p.threshold < 2 {
        return err(format!("threshold must be at least 2, got {}", p.threshold));
    }
    if p.window < 1 || p.duration < 1 {
        return err(format!(
            "window and duration must be positive, got {} and {}",
            p.window, p.duration
        ));
    }
    if p.ips == 0 {
        return err("ips must be at least 1".to_string());
    }
    if !(0.0..=1.0).contains(&p.attacker_frac) {
        return err(format!("attacker_frac must be within 0..=1, got {}", p.attacker_frac));
    }
    Ok(())
}

/// Builds the workload for `p`.
pub fn generate(p: &Params) -> Result<Workload, ParamError> {
    check(p)?;
    let mut rng = Rng::new(p.seed);
    let (d, win) = (p.duration, p.window);
    let gap_benign = win / (p.threshold as i64 - 1) + 1;

    let mut ips = Vec::with_capacity(p.ips);
    let mut seen = std::collections::HashSet::with_capacity(p.ips);
    while ips.len() < p.ips {
        let ip = public_ip(&mut rng);
        if seen.insert(ip) {
            ips.push(ip);
        }
    }
    let n_att = ((p.attacker_frac * p.ips as f64).round() as usize).min(p.ips);
    let (attackers, benign) = ips.split_at(n_att);

    // (ts, tie-break, ip, user)
    let mut events: Vec<(i64, u64, Ipv4Addr, String)> = Vec::with_capacity(p.events);
    for &ip in attackers {
        let r = rng.unit();
        let (glo, ghi, lmin, lmax) = if r < 0.5 {
            (0, 2, 6, 40)
        } else if r < 0.8 {
            (2, 20, 5, 20)
        } else {
            (20, 70, 5, 10)
        };
        let bursts = if rng.unit() < 0.2 { 2 } else { 1 };
        let mut earliest = 0i64;
        for b in 0..bursts {
            let len = rng.int_in(lmin, lmax);
            let gaps: Vec<i64> = (0..len - 1).map(|_| rng.int_in(glo, ghi)).collect();
            let span: i64 = gaps.iter().sum();
            if earliest + span >= d {
                break;
            }
            let latest = d - 1 - span;
            let s = if b == 0 {
                rng.int_in(earliest, latest)
            } else {
                rng.int_in(earliest, latest.min(earliest + 3 * HOUR))
            };
            let mut t = s;
            for i in 0..len as usize {
                let user = rng.choose(ATTACK_USERS).to_string();
                events.push((p.start + t, rng.next_u64(), ip, user));
                if let Some(g) = gaps.get(i) {
                    t += g;
                }
            }
            earliest = t + 2 * win;
        }
    }
    let attack_events = events.len();
    let remaining = match p.events.checked_sub(attack_events) {
        Some(r) if r >= benign.len() => r,
        _ => {
            return Err(ParamError(format!(
                "not enough events for the benign addresses ({attack_events} attack events, \
                 {} benign addresses, {} events): raise events or lower attacker_frac",
                benign.len(),
                p.events
            )))
        }
    };

    // Benign counts: log-normal weights, exact total, at most `cap` per address so that the
    // spacing fits the time range.
    let cap = ((d - 1) / gap_benign + 1) as usize;
    if cap.saturating_mul(benign.len()) < remaining {
        return Err(ParamError(format!(
            "time range too short for {remaining} benign events at >= {gap_benign} s spacing: \
             raise duration"
        )));
    }
    let weights: Vec<f64> = benign.iter().map(|_| rng.lognormal(0.0, 0.75)).collect();
    let extra = (remaining - benign.len()) as f64;
    let total_weight: f64 = weights.iter().sum();
    let raw: Vec<f64> = weights.iter().map(|w| extra * w / total_weight).collect();
    let mut counts: Vec<usize> = raw.iter().map(|x| 1 + *x as usize).collect();
    let left = remaining.saturating_sub(counts.iter().sum());
    let mut order: Vec<usize> = (0..benign.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = raw[a] - raw[a].trunc();
        let fb = raw[b] - raw[b].trunc();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in order.iter().take(left) {
        counts[i] += 1;
    }
    let mut over: usize = counts.iter().map(|&c| c.saturating_sub(cap)).sum();
    for c in &mut counts {
        *c = (*c).min(cap);
    }
    let mut i = 0;
    while over > 0 {
        if counts[i] < cap {
            counts[i] += 1;
            over -= 1;
        }
        i = (i + 1) % counts.len();
    }
    for (&ip, &c) in benign.iter().zip(&counts) {
        let user = format!("{}{}", rng.choose(BENIGN_FIRST), rng.choose(BENIGN_SUFFIX));
        let latest = d - 1 - (c as i64 - 1) * gap_benign;
        let mut offsets: Vec<i64> = (0..c).map(|_| rng.int_in(0, latest)).collect();
        offsets.sort_unstable();
        for (k, u) in offsets.into_iter().enumerate() {
            events.push((p.start + u + k as i64 * gap_benign, rng.next_u64(), ip, user.clone()));
        }
    }
    events.sort_unstable_by_key(|a| (a.0, a.1));
    let events: Vec<Event> =
        events.into_iter().map(|(ts, _, ip, user)| Event { ts, ip, user }).collect();
    let expected = expected_bans(&events, p.threshold, win);
    Ok(Workload {
        params: p.clone(),
        events,
        attackers: attackers.to_vec(),
        attack_events,
        expected,
    })
}

/// The exact expected bans of `events` (sorted by time): every address with `threshold`
/// failures inside some closed interval of `window` seconds (`t[i + threshold - 1] - t[i] <=
/// window`), with the time of the failure that first completes it. Sorted by that time, then
/// address.
pub fn expected_bans(events: &[Event], threshold: usize, window: i64) -> Vec<Ban> {
    let mut per_ip: HashMap<Ipv4Addr, Vec<i64>> = HashMap::new();
    for e in events {
        per_ip.entry(e.ip).or_default().push(e.ts);
    }
    let mut bans: Vec<Ban> =
        per_ip
            .into_iter()
            .filter_map(|(ip, ts)| {
                let k = threshold.max(1) - 1;
                (0..ts.len().saturating_sub(k))
                    .find(|&i| ts[i + k] - ts[i] <= window)
                    .map(|i| Ban { ip, first_trigger: ts[i + k], total: ts.len() })
            })
            .collect();
    bans.sort_by_key(|b| (b.first_trigger, b.ip));
    bans
}

/// Writes the workload into `dir` (created if missing): `events.jsonl`, `auth.log`,
/// `access.log`, `expected_banned.txt`, `expected_bans.tsv` and `meta.json`. Returns the
/// contents of `meta.json`.
pub fn write_to(w: &Workload, dir: &Path) -> io::Result<serde_json::Value> {
    std::fs::create_dir_all(dir)?;
    let open = |name: &str| std::fs::File::create(dir.join(name)).map(BufWriter::new);
    let (mut auth, mut access, mut jsonl) =
        (open("auth.log")?, open("access.log")?, open("events.jsonl")?);
    // The access log's extra fields come from a sequence of their own, so that the events
    // depend on the seed alone.
    let mut rng = Rng::new(w.params.seed ^ 0x5EC1_0600_0000_0000);
    let mut stamps = (i64::MIN, String::new(), String::new(), String::new());
    for e in &w.events {
        if e.ts != stamps.0 {
            let t = OffsetDateTime::from_unix_timestamp(e.ts).map_err(io::Error::other)?;
            let fmt = |d: &[time::format_description::BorrowedFormatItem<'_>]| {
                t.format(d).map_err(io::Error::other)
            };
            stamps = (
                e.ts,
                fmt(format_description!(
                    "[month repr:short] [day padding:space] [hour]:[minute]:[second]"
                ))?,
                fmt(format_description!(
                    "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
                ))?,
                fmt(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))?,
            );
        }
        let pid = rng.int_in(1000, 65000);
        let port = rng.int_in(1024, 65535);
        let bytes = rng.int_in(40, 90);
        let ua = USER_AGENTS[pid as usize % USER_AGENTS.len()];
        let (ip, user) = (e.ip, &e.user);
        writeln!(
            auth,
            "{} {} sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2",
            stamps.1, w.params.host
        )?;
        writeln!(
            access,
            "{ip} - {user} [{}] \"POST /api/login HTTP/1.1\" 401 {bytes} \"-\" \"{ua}\"",
            stamps.2
        )?;
        writeln!(
            jsonl,
            "{{\"event_type\":\"auth_failure\",\"timestamp\":\"{}\",\"ip_address\":\"{ip}\",\
             \"user_id\":\"{user}\",\"request_method\":\"POST\",\"request_url\":\"/api/login\",\
             \"response_status\":401}}",
            stamps.3
        )?;
    }
    for f in [&mut auth, &mut access, &mut jsonl] {
        f.flush()?;
    }

    let mut banned: Vec<Ipv4Addr> = w.expected.iter().map(|b| b.ip).collect();
    banned.sort_by_key(|ip| ip.to_string());
    let mut f = open("expected_banned.txt")?;
    for ip in banned {
        writeln!(f, "{ip}")?;
    }
    f.flush()?;
    let mut f = open("expected_bans.tsv")?;
    writeln!(f, "ip\tfirst_trigger_epoch\tfirst_trigger_utc\ttotal_failures")?;
    for b in &w.expected {
        let t = OffsetDateTime::from_unix_timestamp(b.first_trigger).map_err(io::Error::other)?;
        let utc = t
            .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
            .map_err(io::Error::other)?;
        writeln!(f, "{}\t{}\t{utc}\t{}", b.ip, b.first_trigger, b.total)?;
    }
    f.flush()?;

    let meta = meta(w, dir)?;
    let mut text = serde_json::to_string_pretty(&meta).map_err(io::Error::other)?;
    text.push('\n');
    std::fs::write(dir.join("meta.json"), text)?;
    Ok(meta)
}

/// The contents of `meta.json`: parameters, time range, counts and file sizes.
fn meta(w: &Workload, dir: &Path) -> io::Result<serde_json::Value> {
    let p = &w.params;
    let distinct: std::collections::HashSet<Ipv4Addr> = w.events.iter().map(|e| e.ip).collect();
    let mut files = serde_json::Map::new();
    for name in ["auth.log", "access.log", "events.jsonl", "expected_banned.txt"] {
        files.insert(name.to_string(), std::fs::metadata(dir.join(name))?.len().into());
    }
    Ok(serde_json::json!({
        "events": p.events,
        "ips": p.ips,
        "attacker_frac": p.attacker_frac,
        "seed": p.seed,
        "duration": p.duration,
        "start": p.start,
        "threshold": p.threshold,
        "window": p.window,
        "host": p.host,
        "start_epoch": w.events.first().map(|e| e.ts),
        "end_epoch": w.events.last().map(|e| e.ts),
        "window_start_epoch": p.start,
        "window_end_epoch": p.start + p.duration,
        "distinct_ips": distinct.len(),
        "attacker_ips": w.attackers.len(),
        "attack_events": w.attack_events,
        "benign_min_gap_s": p.window / (p.threshold as i64 - 1) + 1,
        "expected_banned": w.expected.len(),
        "files": files,
    }))
}

#[cfg(test)]
mod tests;
