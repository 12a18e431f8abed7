//! Compact per-key window state: the last `threshold` event times (microseconds since the epoch)
//! with the ids of those events, kept sorted by time.
//!
//! Capacity grows one step at a time up to `threshold`, so a key seen once costs one entry.

use time::OffsetDateTime;

/// Microseconds since the Unix epoch (saturating; every `OffsetDateTime` fits).
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// An event id stored compactly: a canonical lowercase UUID as 16 bytes, anything else as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventId {
    /// A canonical `8-4-4-4-12` lowercase hex UUID.
    Uuid([u8; 16]),
    /// Any other id.
    Other(Box<str>),
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex digit values; 0xff for any other byte.
const HEX_VAL: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0u8;
    while i < 16 {
        t[HEX[i as usize] as usize] = i;
        i += 1;
    }
    t
};

/// Byte offsets of the 16 hex pairs of a canonical UUID.
const PAIRS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

impl EventId {
    /// Stores `s`; [`EventId::to_string`] gives back exactly `s`.
    pub(crate) fn new(s: &str) -> Self {
        Self::parse_uuid(s).map_or_else(|| EventId::Other(s.into()), EventId::Uuid)
    }

    fn parse_uuid(s: &str) -> Option<[u8; 16]> {
        let b: &[u8; 36] = s.as_bytes().try_into().ok()?;
        if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
            return None;
        }
        let mut out = [0u8; 16];
        let mut bad = 0u8;
        for (o, &p) in out.iter_mut().zip(PAIRS.iter()) {
            let (hi, lo) = (HEX_VAL[usize::from(b[p])], HEX_VAL[usize::from(b[p + 1])]);
            bad |= hi | lo;
            *o = (hi << 4) | (lo & 0xf);
        }
        // Valid digits are < 16; 0xff marks any other byte.
        (bad < 16).then_some(out)
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventId::Other(s) => f.write_str(s),
            EventId::Uuid(bytes) => {
                let mut buf = [0u8; 36];
                let mut j = 0usize;
                for (n, byte) in bytes.iter().enumerate() {
                    if matches!(n, 4 | 6 | 8 | 10) {
                        buf[j] = b'-';
                        j += 1;
                    }
                    buf[j] = HEX[usize::from(byte >> 4)];
                    buf[j + 1] = HEX[usize::from(byte & 0xf)];
                    j += 2;
                }
                f.write_str(std::str::from_utf8(&buf).map_err(|_| std::fmt::Error)?)
            }
        }
    }
}

/// One remembered event: time in microseconds, id, and a tag (the hash of a distinct value,
/// 0 when unused).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) t: i64,
    pub(crate) tag: u64,
    pub(crate) id: EventId,
}

/// Up to `cap` entries sorted by time (ties in arrival order). A single entry is stored inline
/// (no heap allocation): with a million keys seen once each, that is most of them.
#[derive(Debug, Clone)]
pub(crate) enum TimeRing {
    /// Exactly one entry.
    One(Entry),
    /// Zero or several entries.
    Many(Vec<Entry>),
}

impl Default for TimeRing {
    fn default() -> Self {
        TimeRing::Many(Vec::new())
    }
}

