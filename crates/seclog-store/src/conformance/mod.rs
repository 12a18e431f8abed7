//! The backend conformance suite: the same assertions for every [`Store`] implementation.
//!
//! Each check takes a factory that returns a fresh, empty store, and panics (like a test) on
//! the first mismatch. [`run_all`] runs every check. Filters are checked against a naive
//! in-memory oracle over the same data with proptest-generated filters.
//!
//! Compiled for this crate's tests and, for other crates, behind the `conformance` feature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod data;
pub mod monitor;

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use seclog_core::{
    AlertStatus, AlertTransition, Cursor, EventFilter, EventStatus, EventType, Resolution,
    SecurityEvent, Severity, SuspiciousIp,
};
use time::Duration;

use self::data::{base_time, dataset, expected, full_event, sorted_newest_first};
use crate::{Store, StoreError, MAX_PAGE_LIMIT};

/// A factory of fresh, empty stores.
pub type MakeStore<'a> = &'a dyn Fn() -> Box<dyn Store>;

/// Runs every check.
pub fn run_all(make: MakeStore<'_>) {
    round_trip(make);
    filters_match_oracle(make);
    pagination_walks_everything(make);
    stored_order_follows_commits(make);
    duplicate_ids_roll_back(make);
    limits_are_checked(make);
    statistics(make);
    purge_by_age(make);
    purge_by_count(make);
    alerts(make);
    suspicious_ips(make);
    monitor::run_all(make);
}

/// Every page of `filter`, following cursors; checks page sizes and cursor presence.
pub fn collect_all(store: &dyn Store, filter: &EventFilter, limit: usize) -> Vec<SecurityEvent> {
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..100_000 {
        let page = store.query_events(filter, cursor.as_ref(), limit).unwrap();
        assert!(page.events.len() <= limit, "page larger than limit {limit}");
        out.extend(page.events.iter().cloned());
        match page.next_cursor {
            Some(c) => {
                assert_eq!(page.events.len(), limit, "a short page must be the last");
                let next = Cursor::decode(&c).unwrap();
                assert_ne!(cursor.as_ref(), Some(&next), "cursor did not advance");
                cursor = Some(next);
            }
            None => {
                let mut ids: Vec<&str> = out.iter().map(|e| e.event_id.as_str()).collect();
                ids.sort_unstable();
                ids.dedup();
                assert_eq!(ids.len(), out.len(), "an event came twice");
                return out;
            }
        }
    }
    panic!("pagination did not end");
}

/// Inserted events come back identical, by id and through queries.
pub fn round_trip(make: MakeStore<'_>) {
    let store = make();
    let full = full_event("ev-full");
    let minimal = SecurityEvent::new("ev-min", EventType::AuthLogout, base_time());
    let mut v4 = full_event("ev-v4");
    v4.ip_address = Some("192.0.2.7".parse().unwrap());
    v4.request_headers = Some(BTreeMap::new());
    store.insert_events(&[full.clone(), minimal.clone(), v4.clone()]).unwrap();
    assert_eq!(store.get_event("ev-full").unwrap().as_ref(), Some(&full));
    assert_eq!(store.get_event("ev-min").unwrap().as_ref(), Some(&minimal));
    assert_eq!(store.get_event("ev-v4").unwrap().as_ref(), Some(&v4));
    assert_eq!(store.get_event("ev-missing").unwrap(), None);
    let all = collect_all(&*store, &EventFilter::default(), 10);
    assert_eq!(all, sorted_newest_first(vec![full, minimal, v4]));
    store.insert_events(&[]).unwrap();
    assert_eq!(store.count_events(&EventFilter::default()).unwrap(), 3);
}

