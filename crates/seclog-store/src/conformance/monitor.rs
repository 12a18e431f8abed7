//! Checks of decisions, event investigation trails, API keys and the parent-event filter.

use seclog_core::monitor::{Decision, DecisionMatch, DecisionType, Scope};
use seclog_core::{
    EventAction, EventActionKind, EventFilter, EventStatus, EventType, SecurityEvent,
};
use time::{Duration, OffsetDateTime};

use super::data::base_time;
use super::{collect_all, MakeStore};
use crate::{ApiKeyRecord, StoreError};

/// Runs every check of this module.
pub fn run_all(make: MakeStore<'_>) {
    decisions(make);
    decisions_changed_since(make);
    lift_decisions_by_value(make);
    event_actions(make);
    event_actions_follow_purge(make);
    api_keys(make);
    parent_filter(make);
}

fn at(secs: i64) -> OffsetDateTime {
    base_time() + Duration::seconds(secs) + Duration::nanoseconds(secs * 7 + 1)
}

/// A ban on `value` created at `at(created)`, ending at `at(until)` or permanent.
pub fn decision(id: &str, value: &str, created: i64, until: Option<i64>) -> Decision {
    Decision {
        id: id.into(),
        scope: Scope::Ip,
        value: value.into(),
        kind: DecisionType::Ban,
        origin: "high_failure_rate".into(),
        reason: "5 failures in 300 s".into(),
        created_at: at(created),
        until: until.map(at),
        deleted_at: None,
    }
}

fn ids(v: &[Decision]) -> Vec<&str> {
    v.iter().map(|d| d.id.as_str()).collect()
}

/// Decisions round-trip; active listings follow expiry and lifting; history keeps all.
pub fn decisions(make: MakeStore<'_>) {
    let store = make();
    assert!(store.list_decisions(None, 10).unwrap().is_empty());
    let d1 = decision("d1", "10.0.0.1", 1, None);
    let d2 = decision("d2", "10.0.0.2", 2, Some(100));
    let d3 = Decision {
        scope: Scope::Range,
        value: "2001:db8::/64".into(),
        ..decision("d3", "", 3, Some(10))
    };
    let d4 = Decision { origin: "manual".into(), ..decision("d4", "10.0.0.1", 4, None) };
    let d5 = Decision {
        scope: Scope::User,
        value: "usér 😀".into(),
        deleted_at: Some(at(6)),
        ..decision("d5", "", 5, Some(1_000))
    };
    let all = vec![d1.clone(), d2.clone(), d3.clone(), d4.clone(), d5.clone()];
    for d in &all {
        store.insert_decision(d).unwrap();
    }
    let err = store.insert_decision(&d2).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "duplicate decision id: {err:?}");

    let history = store.list_decisions(None, 10).unwrap();
    assert_eq!(history, [d5.clone(), d4.clone(), d3.clone(), d2.clone(), d1.clone()]);
    assert_eq!(ids(&store.list_decisions(None, 2).unwrap()), ["d5", "d4"]);
    // Decisions are listed whole (restored at start-up, streamed to bouncers): only an empty
    // request is refused, larger limits than an event page are allowed.
    assert!(matches!(store.list_decisions(None, 0), Err(StoreError::Invalid(_))));
    assert_eq!(store.list_decisions(None, crate::MAX_PAGE_LIMIT + 1).unwrap().len(), 5);

    // The active listing agrees with `Decision::is_active` at every instant around the ends.
    let check_active = |all: &[Decision]| {
        for secs in [0, 5, 9, 10, 11, 50, 99, 100, 101, 2_000] {
            for now in
                [at(secs) - Duration::nanoseconds(1), at(secs), at(secs) + Duration::nanoseconds(1)]
            {
                let mut want: Vec<Decision> =
                    all.iter().filter(|d| d.is_active(now)).cloned().collect();
                want.reverse();
                assert_eq!(store.list_decisions(Some(now), 10).unwrap(), want, "active at {now}");
            }
        }
    };
    check_active(&all);
    assert_eq!(ids(&store.list_decisions(Some(at(10)), 10).unwrap()), ["d4", "d2", "d1"]);
    assert_eq!(ids(&store.list_decisions(Some(at(10)), 1).unwrap()), ["d4"]);

    // Lifting keeps the row as history; lifting again keeps the first time.
    let lifted = store.delete_decision("d1", at(20)).unwrap();
    let d1_lifted = Decision { deleted_at: Some(at(20)), ..d1.clone() };
    assert_eq!(lifted.as_ref(), Some(&d1_lifted));
    assert_eq!(store.delete_decision("d1", at(30)).unwrap().as_ref(), Some(&d1_lifted));
    assert_eq!(store.delete_decision("nope", at(30)).unwrap(), None);
    let all = vec![d1_lifted, d2, d3, d4, d5];
    check_active(&all);
    assert_eq!(ids(&store.list_decisions(Some(at(21)), 10).unwrap()), ["d4", "d2"]);
    assert_eq!(store.list_decisions(None, 10).unwrap().len(), 5);

    // Offence counts include every state.
    assert_eq!(store.count_decisions_for("10.0.0.1").unwrap(), 2);
    assert_eq!(store.count_decisions_for("10.0.0.2").unwrap(), 1);
    assert_eq!(store.count_decisions_for("usér 😀").unwrap(), 1);
    assert_eq!(store.count_decisions_for("10.0.0.9").unwrap(), 0);
}

