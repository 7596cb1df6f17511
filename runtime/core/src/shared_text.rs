//! Text that repeats across decoded objects, stored once.
//!
//! The Pods of one template carry the same managedFields field sets (about
//! 2 KB of a 5 KB Pod), and an informer holds every object it decoded. Equal
//! texts are handed out as one `Arc<str>`. The pool holds only weak
//! references, swept as it grows, so it never keeps a text alive and its size
//! follows the live texts, not everything ever decoded.

use std::collections::HashMap;
// Hashing is most of the cost of sharing; a collision only costs the
// sharing (texts are compared on a hit), so a fast keyed hash fits.
use foldhash::fast::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// Entries kept before the first sweep of dead ones.
const FIRST_SWEEP: usize = 1024;

struct Pool {
    hasher: RandomState,
    /// By hash; a text whose hash is taken by another live text is not
    /// shared (rare, and only costs the sharing).
    texts: HashMap<u64, Weak<str>>,
    next_sweep: usize,
}

fn pool() -> &'static Mutex<Pool> {
    static POOL: OnceLock<Mutex<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        Mutex::new(Pool {
            hasher: RandomState::default(),
            texts: HashMap::new(),
            next_sweep: FIRST_SWEEP,
        })
    })
}

/// `text` as an `Arc<str>`, the same allocation as a live equal text's.
pub(crate) fn shared(text: &str) -> Arc<str> {
    // A poisoned lock only means a panic elsewhere while it was held; the
    // map is still a valid cache.
    let mut pool = pool().lock().unwrap_or_else(|e| e.into_inner());
    let hash = pool.hasher.hash_one(text);
    if let Some(live) = pool.texts.get(&hash).and_then(Weak::upgrade) {
        if *live == *text {
            return live;
        }
        return Arc::from(text);
    }
    let fresh: Arc<str> = Arc::from(text);
    pool.texts.insert(hash, Arc::downgrade(&fresh));
    if pool.texts.len() >= pool.next_sweep {
        pool.texts.retain(|_, w| w.strong_count() > 0);
        pool.next_sweep = (2 * pool.texts.len()).max(FIRST_SWEEP);
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_one_allocation_while_alive() {
        let a = shared(r#"{"f:metadata":{}}"#);
        let b = shared(&String::from(r#"{"f:metadata":{}}"#));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &shared(r#"{"f:spec":{}}"#)));
    }

    #[test]
    fn the_pool_keeps_no_text_alive_and_stays_bounded() {
        for i in 0..10 * FIRST_SWEEP {
            drop(shared(&format!(r#"{{"f:unique-{i}":{{}}}}"#)));
        }
        let pool = pool().lock().unwrap();
        // Swept as it grew: at most one sweep interval of dead entries (other
        // tests in this process may hold a few live ones).
        assert!(pool.texts.len() <= 2 * FIRST_SWEEP, "{}", pool.texts.len());
    }
}