/// `events_in_stored_order` lists events in commit order whatever their timestamps, and a
/// follower that passes `position` back sees exactly what was committed since, page by page.
pub fn stored_order_follows_commits(make: MakeStore<'_>) {
    let store = make();
    let all = EventFilter::default();
    let empty = store.events_in_stored_order(&all, None, 10).unwrap();
    assert!(empty.events.is_empty());
    let at = |id: &str, days: i64, ty: EventType| {
        SecurityEvent::new(id, ty, base_time() - Duration::days(days))
    };
    let ids = |p: &crate::StoredPage| -> Vec<String> {
        p.events.iter().map(|e| e.event_id.clone()).collect()
    };
    store.insert_events(&[at("new", 0, EventType::ApiAccess)]).unwrap();
    let first = store.events_in_stored_order(&all, None, 10).unwrap();
    assert_eq!(ids(&first), ["new"]);
    // Committed later with older timestamps: after the position all the same.
    store
        .insert_events(&[
            at("old-1", 30, EventType::AuthFailure),
            at("old-2", 40, EventType::ApiAccess),
            at("old-3", 20, EventType::AuthFailure),
        ])
        .unwrap();
    let next = store.events_in_stored_order(&all, Some(first.position), 10).unwrap();
    assert_eq!(ids(&next), ["old-1", "old-2", "old-3"]);
    assert!(store.events_in_stored_order(&all, Some(next.position), 10).unwrap().events.is_empty());
    // Page by page: a full page continues after its last event.
    let p1 = store.events_in_stored_order(&all, Some(first.position), 2).unwrap();
    assert_eq!(ids(&p1), ["old-1", "old-2"]);
    let p2 = store.events_in_stored_order(&all, Some(p1.position), 2).unwrap();
    assert_eq!(ids(&p2), ["old-3"]);
    assert_eq!(p2.position, next.position);
    // Filters apply; skipped events still advance the position.
    let failures = EventFilter { event_types: vec![EventType::AuthFailure], ..all.clone() };
    let f = store.events_in_stored_order(&failures, Some(first.position), 10).unwrap();
    assert_eq!(ids(&f), ["old-1", "old-3"]);
    assert_eq!(f.position, next.position);
    // Without `after`: the newest stored ones, oldest first.
    let recent = store.events_in_stored_order(&all, None, 2).unwrap();
    assert_eq!(ids(&recent), ["old-2", "old-3"]);
    assert_eq!(recent.position, next.position);
    assert!(matches!(store.events_in_stored_order(&all, None, 0), Err(StoreError::Invalid(_))));
}

/// Random filters return exactly the oracle's events, in order, and the same count.
pub fn filters_match_oracle(make: MakeStore<'_>) {
    let store = make();
    let events = dataset(400, 7);
    store.insert_events(&events).unwrap();
    let ip = || proptest::sample::select(data::IPS.to_vec()).prop_map(|s| s.parse().unwrap());
    let cidr = || proptest::sample::select(data::CIDRS.to_vec()).prop_map(|s| s.parse().unwrap());
    let text = |pool: &'static [&'static str]| {
        proptest::option::of(
            proptest::sample::select([pool, &["nobody"]].concat()).prop_map(String::from),
        )
    };
    let time =
        || proptest::option::of((-1_i64..42).prop_map(|s| base_time() + Duration::seconds(s)));
    let strategy = (
        proptest::sample::subsequence(data::TYPES.to_vec(), 0..=3),
        proptest::option::of(proptest::sample::select(Severity::ALL.to_vec())),
        proptest::option::of(ip()),
        proptest::option::of(cidr()),
        text(data::USERS),
        text(data::SESSIONS),
        text(data::CORRELATIONS),
        proptest::option::of(proptest::sample::select(EventStatus::ALL.to_vec())),
        text(data::PARENTS),
        time(),
        time(),
        1_usize..60,
    );
    let mut runner =
        TestRunner::new(Config { cases: 128, failure_persistence: None, ..Config::default() });
    let result = runner.run(
        &strategy,
        |(types, sev, ip, cidr, user, session, corr, status, parent, start, end, limit)| {
            let f = EventFilter {
                event_types: types,
                min_severity: sev,
                ip_address: ip,
                cidr,
                user_id: user,
                session_id: session,
                correlation_id: corr,
                status,
                parent_event_id: parent,
                start_time: start,
                end_time: end,
            };
            let want = expected(&f, &events);
            let got = collect_all(&*store, &f, limit);
            prop_assert_eq!(got.len(), want.len(), "filter {:?}", f);
            prop_assert!(got == want, "filter {:?}: wrong events or order", f);
            prop_assert_eq!(store.count_events(&f).unwrap(), want.len() as u64);
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("filter conformance failed: {e}");
    }
    // Every single-field filter on its own matches something (the dataset is varied enough).
    for t in data::TYPES {
        let f = EventFilter { event_types: vec![*t], ..Default::default() };
        assert!(store.count_events(&f).unwrap() > 0, "no {t} events in the dataset");
    }
    for p in data::PARENTS {
        let f = EventFilter { parent_event_id: Some(p.to_string()), ..Default::default() };
        assert!(store.count_events(&f).unwrap() > 0, "no children of {p} in the dataset");
    }
}