/// Lifting by value: `covering` selects the IP and range decisions containing the network,
/// `scope`/`value` select exactly; only decisions in force are lifted, and the lift is a
/// change seen by `decisions_changed_since`.
pub fn lift_decisions_by_value(make: MakeStore<'_>) {
    let store = make();
    let range = |id: &str, value: &str, created: i64, until: Option<i64>| Decision {
        scope: Scope::Range,
        value: value.into(),
        ..decision(id, "", created, until)
    };
    let user = |id: &str, value: &str, created: i64| Decision {
        scope: Scope::User,
        value: value.into(),
        ..decision(id, "", created, None)
    };
    for d in [
        decision("ip", "10.0.0.1", 1, None),
        range("net24", "10.0.0.0/24", 2, Some(100)),
        range("net8", "10.0.0.0/8", 3, None),
        range("inside", "10.0.1.0/30", 4, None),
        decision("other", "10.0.0.2", 5, None),
        decision("expired", "10.0.0.1", 6, Some(7)),
        Decision { deleted_at: Some(at(8)), ..decision("lifted", "10.0.0.1", 8, None) },
        user("user", "10.0.0.1", 9),
        range("v6", "2001:db8::/64", 10, None),
    ] {
        store.insert_decision(&d).unwrap();
    }
    let lift = |m: DecisionMatch, secs: i64| -> Vec<String> {
        store.lift_decisions(&m, at(secs)).unwrap().into_iter().map(|d| d.id).collect()
    };
    let covering = |net: &str| DecisionMatch {
        covering: Some(net.parse().unwrap()),
        ..DecisionMatch::default()
    };
    assert!(matches!(
        store.lift_decisions(&DecisionMatch::default(), at(20)),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(lift(covering("10.0.0.0/16"), 20), ["net8"], "ranges containing the network");
    assert_eq!(lift(covering("10.0.0.1/32"), 20), ["ip", "net24"], "its IP and ranges");
    assert!(lift(covering("10.0.0.1/32"), 21).is_empty(), "already lifted: nothing to do");
    let lifted = store.list_decisions(None, 100).unwrap();
    let get = |id: &str| lifted.iter().find(|d| d.id == id).unwrap().clone();
    assert_eq!(get("ip").deleted_at, Some(at(20)));
    assert_eq!(get("net8").deleted_at, Some(at(20)));
    assert_eq!(get("expired").deleted_at, None, "expired decisions are not lifted");
    assert_eq!(get("lifted").deleted_at, Some(at(8)), "the first lift time is kept");
    assert_eq!(get("user").deleted_at, None, "user decisions cover no address");
    assert_eq!(get("inside").deleted_at, None, "a range inside the network does not cover it");
    assert_eq!(get("other").deleted_at, None);
    assert_eq!(
        lift(covering("2001:db8::1/128"), 22),
        ["v6"],
        "an IPv6 address is covered by its /64"
    );

    let exact = |scope: Option<Scope>, value: &str| DecisionMatch {
        scope,
        value: Some(value.into()),
        covering: None,
    };
    assert!(lift(exact(Some(Scope::Ip), "10.0.0.1"), 23).is_empty(), "a user is not an ip");
    assert_eq!(lift(exact(Some(Scope::User), "10.0.0.1"), 23), ["user"]);
    assert_eq!(lift(exact(None, "10.0.0.2"), 23), ["other"]);
    let scope_only = DecisionMatch { scope: Some(Scope::Range), ..DecisionMatch::default() };
    assert_eq!(lift(scope_only, 24), ["inside"]);
    let changed: Vec<String> =
        store.decisions_changed_since(at(22)).unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(changed, ["other", "user", "inside"], "lifts are changes");
}

/// Changes since a time: creations and lifts strictly after it, oldest change first.
pub fn decisions_changed_since(make: MakeStore<'_>) {
    let store = make();
    for d in [
        decision("c1", "10.0.0.1", 1, None),
        decision("c2", "10.0.0.2", 2, Some(5)),
        decision("c3", "10.0.0.3", 3, None),
        decision("c4", "10.0.0.4", 4, None),
    ] {
        store.insert_decision(&d).unwrap();
    }
    store.delete_decision("c1", at(20)).unwrap();
    store.delete_decision("c3", at(10)).unwrap();
    let changed = |secs: i64| -> Vec<String> {
        store.decisions_changed_since(at(secs)).unwrap().into_iter().map(|d| d.id).collect()
    };
    // Ordered by the time of the change: creation, or the lift for lifted ones.
    assert_eq!(changed(0), ["c2", "c4", "c3", "c1"]);
    assert_eq!(changed(2), ["c4", "c3", "c1"], "exclusive of `after`");
    assert_eq!(changed(4), ["c3", "c1"], "lifts after `after` count");
    assert_eq!(changed(10), ["c1"]);
    assert!(changed(20).is_empty());
    let c1 = store.decisions_changed_since(at(10)).unwrap();
    assert_eq!(c1.first().and_then(|d| d.deleted_at), Some(at(20)), "lifted state is returned");
    // Expiry is not a change: `until` is in the decision for the reader to apply.
    store.insert_decision(&decision("c5", "10.0.0.5", 30, Some(31))).unwrap();
    assert_eq!(changed(30), Vec::<String>::new());
    assert_eq!(changed(29), ["c5"]);
}

fn action(id: &str, event: &str, kind: EventActionKind, secs: i64) -> EventAction {
    EventAction {
        action_id: id.into(),
        event_id: event.into(),
        kind,
        status: None,
        text: Some(format!("note {id} — ü")),
        by: "ana".into(),
        at: at(secs),
    }
}

/// The trail appends in time order (ties in insertion order) and needs an existing event.
pub fn event_actions(make: MakeStore<'_>) {
    let store = make();
    let e1 = SecurityEvent::new("e1", EventType::AuthFailure, base_time());
    let e2 = SecurityEvent::new("e2", EventType::AuthFailure, base_time());
    store.insert_events(&[e1.clone(), e2.clone()]).unwrap();
    let a1 = EventAction {
        status: Some(EventStatus::Investigating),
        text: None,
        ..action("a1", "e1", EventActionKind::StatusChange, 5)
    };
    let a2 = action("a2", "e1", EventActionKind::Note, 1);
    let a3 = EventAction {
        status: Some(EventStatus::Escalated),
        ..action("a3", "e1", EventActionKind::Escalation, 5)
    };
    let b1 = action("b1", "e2", EventActionKind::Remediation, 3);
    for a in [&a1, &a2, &a3, &b1] {
        store.append_event_action(a).unwrap();
    }
    assert_eq!(store.event_actions("e1").unwrap(), [a2.clone(), a1.clone(), a3.clone()]);
    assert_eq!(store.event_actions("e2").unwrap(), std::slice::from_ref(&b1));
    assert!(store.event_actions("nope").unwrap().is_empty());

    let orphan = action("x1", "nope", EventActionKind::Note, 1);
    let err = store.append_event_action(&orphan).unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "unknown event: {err:?}");
    assert!(err.to_string().contains("nope"), "error names the event: {err}");
    assert!(store.event_actions("nope").unwrap().is_empty(), "nothing stored");

    let dup = action("a1", "e2", EventActionKind::Note, 9);
    assert!(matches!(store.append_event_action(&dup), Err(StoreError::Invalid(_))));
    assert_eq!(store.event_actions("e2").unwrap(), [b1]);

    // The events themselves never change.
    assert_eq!(store.get_event("e1").unwrap(), Some(e1));
    assert_eq!(store.get_event("e2").unwrap(), Some(e2));
}

/// Purging events deletes their trails too; other trails stay.
pub fn event_actions_follow_purge(make: MakeStore<'_>) {
    let store = make();
    let old = SecurityEvent::new("old", EventType::AuthFailure, base_time());
    let new = SecurityEvent::new("new", EventType::AuthFailure, at(100));
    store.insert_events(&[old, new]).unwrap();
    store.append_event_action(&action("o1", "old", EventActionKind::Note, 1)).unwrap();
    let n1 = action("n1", "new", EventActionKind::Note, 101);
    store.append_event_action(&n1).unwrap();
    assert_eq!(store.purge_events(Some(at(50)), None).unwrap(), 1);
    assert!(store.event_actions("old").unwrap().is_empty());
    assert_eq!(store.event_actions("new").unwrap(), [n1]);
    let again = action("o2", "old", EventActionKind::Note, 2);
    assert!(matches!(store.append_event_action(&again), Err(StoreError::NotFound(_))));
}

fn key(id: &str, hash: &str, secs: i64) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.into(),
        name: format!("key {id}"),
        scopes: vec!["events:write".into(), "decisions:read".into()],
        key_hash: hash.into(),
        created_at: at(secs),
        revoked_at: None,
        last_used_at: None,
    }
}