impl TimeRing {
    fn entries(&self) -> &[Entry] {
        match self {
            TimeRing::One(e) => std::slice::from_ref(e),
            TimeRing::Many(v) => v,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries().len()
    }

    pub(crate) fn clear(&mut self) {
        *self = TimeRing::default();
    }

    pub(crate) fn first_t(&self) -> Option<i64> {
        self.entries().first().map(|e| e.t)
    }

    pub(crate) fn last_t(&self) -> Option<i64> {
        self.entries().last().map(|e| e.t)
    }

    /// The ids of the entries, oldest first.
    pub(crate) fn ids(&self) -> Vec<String> {
        self.entries().iter().map(|e| e.id.to_string()).collect()
    }

    /// Inserts an entry in time order, keeping the newest `cap`. Returns false (and keeps
    /// nothing) when the ring is full and the entry is older than every kept one.
    pub(crate) fn insert(&mut self, entry: Entry, cap: usize) -> bool {
        let cap = cap.max(1);
        let entries = match self {
            TimeRing::Many(v) if v.is_empty() => {
                *self = TimeRing::One(entry);
                return true;
            }
            TimeRing::One(old) if cap == 1 => {
                if entry.t < old.t {
                    return false;
                }
                *old = entry;
                return true;
            }
            TimeRing::One(old) => {
                let old =
                    std::mem::replace(old, Entry { t: 0, tag: 0, id: EventId::Uuid([0; 16]) });
                let mut v = Vec::with_capacity(2);
                if old.t <= entry.t {
                    v.extend([old, entry]);
                } else {
                    v.extend([entry, old]);
                }
                *self = TimeRing::Many(v);
                return true;
            }
            TimeRing::Many(v) => v,
        };
        let pos = entries.iter().rposition(|e| e.t <= entry.t).map_or(0, |p| p + 1);
        if entries.len() >= cap && pos == 0 {
            return false;
        }
        let mut pos = pos;
        while entries.len() >= cap && pos > 0 {
            // Make room without growing past `cap`: the oldest entry goes first.
            entries.remove(0);
            pos -= 1;
        }
        if entries.len() == entries.capacity() {
            // Small steps up to `cap` (never the default doubling past it).
            let want = (entries.capacity() * 2).clamp(1, cap);
            entries.reserve_exact(want.saturating_sub(entries.len()));
        }
        entries.insert(pos, entry);
        true
    }

    /// Inserts an entry whose `tag` is a distinct value: an older entry with the same tag is
    /// replaced (a newer one is kept and the entry is dropped), so each tag appears once and the
    /// ring keeps the `cap` most recent distinct values.
    pub(crate) fn insert_distinct(&mut self, entry: Entry, cap: usize) -> bool {
        match self {
            TimeRing::One(old) if old.tag == entry.tag => {
                if old.t > entry.t {
                    return false;
                }
                *old = entry;
                return true;
            }
            TimeRing::Many(v) => {
                if let Some(i) = v.iter().position(|e| e.tag == entry.tag) {
                    match v.get(i) {
                        Some(old) if old.t > entry.t => return false,
                        _ => {
                            v.remove(i);
                        }
                    }
                }
            }
            TimeRing::One(_) => {}
        }
        self.insert(entry, cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(t: i64) -> Entry {
        Entry { t, tag: 0, id: EventId::new(&format!("e{t}")) }
    }

    #[test]
    fn uuid_ids_round_trip_compactly() {
        let s = "0e4f9a6c-1111-4222-8333-944455556666";
        let id = EventId::new(s);
        assert!(matches!(id, EventId::Uuid(_)));
        assert_eq!(id.to_string(), s);
        for other in [
            "0E4F9A6C-1111-4222-8333-944455556666",
            "abc",
            "0e4f9a6c_1111-4222-8333-944455556666",
            "",
        ] {
            let id = EventId::new(other);
            assert!(matches!(id, EventId::Other(_)), "{other}");
            assert_eq!(id.to_string(), other);
        }
    }

    #[test]
    fn ring_keeps_newest_sorted() {
        let mut r = TimeRing::default();
        for t in [5, 1, 3, 9, 7] {
            r.insert(e(t), 3);
        }
        assert_eq!(r.ids(), vec!["e5", "e7", "e9"]);
        assert!(!r.insert(e(2), 3), "older than all kept in a full ring");
        assert!(matches!(&r, TimeRing::Many(v) if v.capacity() <= 3));
        let mut one = TimeRing::default();
        assert!(one.insert(e(4), 1));
        assert!(!one.insert(e(3), 1), "older than the kept one");
        assert!(one.insert(e(4), 1));
        assert!(matches!(one, TimeRing::One(_)), "a single entry stays inline");
        assert!(one.insert(e(2), 2));
        assert_eq!(one.ids(), vec!["e2", "e4"]);
    }

    #[test]
    fn distinct_keeps_latest_per_tag() {
        let mut r = TimeRing::default();
        let d = |t, tag| Entry { t, tag, id: EventId::new(&format!("{tag}@{t}")) };
        r.insert_distinct(d(1, 10), 2);
        r.insert_distinct(d(2, 20), 2);
        r.insert_distinct(d(3, 10), 2);
        assert_eq!(r.ids(), vec!["20@2", "10@3"]);
        r.insert_distinct(d(4, 30), 2);
        assert_eq!(r.ids(), vec!["10@3", "30@4"]);
        assert!(!r.insert_distinct(d(0, 30), 2));
    }
}