/// Paging with any page size yields the whole listing once, in order, despite timestamp ties.
pub fn pagination_walks_everything(make: MakeStore<'_>) {
    let store = make();
    let events = dataset(250, 11);
    for chunk in events.chunks(64) {
        store.insert_events(chunk).unwrap();
    }
    let want = sorted_newest_first(events);
    let ties = want.windows(2).filter(|w| w[0].timestamp == w[1].timestamp).count();
    assert!(ties > 100, "the dataset must have timestamp ties");
    for limit in [1, 2, 3, 7, 50, 249, 250, 251, MAX_PAGE_LIMIT] {
        assert_eq!(collect_all(&*store, &EventFilter::default(), limit), want, "limit {limit}");
    }
    let page = store.query_events(&EventFilter::default(), None, 250).unwrap();
    assert_eq!(page.next_cursor, None, "exactly-full last page has no cursor");
    let page = store.query_events(&EventFilter::default(), None, 249).unwrap();
    assert_eq!(page.next_cursor, Some(Cursor::after(&want[248]).encode()));
}

/// A duplicate id, against stored data or within the batch, fails and stores nothing.
pub fn duplicate_ids_roll_back(make: MakeStore<'_>) {
    let store = make();
    let ev = |id: &str| SecurityEvent::new(id, EventType::AuthFailure, base_time());
    store.insert_events(&[ev("a"), ev("b")]).unwrap();
    let err = store.insert_events(&[ev("c"), ev("a"), ev("d")]).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("\"a\""), "error names the id: {err}");
    let err = store.insert_events(&[ev("e"), ev("e")]).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    for gone in ["c", "d", "e"] {
        assert_eq!(store.get_event(gone).unwrap(), None, "{gone} must be rolled back");
    }
    assert_eq!(store.count_events(&EventFilter::default()).unwrap(), 2);
    store.insert_events(&[ev("c")]).unwrap();
    assert_eq!(store.count_events(&EventFilter::default()).unwrap(), 3);
}

/// Page limits outside `1..=MAX_PAGE_LIMIT` are refused.
pub fn limits_are_checked(make: MakeStore<'_>) {
    let store = make();
    let f = EventFilter::default();
    for bad in [0, MAX_PAGE_LIMIT + 1] {
        assert!(matches!(store.query_events(&f, None, bad), Err(StoreError::Invalid(_))));
        assert!(matches!(store.list_alerts(None, bad), Err(StoreError::Invalid(_))));
        assert!(matches!(store.list_suspicious_ips(false, bad), Err(StoreError::Invalid(_))));
    }
}

