#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! A store whose inserts block until released: lets a test fill the queue deterministically.

use seclog::core::monitor::Decision;
use seclog::*;
use seclog_store::ApiKeyRecord;

/// A store whose inserts block until released: lets a test fill the queue deterministically.
pub(crate) struct GatedStore {
    pub(crate) inner: seclog_store::sqlite::SqliteStore,
    pub(crate) open: std::sync::Mutex<bool>,
    pub(crate) opened: std::sync::Condvar,
    /// While set, every insert fails with a database error (as a full disk would).
    pub(crate) failing: std::sync::atomic::AtomicBool,
    /// Calls of `insert_events`.
    pub(crate) insert_calls: std::sync::atomic::AtomicUsize,
}

impl GatedStore {
    /// A closed gate over an in-memory SQLite store.
    pub(crate) fn new() -> Self {
        GatedStore {
            inner: seclog_store::sqlite::SqliteStore::open_in_memory().unwrap(),
            open: std::sync::Mutex::new(false),
            opened: std::sync::Condvar::new(),
            failing: std::sync::atomic::AtomicBool::new(false),
            insert_calls: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    pub(crate) fn release(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl seclog_store::Store for GatedStore {
    fn insert_events(&self, events: &[SecurityEvent]) -> seclog_store::Result<()> {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
        drop(open);
        self.insert_calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(seclog_store::StoreError::Database("disk I/O error (test)".into()));
        }
        self.inner.insert_events(events)
    }
    fn get_event(&self, id: &str) -> seclog_store::Result<Option<SecurityEvent>> {
        self.inner.get_event(id)
    }
    fn query_events(
        &self,
        f: &EventFilter,
        c: Option<&seclog::core::Cursor>,
        l: usize,
    ) -> seclog_store::Result<EventPage> {
        self.inner.query_events(f, c, l)
    }
    fn events_in_stored_order(
        &self,
        f: &EventFilter,
        after: Option<u64>,
        l: usize,
    ) -> seclog_store::Result<seclog::core::StoredPage> {
        self.inner.events_in_stored_order(f, after, l)
    }
    fn count_events(&self, f: &EventFilter) -> seclog_store::Result<u64> {
        self.inner.count_events(f)
    }
    fn statistics(&self, now: time::OffsetDateTime) -> seclog_store::Result<Statistics> {
        self.inner.statistics(now)
    }
    fn purge_events(
        &self,
        a: Option<time::OffsetDateTime>,
        b: Option<u64>,
    ) -> seclog_store::Result<u64> {
        self.inner.purge_events(a, b)
    }
    fn insert_alert(&self, a: &SecurityAlert) -> seclog_store::Result<()> {
        self.inner.insert_alert(a)
    }
    fn update_alert(&self, a: &SecurityAlert) -> seclog_store::Result<()> {
        self.inner.update_alert(a)
    }
    fn get_alert(&self, id: &str) -> seclog_store::Result<Option<SecurityAlert>> {
        self.inner.get_alert(id)
    }
    fn list_alerts(
        &self,
        s: Option<AlertStatus>,
        l: usize,
    ) -> seclog_store::Result<Vec<SecurityAlert>> {
        self.inner.list_alerts(s, l)
    }
    fn upsert_suspicious_ips(&self, r: &[seclog::core::SuspiciousIp]) -> seclog_store::Result<()> {
        self.inner.upsert_suspicious_ips(r)
    }
    fn list_suspicious_ips(
        &self,
        b: bool,
        l: usize,
    ) -> seclog_store::Result<Vec<seclog::core::SuspiciousIp>> {
        self.inner.list_suspicious_ips(b, l)
    }
    fn insert_decision(&self, d: &Decision) -> seclog_store::Result<()> {
        self.inner.insert_decision(d)
    }
    fn delete_decision(
        &self,
        id: &str,
        at: time::OffsetDateTime,
    ) -> seclog_store::Result<Option<Decision>> {
        self.inner.delete_decision(id, at)
    }
    fn lift_decisions(
        &self,
        m: &seclog::core::monitor::DecisionMatch,
        at: time::OffsetDateTime,
    ) -> seclog_store::Result<Vec<Decision>> {
        self.inner.lift_decisions(m, at)
    }
    fn list_decisions(
        &self,
        now: Option<time::OffsetDateTime>,
        l: usize,
    ) -> seclog_store::Result<Vec<Decision>> {
        self.inner.list_decisions(now, l)
    }
    fn decisions_changed_since(
        &self,
        after: time::OffsetDateTime,
    ) -> seclog_store::Result<Vec<Decision>> {
        self.inner.decisions_changed_since(after)
    }
    fn count_decisions_for(&self, value: &str) -> seclog_store::Result<u64> {
        self.inner.count_decisions_for(value)
    }
    fn append_event_action(&self, a: &seclog::core::EventAction) -> seclog_store::Result<()> {
        self.inner.append_event_action(a)
    }
    fn event_actions(&self, id: &str) -> seclog_store::Result<Vec<seclog::core::EventAction>> {
        self.inner.event_actions(id)
    }
    fn insert_api_key(&self, k: &ApiKeyRecord) -> seclog_store::Result<()> {
        self.inner.insert_api_key(k)
    }
    fn find_api_key_by_hash(&self, h: &str) -> seclog_store::Result<Option<ApiKeyRecord>> {
        self.inner.find_api_key_by_hash(h)
    }
    fn list_api_keys(&self) -> seclog_store::Result<Vec<ApiKeyRecord>> {
        self.inner.list_api_keys()
    }
    fn revoke_api_key(
        &self,
        id: &str,
        at: time::OffsetDateTime,
    ) -> seclog_store::Result<Option<ApiKeyRecord>> {
        self.inner.revoke_api_key(id, at)
    }
    fn touch_api_key(&self, id: &str, at: time::OffsetDateTime) -> seclog_store::Result<()> {
        self.inner.touch_api_key(id, at)
    }
    fn count_active_api_keys(&self) -> seclog_store::Result<u64> {
        self.inner.count_active_api_keys()
    }
}

/// A logger over a [`GatedStore`] with a small queue (8) and batches of 4, monitoring off.
pub(crate) fn gated(policy: QueueFullPolicy) -> (SecurityLogger, std::sync::Arc<GatedStore>) {
    let store = std::sync::Arc::new(GatedStore::new());
    let cfg = Config {
        db_file: ":memory:".into(),
        queue_capacity: 8,
        batch_size: 4,
        queue_full_policy: policy,
        enable_real_time_monitoring: false,
        ..Config::default()
    };
    let logger =
        SecurityLogger::with_store(cfg, store.clone(), std::sync::Arc::new(SystemClock)).unwrap();
    (logger, store)
}
