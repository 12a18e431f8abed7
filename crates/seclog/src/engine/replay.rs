//! Rebuilding the rules' windows when an engine starts: the stored events of the last
//! longest rule window run through the rules again, without acting (what they decided is
//! already stored), so the windows are what the previous engine had. The rules decide on
//! event time, so a replay equals the live run.

use seclog_core::{Cursor, EventFilter, SecurityEvent};
use seclog_store::Store;

use crate::error::Result;

/// Most events replayed at start (the newest of the window); a busier window is replayed
/// from its newest events only.
pub(crate) const MAX_REPLAY: usize = 200_000;

/// The events to replay, oldest first: those within `window_secs` before the newest stored
/// event, at most [`MAX_REPLAY`].
pub(crate) fn events_to_replay(store: &dyn Store, window_secs: u64) -> Result<Vec<SecurityEvent>> {
    let newest = store.query_events(&EventFilter::default(), None, 1)?;
    let Some(last) = newest.events.first() else { return Ok(Vec::new()) };
    let since = last.timestamp - time::Duration::seconds(window_secs.min(i64::MAX as u64) as i64);
    let filter = EventFilter { start_time: Some(since), ..EventFilter::default() };
    let mut out: Vec<SecurityEvent> = Vec::new();
    let mut cursor: Option<Cursor> = None;
    while out.len() < MAX_REPLAY {
        let page =
            store.query_events(&filter, cursor.as_ref(), 5_000.min(MAX_REPLAY - out.len()))?;
        let done = page.next_cursor.is_none() || page.events.is_empty();
        cursor = page
            .events
            .last()
            .map(|e| Cursor { timestamp: e.timestamp, event_id: e.event_id.clone() });
        out.extend(page.events);
        if done {
            break;
        }
    }
    out.reverse();
    Ok(out)
}
