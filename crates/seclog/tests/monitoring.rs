#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Real-time monitoring through the logger: rules, blocks, alerts, investigations.

use std::net::IpAddr;
use std::sync::Arc;

use seclog::core::monitor::Scope;
use seclog::core::{Resolution, SuspiciousIp};
use seclog::*;

const T0: i64 = 1_795_132_800; // 2026-11-20T00:00:00Z

struct Env {
    logger: SecurityLogger,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

fn env_with(mutate: impl FnOnce(&mut Config)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let mut cfg = Config { db_file: path.clone(), ..Config::default() };
    mutate(&mut cfg);
    let clock = Arc::new(ManualClock::new(T0));
    let store = Arc::new(seclog_store::sqlite::SqliteStore::open(&path).unwrap());
    let logger = SecurityLogger::with_store(cfg, store, clock.clone()).unwrap();
    Env { logger, clock, _dir: dir, path }
}

fn env() -> Env {
    env_with(|_| {})
}

fn ts(offset: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(T0 + offset)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn failure(ip: &str, user: &str, offset: i64) -> EventInput {
    EventInput {
        ip_address: Some(ip.into()),
        user_id: Some(user.into()),
        timestamp: Some(ts(offset)),
        ..EventInput::of_type("auth_failure")
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn fifth_failure_in_window_blocks_the_ip_and_raises_one_alert() {
    let e = env();
    for i in 0..4 {
        e.logger.log_event(failure("203.0.113.9", "alice", i * 60)).unwrap();
        assert!(e.logger.check_ip(ip("203.0.113.9")).is_none(), "not before the 5th");
    }
    e.logger.log_event(failure("203.0.113.9", "alice", 240)).unwrap();
    let block = e.logger.check_ip(ip("203.0.113.9")).expect("blocked at the 5th failure");
    assert_eq!(block.decision.origin, "high_failure_rate");
    assert_eq!(block.decision.scope, Scope::Ip);
    // Default escalation: 15 minutes from the decisive event's time.
    assert_eq!(block.decision.until.unwrap().unix_timestamp(), T0 + 240 + 900);
    // More failures inside the window raise no second alert.
    e.logger.log_event(failure("203.0.113.9", "alice", 250)).unwrap();
    let alerts = e.logger.alerts(None, 10).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].event_ids.len(), 5);
    assert_eq!(alerts[0].rule.as_deref(), Some("high_failure_rate"));
    assert!(alerts[0].threat_indicators.contains(&"ip:203.0.113.9".to_string()));
    let stats = e.logger.get_statistics().unwrap();
    assert_eq!(stats.blocked_ips, 1);
    let ips = e.logger.suspicious_ips(true, 10).unwrap();
    assert_eq!(
        ips.iter().map(|r: &SuspiciousIp| r.ip_address).collect::<Vec<_>>(),
        vec![ip("203.0.113.9")]
    );
}

#[test]
fn spaced_failures_never_block() {
    let e = env();
    for i in 0..10 {
        e.logger.log_event(failure("198.51.100.7", "bob", i * 76)).unwrap();
    }
    assert!(e.logger.check_ip(ip("198.51.100.7")).is_none());
    assert!(e.logger.decisions(true, 10).unwrap().is_empty());
}

#[test]
fn fifty_threads_at_once_let_exactly_threshold_through() {
    let e = env();
    let barrier = Arc::new(std::sync::Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let logger = e.logger.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                logger.log_event_checked(failure("192.0.2.50", &format!("u{i}"), 1)).unwrap()
            })
        })
        .collect();
    let receipts: Vec<LogReceipt> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let through = receipts.iter().filter(|r| !r.blocked).count();
    assert_eq!(through, 5, "exactly the threshold is seen unblocked");
    assert!(e.logger.check_ip(ip("192.0.2.50")).is_some());
    assert_eq!(e.logger.decisions(true, 10).unwrap().len(), 1);
    e.logger.flush().unwrap();
    assert_eq!(e.logger.get_statistics().unwrap().total_events, 50, "every attempt is logged");
}