/// API keys: insert, unique id and hash, find by hash, list, revoke, touch, count.
pub fn api_keys(make: MakeStore<'_>) {
    let store = make();
    assert_eq!(store.count_active_api_keys().unwrap(), 0);
    assert!(store.list_api_keys().unwrap().is_empty());
    let k1 = key("k1", "hash-1", 1);
    let k2 = ApiKeyRecord { scopes: vec![], ..key("k2", "hash-2", 2) };
    store.insert_api_key(&k1).unwrap();
    store.insert_api_key(&k2).unwrap();
    for dup in [key("k1", "hash-3", 3), key("k3", "hash-1", 3)] {
        let err = store.insert_api_key(&dup).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert!(!err.to_string().contains("hash-"), "the hash is not echoed: {err}");
    }
    assert_eq!(store.find_api_key_by_hash("hash-1").unwrap().as_ref(), Some(&k1));
    assert_eq!(store.find_api_key_by_hash("hash-3").unwrap(), None);
    assert_eq!(store.list_api_keys().unwrap(), [k2.clone(), k1.clone()]);
    assert_eq!(store.count_active_api_keys().unwrap(), 2);

    let revoked = ApiKeyRecord { revoked_at: Some(at(5)), ..k1.clone() };
    assert_eq!(store.revoke_api_key("k1", at(5)).unwrap().as_ref(), Some(&revoked));
    assert_eq!(store.revoke_api_key("k1", at(9)).unwrap().as_ref(), Some(&revoked));
    assert_eq!(store.revoke_api_key("zz", at(9)).unwrap(), None);
    assert_eq!(store.count_active_api_keys().unwrap(), 1);
    let found = store.find_api_key_by_hash("hash-1").unwrap().unwrap();
    assert!(!found.is_active() && found == revoked);

    store.touch_api_key("k2", at(7)).unwrap();
    let touched = ApiKeyRecord { last_used_at: Some(at(7)), ..k2 };
    assert_eq!(store.find_api_key_by_hash("hash-2").unwrap(), Some(touched.clone()));
    assert!(matches!(store.touch_api_key("zz", at(7)), Err(StoreError::NotFound(_))));
    assert_eq!(store.list_api_keys().unwrap(), [touched, revoked]);
}

/// The parent filter returns exactly an event's children, newest first, with other filters.
pub fn parent_filter(make: MakeStore<'_>) {
    let store = make();
    let child = |id: &str, secs: i64, parent: Option<&str>| {
        let mut e = SecurityEvent::new(id, EventType::SqlInjectionAttempt, at(secs));
        e.parent_event_id = parent.map(String::from);
        e
    };
    let root = child("root", 0, None);
    let (c1, c2, c3) =
        (child("c1", 1, Some("root")), child("c2", 3, Some("root")), child("c3", 2, Some("root")));
    let other = child("o1", 4, Some("other"));
    store.insert_events(&[root, c1.clone(), c2.clone(), c3.clone(), other]).unwrap();
    let f = EventFilter { parent_event_id: Some("root".into()), ..Default::default() };
    assert_eq!(collect_all(&*store, &f, 2), [c2, c3, c1]);
    assert_eq!(store.count_events(&f).unwrap(), 3);
    let f = EventFilter { start_time: Some(at(2)), ..f };
    assert_eq!(store.count_events(&f).unwrap(), 2);
    let f = EventFilter { parent_event_id: Some("c1".into()), ..Default::default() };
    assert_eq!(store.count_events(&f).unwrap(), 0);
}
