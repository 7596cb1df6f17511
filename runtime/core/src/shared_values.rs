//! Sub-objects that repeat across decoded objects, stored once.
//!
//! The Pods of one template carry equal resource requirements, probes,
//! security contexts and projected volumes: about a quarter of a cached Pod.
//! Generated types hold optional sub-objects as `Arc<T>`, and decoding hands
//! a value equal to one decoded recently the same allocation.
//!
//! Per type and thread, the pool remembers the last [`RECENT`] distinct
//! values, by weak reference: it never keeps a value alive, and its size is
//! fixed, whatever was decoded. Lists come sorted by namespace and name, so
//! the objects of one template arrive close together and a short memory
//! finds them. The pools are per thread so that decoding takes no lock
//! (threads decoding one list's items in parallel each find their runs'
//! repeats; a value at most gets one copy per thread).

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Weak};

/// Distinct values remembered per type.
const RECENT: usize = 16;

type Pools = std::collections::HashMap<TypeId, Box<dyn Any>, foldhash::fast::FixedState>;

thread_local! {
    static POOLS: RefCell<Pools> = RefCell::default();
}

/// The pool of type `P` of this thread, made on first use, borrowed for `f`.
/// `f` must not decode: decoding uses the pools itself.
fn with_pool<P: Default + 'static, R>(f: impl FnOnce(&mut P) -> R) -> R {
    POOLS.with_borrow_mut(|pools| {
        let pool = pools
            .entry(TypeId::of::<P>())
            .or_insert_with(|| Box::<P>::default());
        match pool.downcast_mut::<P>() {
            Some(pool) => f(pool),
            // Unreachable: the entry of `P`'s TypeId holds a `P`.
            None => f(&mut P::default()),
        }
    })
}

/// `value` in an `Arc`: the allocation of an equal live value decoded
/// recently, else a new one, remembered.
pub(crate) fn share<T: PartialEq + Send + Sync + 'static>(value: T) -> Arc<T> {
    with_pool(|Recent::<T>(recent)| {
        let mut i = 0;
        while i < recent.len() {
            match recent[i].upgrade() {
                Some(live) if *live == value => {
                    to_front(recent, i);
                    return live;
                }
                Some(_) => i += 1,
                None => {
                    recent.remove(i);
                }
            }
        }
        let fresh = Arc::new(value);
        remember(recent, Arc::downgrade(&fresh));
        fresh
    })
}

/// Moves entry `i` first: most recently used first, so runs of equal values
/// stay cheap.
fn to_front<E: Default>(recent: &mut VecDeque<E>, i: usize) {
    if i > 0 {
        let hit = recent.remove(i).unwrap_or_default();
        recent.push_front(hit);
    }
}

/// Puts `entry` first, forgetting the oldest when the pool is full.
fn remember<E>(recent: &mut VecDeque<E>, entry: E) {
    if recent.len() == RECENT {
        recent.pop_back();
    }
    recent.push_front(entry);
}

/// Values by themselves.
struct Recent<T>(VecDeque<Weak<T>>);

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self(VecDeque::with_capacity(RECENT))
    }
}

/// Values by the protobuf bytes they were decoded from: a hit skips the
/// decode itself (equal bytes decode to equal values).
struct ByBytes<T>(VecDeque<(Box<[u8]>, Weak<T>)>);

impl<T> Default for ByBytes<T> {
    fn default() -> Self {
        Self(VecDeque::with_capacity(RECENT))
    }
}

/// Encodings longer than this are not remembered, so the pool's memory
/// stays small and fixed.
const MAX_REMEMBERED_BYTES: usize = 4096;

/// The value `encoded` decodes to, in an `Arc`: the allocation of a live
/// value decoded recently from the same bytes, without decoding again; else
/// `decode()`'s value, shared as [`share`] does and remembered by its bytes.
pub(crate) fn share_encoded<T: PartialEq + Send + Sync + 'static, E>(
    encoded: &[u8],
    decode: impl FnOnce() -> Result<T, E>,
) -> Result<Arc<T>, E> {
    let remembered = encoded.len() <= MAX_REMEMBERED_BYTES;
    if remembered {
        let hit = with_pool(|ByBytes::<T>(recent)| {
            let mut i = 0;
            while i < recent.len() {
                if *recent[i].0 != *encoded {
                    i += 1;
                    continue;
                }
                match recent[i].1.upgrade() {
                    Some(live) => {
                        to_front(recent, i);
                        return Some(live);
                    }
                    None => {
                        recent.remove(i);
                    }
                }
            }
            None
        });
        if let Some(live) = hit {
            return Ok(live);
        }
    }
    // Outside the pool's borrow: decoding shares the value's own parts.
    let value = share(decode()?);
    if remembered {
        with_pool(|ByBytes::<T>(recent)| {
            remember(recent, (encoded.into(), Arc::downgrade(&value)))
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Probe(u32, &'static str);

    #[test]
    fn equal_values_share_one_allocation_while_alive() {
        let a = share(Probe(1, "web"));
        let b = share(Probe(1, "web"));
        assert!(Arc::ptr_eq(&a, &b));
        let c = share(Probe(2, "web"));
        assert!(!Arc::ptr_eq(&a, &c));
        // Interleaved values are still found.
        assert!(Arc::ptr_eq(&share(Probe(1, "web")), &a));
        assert!(Arc::ptr_eq(&share(Probe(2, "web")), &c));
    }

    #[test]
    fn equal_bytes_share_without_decoding_again() {
        #[derive(Debug, PartialEq)]
        struct Decoded(u8);
        let mut decodes = 0;
        let mut decode = |b: &[u8]| {
            decodes += 1;
            Ok::<_, ()>(Decoded(b[0]))
        };
        let a = share_encoded(&[7, 1], || decode(&[7, 1])).unwrap();
        let b = share_encoded(&[7, 1], || decode(&[7, 1])).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // Other bytes, equal value: decoded, and shared by value.
        let c = share_encoded(&[7, 2], || decode(&[7, 2])).unwrap();
        assert!(Arc::ptr_eq(&a, &c));
        assert_eq!(decodes, 2);
        // A failed decode is the caller's error, and nothing is remembered.
        assert!(share_encoded::<Decoded, _>(&[9], || Err(())).is_err());
    }

    #[test]
    fn the_pool_keeps_nothing_alive_and_stays_bounded() {
        #[derive(PartialEq)]
        struct Unique(usize);
        let first = share(Unique(0));
        let weak = Arc::downgrade(&first);
        drop(first);
        assert!(weak.upgrade().is_none(), "the pool held a value alive");
        let kept: Vec<_> = (1..=10 * RECENT).map(|i| share(Unique(i))).collect();
        assert_eq!(with_pool(|Recent::<Unique>(recent)| recent.len()), RECENT);
        drop(kept);
    }
}