#[test]
fn attack_event_blocks_immediately_for_the_longest_duration() {
    let e = env();
    let ev = EventInput {
        ip_address: Some("192.0.2.66".into()),
        timestamp: Some(ts(0)),
        ..EventInput::of_type("sql_injection_attempt")
    };
    e.logger.log_event(ev).unwrap();
    let d = e.logger.check_ip(ip("192.0.2.66")).expect("blocked at once").decision;
    assert_eq!(d.origin, "critical_violations");
    assert_eq!(d.until.unwrap().unix_timestamp(), T0 + 7 * 86_400);
    let got = e.logger.get_events(&EventFilter::default(), 1).unwrap();
    assert_eq!(got[0].risk_score, Some(10.0));
}

#[test]
fn allowlisted_networks_are_never_blocked() {
    let e = env_with(|c| c.monitoring.allowlist = vec!["192.0.2.0/24".into()]);
    for i in 0..10 {
        e.logger.log_event(failure("192.0.2.10", "carol", i)).unwrap();
    }
    assert!(e.logger.check_ip(ip("192.0.2.10")).is_none());
    assert!(e.logger.decisions(true, 10).unwrap().is_empty());
    let alerts = e.logger.alerts(None, 10).unwrap();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].description.contains("allowlisted"), "{}", alerts[0].description);
}

#[test]
fn ipv6_offenders_are_blocked_as_their_64() {
    let e = env();
    for i in 0..5 {
        e.logger.log_event(failure("2001:db8:1:2::1", "dave", i)).unwrap();
    }
    let d = e.logger.check_ip(ip("2001:db8:1:2:ffff::9")).expect("same /64 blocked").decision;
    assert_eq!(d.scope, Scope::Range);
    assert_eq!(d.value, "2001:db8:1:2::/64");
    assert!(e.logger.check_ip(ip("2001:db8:1:3::1")).is_none());
}

#[test]
fn rotating_ipv6_addresses_within_a_64_are_counted_and_blocked_as_the_64() {
    let e = env();
    for i in 1..=5 {
        e.logger.log_event(failure(&format!("2001:db8:1:2::{i}"), "dave", i)).unwrap();
    }
    let d = e.logger.check_ip(ip("2001:db8:1:2::77")).expect("the /64 is blocked").decision;
    assert_eq!((d.scope, d.value.as_str()), (Scope::Range, "2001:db8:1:2::/64"));
    assert_eq!(d.origin, "high_failure_rate");
    let alerts = e.logger.alerts(None, 10).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].key.as_deref(), Some("2001:db8:1:2::/64"));
    assert_eq!(alerts[0].event_ids.len(), 5);
    assert!(e.logger.check_ip(ip("2001:db8:1:3::1")).is_none(), "another /64 is not");
}

#[test]
fn ipv6_prefix_128_counts_and_blocks_each_address_apart() {
    let e = env_with(|c| c.monitoring.ipv6_prefix = 128);
    for i in 1..=5 {
        e.logger.log_event(failure(&format!("2001:db8:1:2::{i}"), "dave", i)).unwrap();
    }
    assert!(e.logger.check_ip(ip("2001:db8:1:2::77")).is_none());
    assert!(e.logger.decisions(true, 10).unwrap().is_empty(), "one failure per address");
    for i in 6..=9 {
        e.logger.log_event(failure("2001:db8:1:2::1", "dave", i)).unwrap();
    }
    let d = e.logger.check_ip(ip("2001:db8:1:2::1")).expect("the address is blocked").decision;
    assert_eq!((d.scope, d.value.as_str()), (Scope::Ip, "2001:db8:1:2::1"));
    assert!(e.logger.check_ip(ip("2001:db8:1:2::2")).is_none(), "its neighbours are not");
}

#[test]
fn lifting_by_address_unblocks_it_at_once_whatever_blocked_it() {
    let e = env();
    for i in 0..5 {
        e.logger.log_event(failure("2001:db8:7::1", "gina", i)).unwrap();
    }
    let net = e.logger.add_decision(Scope::Range, "2001:db8::/32", None, "r", "analyst").unwrap();
    let other = e.logger.add_decision(Scope::Range, "2001:db8:9::/48", None, "r", "analyst");
    let other = other.unwrap();
    assert!(e.logger.check_ip(ip("2001:db8:7::1")).is_some());
    let selection = seclog::core::monitor::DecisionMatch::from_params([("ip", "2001:db8:7::1")]);
    let lifted = e.logger.lift_decisions(&selection.unwrap()).unwrap();
    let mut values: Vec<&str> = lifted.iter().map(|d| d.value.as_str()).collect();
    values.sort_unstable();
    assert_eq!(values, ["2001:db8:7::/64", "2001:db8::/32"], "the rule's /64 and the /32");
    assert!(e.logger.check_ip(ip("2001:db8:7::1")).is_none(), "no longer blocked");
    assert!(e.logger.check_ip(ip("2001:db8:9::1")).is_some(), "other decisions stay");
    let active: Vec<String> =
        e.logger.decisions(false, 10).unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(active, [other.id]);
    assert!(e.logger.decisions(true, 10).unwrap().iter().any(|d| d.id == net.id));
}

