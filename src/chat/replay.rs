//! The replay cache: deliveries seen within the freshness window, bounded in memory. A replay
//! after a restart (cache empty) still cannot create a second Approval: the Approval's name is
//! derived from the change, the chat identity and the decision (`notify::actions::approval_name`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Seen delivery keys, each remembered for `window_seconds`, at most `capacity` at once.
pub struct ReplayCache {
    inner: Mutex<Seen>,
    window_seconds: i64,
    capacity: usize,
}

#[derive(Default)]
struct Seen {
    expiry: HashMap<String, i64>,
    order: VecDeque<(i64, String)>,
}

impl ReplayCache {
    /// An empty cache.
    #[must_use]
    pub fn new(window_seconds: i64, capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Seen::default()),
            window_seconds,
            capacity: capacity.max(1),
        }
    }

    /// Records `key` at `now_unix`; false when it was already seen within the window. When the
    /// cache is full of live entries, the oldest is dropped (the Approval name still refuses
    /// a second decision).
    pub fn first_time(&self, key: &str, now_unix: i64) -> bool {
        let Ok(mut seen) = self.inner.lock() else {
            return false;
        };
        while let Some((expires, _)) = seen.order.front() {
            if *expires > now_unix && seen.order.len() < self.capacity {
                break;
            }
            if let Some((expires, old)) = seen.order.pop_front()
                && seen.expiry.get(&old) == Some(&expires)
            {
                seen.expiry.remove(&old);
            }
        }
        if seen.expiry.get(key).is_some_and(|e| *e > now_unix) {
            return false;
        }
        let expires = now_unix + self.window_seconds;
        seen.expiry.insert(key.to_owned(), expires);
        seen.order.push_back((expires, key.to_owned()));
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_within_the_window_and_memory_stays_bounded() {
        let cache = ReplayCache::new(300, 3);
        assert!(cache.first_time("a", 1000));
        assert!(!cache.first_time("a", 1000));
        assert!(!cache.first_time("a", 1299));
        assert!(cache.first_time("a", 1300), "forgotten after the window");
        for k in ["b", "c", "d", "e"] {
            assert!(cache.first_time(k, 1301));
        }
        let seen = cache.inner.lock().unwrap();
        assert!(seen.order.len() <= 3 && seen.expiry.len() <= 3);
    }
}