/// Statistics agree with counts over the inserted data.
pub fn statistics(make: MakeStore<'_>) {
    let store = make();
    let empty = store.statistics(base_time()).unwrap();
    assert_eq!(empty.total_events, 0);
    assert!(empty.top_ips.is_empty() && empty.events_by_type.is_empty());
    let mut events = dataset(300, 3);
    // Some events far in the past, outside the 24 h window.
    for e in events.iter_mut().take(40) {
        e.timestamp -= Duration::days(2);
    }
    store.insert_events(&events).unwrap();
    for (id, status) in [("a1", None), ("a2", None), ("a3", Some(AlertStatus::Resolved))] {
        let mut a = data::alert(id, 1);
        if let Some(s) = status {
            a.status = s;
        }
        store.insert_alert(&a).unwrap();
    }
    let ips: Vec<SuspiciousIp> = (0..3)
        .map(|i| SuspiciousIp {
            ip_address: data::IPS[i].parse().unwrap(),
            threat_level: "high".into(),
            first_seen: base_time(),
            last_seen: base_time(),
            event_count: 5,
            blocked: i != 1,
        })
        .collect();
    store.upsert_suspicious_ips(&ips).unwrap();

    // `now` is exactly 24 h after the 10th second: events at that second count (inclusive).
    let now = base_time() + Duration::hours(24) + Duration::seconds(10);
    let s = store.statistics(now).unwrap();
    let lo = now - Duration::hours(24);
    assert_eq!(s.total_events, 300);
    let recent = events.iter().filter(|e| e.timestamp >= lo && e.timestamp <= now).count();
    assert_eq!(s.recent_activity_24h, recent as u64);
    assert_eq!(s.blocked_ips, 2);
    assert_eq!(s.suspicious_ips, 3);
    assert_eq!(s.events_dropped, 0);
    let mut by_type = BTreeMap::new();
    let mut by_sev = BTreeMap::new();
    let mut by_ip: HashMap<String, u64> = HashMap::new();
    for e in &events {
        *by_type.entry(e.event_type.as_str().to_string()).or_insert(0) += 1;
        *by_sev.entry(e.severity.as_str().to_string()).or_insert(0) += 1;
        if let Some(ip) = e.ip_address {
            *by_ip.entry(ip.to_string()).or_insert(0) += 1;
        }
    }
    assert_eq!(s.events_by_type, by_type);
    assert_eq!(s.events_by_severity, by_sev);
    let mut counts: Vec<u64> = by_ip.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    counts.truncate(10);
    assert_eq!(s.top_ips.iter().map(|n| n.count).collect::<Vec<_>>(), counts);
    for n in &s.top_ips {
        assert_eq!(by_ip.get(&n.name), Some(&n.count), "top ip {}", n.name);
    }
    let alerts: BTreeMap<String, u64> =
        [("active".to_string(), 2), ("resolved".to_string(), 1)].into_iter().collect();
    assert_eq!(s.alerts_by_status, alerts);
}

/// Purging by age deletes exactly the events strictly older than the cutoff.
pub fn purge_by_age(make: MakeStore<'_>) {
    let store = make();
    let events: Vec<SecurityEvent> = (0..12_000)
        .map(|i| {
            let ts = base_time() + Duration::seconds(i / 3);
            SecurityEvent::new(format!("p{i:05}"), EventType::ApiAccess, ts)
        })
        .collect();
    for chunk in events.chunks(1000) {
        store.insert_events(chunk).unwrap();
    }
    let cutoff = base_time() + Duration::seconds(3_000);
    let older = events.iter().filter(|e| e.timestamp < cutoff).count() as u64;
    assert_eq!(store.purge_events(Some(cutoff), None).unwrap(), older);
    assert_eq!(store.count_events(&EventFilter::default()).unwrap(), 12_000 - older);
    let before =
        EventFilter { end_time: Some(cutoff - Duration::nanoseconds(1)), ..Default::default() };
    assert_eq!(store.count_events(&before).unwrap(), 0);
    assert_eq!(store.get_event("p09000").unwrap().map(|e| e.event_id), Some("p09000".into()));
    assert_eq!(store.purge_events(Some(cutoff), None).unwrap(), 0, "purge is idempotent");
    assert_eq!(store.purge_events(None, None).unwrap(), 0);
}

/// Purging by count keeps exactly the newest `keep_max` events (ties broken by id).
pub fn purge_by_count(make: MakeStore<'_>) {
    let store = make();
    let events = dataset(7_000, 5);
    for chunk in events.chunks(1000) {
        store.insert_events(chunk).unwrap();
    }
    assert_eq!(store.purge_events(None, Some(10_000)).unwrap(), 0);
    assert_eq!(store.purge_events(None, Some(1_234)).unwrap(), 7_000 - 1_234);
    let want: Vec<SecurityEvent> = sorted_newest_first(events).into_iter().take(1_234).collect();
    assert_eq!(collect_all(&*store, &EventFilter::default(), 500), want);
    // Both at once: age first, then count.
    let cutoff = base_time() + Duration::seconds(20);
    let survivors: Vec<&SecurityEvent> = want.iter().filter(|e| e.timestamp >= cutoff).collect();
    let expect_deleted = (want.len() - survivors.len().min(100)) as u64;
    assert_eq!(store.purge_events(Some(cutoff), Some(100)).unwrap(), expect_deleted);
    let left = collect_all(&*store, &EventFilter::default(), 1000);
    let want_left: Vec<SecurityEvent> = survivors.into_iter().take(100).cloned().collect();
    assert_eq!(left, want_left);
    assert_eq!(store.purge_events(None, Some(0)).unwrap(), want_left.len() as u64);
    assert_eq!(store.count_events(&EventFilter::default()).unwrap(), 0);
}