#[test]
fn repeat_offenders_get_longer_bans_and_bans_expire() {
    let e = env();
    for i in 0..5 {
        e.logger.log_event(failure("192.0.2.77", "eve", i)).unwrap();
    }
    let first = e.logger.check_ip(ip("192.0.2.77")).unwrap().decision;
    assert_eq!(first.until.unwrap().unix_timestamp() - first.created_at.unix_timestamp(), 900);
    // A second burst after the window: the second ban lasts 4x longer.
    for i in 0..5 {
        e.logger.log_event(failure("192.0.2.77", "eve", 1000 + i)).unwrap();
    }
    let all = e.logger.decisions(true, 10).unwrap();
    assert_eq!(all.len(), 2);
    let second = &all[0];
    assert_eq!(second.until.unwrap().unix_timestamp() - second.created_at.unix_timestamp(), 3600);
    // Time passes beyond the longest ban: nothing is active any more, history stays.
    e.clock.set(T0 + 1004 + 3601);
    assert!(e.logger.check_ip(ip("192.0.2.77")).is_none());
    assert!(e.logger.decisions(false, 10).unwrap().is_empty());
    assert_eq!(e.logger.decisions(true, 10).unwrap().len(), 2);
}

#[test]
fn decisions_survive_a_restart() {
    let e = env();
    for i in 0..5 {
        e.logger.log_event(failure("192.0.2.88", "frank", i)).unwrap();
    }
    let manual =
        e.logger.add_decision(Scope::User, "mallory", None, "fraud ring", "analyst").unwrap();
    e.logger.close();
    let clock = Arc::new(ManualClock::new(T0 + 60));
    let store = Arc::new(seclog_store::sqlite::SqliteStore::open(&e.path).unwrap());
    let again = SecurityLogger::with_store(
        Config { db_file: e.path.clone(), ..Config::default() },
        store,
        clock,
    )
    .unwrap();
    assert!(again.check_ip(ip("192.0.2.88")).is_some(), "restored from the store");
    assert_eq!(again.check_user("mallory").unwrap().decision.id, manual.id);
    // Lifting a decision by hand ends it at once; it stays in the history.
    again.delete_decision(&manual.id).unwrap().unwrap();
    assert!(again.check_user("mallory").is_none());
    let all = again.decisions(true, 10).unwrap();
    assert!(all.iter().any(|d| d.id == manual.id && d.deleted_at.is_some()));
}

#[test]
fn alert_lifecycle_is_recorded_in_history() {
    let e = env();
    for i in 0..5 {
        e.logger.log_event(failure("192.0.2.99", "gina", i)).unwrap();
    }
    let alert = e.logger.alerts(Some(AlertStatus::Active), 10).unwrap().remove(0);
    let acked = e.logger.acknowledge_alert(&alert.alert_id, "soc-1", Some("looking")).unwrap();
    assert_eq!(acked.status, AlertStatus::Acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("soc-1"));
    let err = e.logger.acknowledge_alert(&alert.alert_id, "soc-2", None).unwrap_err();
    assert!(err.to_string().contains("acknowledged"), "{err}");
    let done =
        e.logger.resolve_alert(&alert.alert_id, "soc-1", Resolution::TruePositive, None).unwrap();
    assert_eq!(done.status, AlertStatus::Resolved);
    let stored = e.logger.get_alert(&alert.alert_id).unwrap().unwrap();
    let steps: Vec<AlertStatus> = stored.history.iter().map(|h| h.status).collect();
    assert_eq!(steps, vec![AlertStatus::Active, AlertStatus::Acknowledged, AlertStatus::Resolved]);
    assert_eq!(stored.history[2].resolution, Some(Resolution::TruePositive));
    assert_eq!(stored.resolution, Some(Resolution::TruePositive));
    assert!(e.logger.resolve_alert("nope", "x", Resolution::Other, None).is_err());
}

#[test]
fn dry_run_rules_record_without_acting() {
    let e = env_with(|c| {
        let mut r = seclog::core::monitor::default_rules().remove(0);
        r.dry_run = true;
        c.rules.insert(r.name.clone(), r);
    });
    for i in 0..5 {
        e.logger.log_event(failure("192.0.2.111", "hank", i)).unwrap();
    }
    assert!(e.logger.check_ip(ip("192.0.2.111")).is_none());
    let alerts = e.logger.alerts(None, 10).unwrap();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].title.starts_with("[dry-run]"), "{}", alerts[0].title);
    assert!(
        alerts[0].description.contains("would block_ip 192.0.2.111"),
        "{}",
        alerts[0].description
    );
}

#[test]
fn lock_account_rules_lock_the_user() {
    let e = env_with(|c| {
        let r: seclog::core::monitor::Rule = toml::from_str(
            r#"
            name = "mfa_lock"
            threshold = 3
            window = 300
            event_types = ["auth_mfa_failure"]
            action = "lock_account"
            group_by = "user_id"
            "#,
        )
        .unwrap();
        c.rules.insert(r.name.clone(), r);
    });
    for i in 0..3 {
        let ev = EventInput {
            user_id: Some("ivan".into()),
            timestamp: Some(ts(i)),
            ..EventInput::of_type("auth_mfa_failure")
        };
        e.logger.log_event(ev).unwrap();
    }
    let d = e.logger.check_user("ivan").expect("locked").decision;
    assert_eq!(d.scope, Scope::User);
    assert_eq!(d.origin, "mfa_lock");
}

#[test]
fn investigation_trail_appends_and_leaves_the_event_unchanged() {
    let e = env();
    let id = e.logger.log_event(failure("192.0.2.120", "judy", 0)).unwrap();
    e.logger.flush().unwrap();
    let before = e.logger.get_event(&id).unwrap().unwrap();
    e.logger.set_event_status(&id, EventStatus::Investigating, "soc-1", Some("triage")).unwrap();
    e.logger
        .add_investigation_note(&id, "same user agent as last week's campaign", "soc-1")
        .unwrap();
    e.logger.add_remediation_action(&id, "reset password", "soc-2").unwrap();
    e.logger.escalate_event(&id, "possible takeover", "soc-2").unwrap();
    let trail = e.logger.event_trail(&id).unwrap();
    assert_eq!(trail.len(), 4);
    assert_eq!(trail[1].text.as_deref(), Some("same user agent as last week's campaign"));
    assert_eq!(trail[2].by, "soc-2");
    assert_eq!(e.logger.event_status(&id).unwrap(), Some(EventStatus::Escalated));
    assert_eq!(e.logger.get_event(&id).unwrap().unwrap(), before, "the event itself never changes");
    assert!(e.logger.add_investigation_note("no-such-event", "x", "y").is_err());
}

#[test]
fn related_events_come_in_one_call() {
    let e = env();
    let root = e
        .logger
        .log_event(EventInput {
            correlation_id: Some("req-42".into()),
            timestamp: Some(ts(0)),
            ..EventInput::of_type("suspicious_activity")
        })
        .unwrap();
    let child = e
        .logger
        .log_event(EventInput {
            parent_event_id: Some(root.clone()),
            correlation_id: Some("req-42".into()),
            timestamp: Some(ts(1)),
            ..EventInput::of_type("threat_detected")
        })
        .unwrap();
    let grandchild = e
        .logger
        .log_event(EventInput {
            parent_event_id: Some(child.clone()),
            timestamp: Some(ts(2)),
            ..EventInput::of_type("incident_reported")
        })
        .unwrap();
    let r = e.logger.related_events(&child, 100).unwrap().unwrap();
    assert_eq!(
        r.parents.iter().map(|p| p.event_id.clone()).collect::<Vec<_>>(),
        vec![root.clone()]
    );
    assert_eq!(
        r.children.iter().map(|p| p.event_id.clone()).collect::<Vec<_>>(),
        vec![grandchild.clone()]
    );
    assert_eq!(r.correlated.iter().map(|p| p.event_id.clone()).collect::<Vec<_>>(), vec![root]);
    let r = e.logger.related_events(&grandchild, 100).unwrap().unwrap();
    assert_eq!(r.parents.len(), 2, "the whole chain up");
}