/// Alerts store, update (only the mutable part), list and report missing ones.
pub fn alerts(make: MakeStore<'_>) {
    let store = make();
    let (a1, a2, a3) = (data::alert("a1", 10), data::alert("a2", 30), data::alert("a3", 20));
    for a in [&a1, &a2, &a3] {
        store.insert_alert(a).unwrap();
    }
    assert!(store.insert_alert(&a1).is_err(), "duplicate alert id");
    assert_eq!(store.get_alert("a1").unwrap().as_ref(), Some(&a1));
    assert_eq!(store.get_alert("nope").unwrap(), None);
    let ids =
        |v: Vec<seclog_core::SecurityAlert>| v.into_iter().map(|a| a.alert_id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_alerts(None, 10).unwrap()), ["a2", "a3", "a1"]);
    assert_eq!(ids(store.list_alerts(None, 2).unwrap()), ["a2", "a3"]);

    let t = base_time() + Duration::minutes(5);
    let mut upd = a1.clone();
    upd.status = AlertStatus::Acknowledged;
    upd.acknowledged_by = Some("ana".into());
    upd.acknowledged_at = Some(t);
    upd.history.push(AlertTransition {
        status: AlertStatus::Acknowledged,
        by: "ana".into(),
        at: t,
        resolution: None,
        note: Some("looking".into()),
    });
    store.update_alert(&upd).unwrap();
    assert_eq!(store.get_alert("a1").unwrap().as_ref(), Some(&upd));

    let t2 = t + Duration::minutes(1) + Duration::nanoseconds(123);
    upd.status = AlertStatus::Resolved;
    upd.resolved_by = Some("bo".into());
    upd.resolved_at = Some(t2);
    upd.resolution = Some(Resolution::FalsePositive);
    upd.history.push(AlertTransition {
        status: AlertStatus::Resolved,
        by: "bo".into(),
        at: t2,
        resolution: Some(Resolution::FalsePositive),
        note: None,
    });
    let mut with_new_title = upd.clone();
    with_new_title.title = "changed".into();
    store.update_alert(&with_new_title).unwrap();
    assert_eq!(store.get_alert("a1").unwrap().as_ref(), Some(&upd), "title is immutable");
    assert_eq!(ids(store.list_alerts(Some(AlertStatus::Resolved), 10).unwrap()), ["a1"]);
    assert_eq!(ids(store.list_alerts(Some(AlertStatus::Active), 10).unwrap()), ["a2", "a3"]);
    assert!(store.list_alerts(Some(AlertStatus::Acknowledged), 10).unwrap().is_empty());

    let missing = data::alert("zz", 1);
    assert!(matches!(store.update_alert(&missing), Err(StoreError::NotFound(_))));
    assert_eq!(store.get_alert("zz").unwrap(), None);
}

/// Suspicious IPs upsert (replace), list newest first, filter blocked.
pub fn suspicious_ips(make: MakeStore<'_>) {
    let store = make();
    let row = |ip: &str, secs: i64, blocked: bool| SuspiciousIp {
        ip_address: ip.parse().unwrap(),
        threat_level: "medium".into(),
        first_seen: base_time(),
        last_seen: base_time() + Duration::seconds(secs) + Duration::nanoseconds(7),
        event_count: 3,
        blocked,
    };
    let rows = [row("10.0.0.1", 5, false), row("2001:db8::1", 9, true), row("10.0.0.2", 1, true)];
    store.upsert_suspicious_ips(&rows).unwrap();
    assert_eq!(
        store.list_suspicious_ips(false, 10).unwrap(),
        [rows[1].clone(), rows[0].clone(), rows[2].clone()]
    );
    assert_eq!(store.list_suspicious_ips(true, 10).unwrap(), [rows[1].clone(), rows[2].clone()]);
    assert_eq!(store.list_suspicious_ips(false, 1).unwrap(), [rows[1].clone()]);

    let mut replaced = row("10.0.0.1", 20, true);
    replaced.event_count = 42;
    replaced.threat_level = "critical".into();
    store.upsert_suspicious_ips(std::slice::from_ref(&replaced)).unwrap();
    let all = store.list_suspicious_ips(false, 10).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], replaced);
    assert_eq!(store.list_suspicious_ips(true, 10).unwrap().len(), 3);
    store.upsert_suspicious_ips(&[]).unwrap();
}