#[test]
fn suspicious_ip_raises_risk_by_half() {
    let e = env();
    // Critical events push the IP's decayed risk over the threshold (20).
    for i in 0..3 {
        let ev = EventInput {
            ip_address: Some("192.0.2.130".into()),
            timestamp: Some(ts(i * 100)),
            ..EventInput::of_type("data_breach_attempt")
        };
        e.logger.log_event(ev).unwrap();
    }
    e.logger.log_event(failure("192.0.2.130", "kim", 400)).unwrap();
    e.logger.flush().unwrap();
    let last = e.logger.get_events(&EventFilter::default(), 1).unwrap().remove(0);
    assert_eq!(last.event_type, EventType::AuthFailure);
    assert_eq!(last.risk_score, Some(9.0), "medium 4 x auth_failure 1.5 x suspicious 1.5");
    assert!(last.indicators.contains(&"suspicious_ip".to_string()));
}

#[test]
fn ipv6_risk_accumulates_across_a_64() {
    let e = env();
    // Each address of the /64 sends one critical event; together they make it suspicious.
    for i in 1..=3 {
        let ev = EventInput {
            ip_address: Some(format!("2001:db8:5:6::{i}")),
            timestamp: Some(ts(i * 100)),
            ..EventInput::of_type("data_breach_attempt")
        };
        e.logger.log_event(ev).unwrap();
    }
    e.logger.log_event(failure("2001:db8:5:6::99", "kim", 400)).unwrap();
    e.logger.flush().unwrap();
    let last = e.logger.get_events(&EventFilter::default(), 1).unwrap().remove(0);
    assert_eq!(last.risk_score, Some(9.0), "a new address of a suspicious /64 is suspicious");
    assert!(last.indicators.contains(&"suspicious_ip".to_string()));
}

#[test]
fn retention_purges_old_and_excess_events_in_the_background() {
    let e = env_with(|c| {
        c.retention_days = 30;
        c.max_events = 20;
        c.retention_interval_secs = 1;
        c.enable_real_time_monitoring = false;
    });
    // 10 events older than the retention period, 30 recent ones.
    for i in 0..10 {
        let mut ev = failure("192.0.2.140", "old", i);
        ev.timestamp = Some(ts(-40 * 86_400 + i));
        e.logger.log_event(ev).unwrap();
    }
    for i in 0..30 {
        e.logger.log_event(failure("192.0.2.141", "new", i)).unwrap();
    }
    e.logger.flush().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let total = e.logger.get_statistics().unwrap().total_events;
        if total == 20 || std::time::Instant::now() > deadline {
            assert_eq!(total, 20, "max_events kept");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let left = e.logger.get_events(&EventFilter::default(), 100).unwrap();
    assert!(left.iter().all(|ev| ev.user_id.as_deref() == Some("new")), "old events go first");
}

#[test]
fn event_ids_are_uuid_v7() {
    let e = env();
    let id = e.logger.log_event(failure("192.0.2.150", "x", 0)).unwrap();
    let u = uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(u.get_version_num(), 7);
}

#[test]
fn a_decision_longer_than_time_itself_is_as_good_as_permanent() {
    let e = env();
    let forever = time::Duration::seconds(i64::MAX);
    let d = e.logger.add_decision(Scope::Ip, "198.51.100.7", Some(forever), "r", "ops").unwrap();
    assert_eq!(d.until, Some(time::PrimitiveDateTime::MAX.assume_utc()));
    assert!(e.logger.check_ip(ip("198.51.100.7")).is_some());
}

#[test]
fn who_did_an_action_is_limited_in_characters_not_bytes() {
    let e = env();
    // 256 three-byte characters (768 bytes) are within the limit; 257 are not.
    let by = "\u{20ac}".repeat(MAX_ACTOR_LEN);
    e.logger.add_decision(Scope::User, "u1", None, "r", &by).unwrap();
    let over = "\u{20ac}".repeat(MAX_ACTOR_LEN + 1);
    let err = e.logger.add_decision(Scope::User, "u2", None, "r", &over).unwrap_err();
    assert!(err.to_string().contains("256 characters"), "{err}");
}
