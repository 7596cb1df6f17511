//! Sub-objects that repeat across decoded objects, stored once.
//!
//! The Pods of one template carry equal resource requirements, probes,
//! security contexts and projected volumes: about a quarter of a cached Pod.
//! Generated types hold optional sub-objects as `Arc<T>`, and decoding hands
//! a value equal to one decoded recently the same allocation.
//!
//! Per type, the pool remembers the last [`RECENT`] distinct values, by weak
//! reference: it never keeps a value alive, and its size is fixed, whatever
//! was decoded. Lists come sorted by namespace and name, so the objects of
//! one template arrive close together and a short memory finds them.

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// Distinct values remembered per type.
const RECENT: usize = 16;

type Pools = HashMap<TypeId, Box<dyn Any + Send>>;

fn pools() -> &'static Mutex<Pools> {
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    POOLS.get_or_init(Default::default)
}

/// `value` in an `Arc`: the allocation of an equal live value decoded
/// recently, else a new one, remembered.
pub(crate) fn share<T: PartialEq + Send + Sync + 'static>(value: T) -> Arc<T> {
    // A poisoned lock only means a panic elsewhere while it was held; the
    // pools are still valid.
    let mut pools = pools().lock().unwrap_or_else(|e| e.into_inner());
    let entry = pools
        .entry(TypeId::of::<T>())
        .or_insert_with(|| Box::new(VecDeque::<Weak<T>>::with_capacity(RECENT)));
    let Some(recent) = entry.downcast_mut::<VecDeque<Weak<T>>>() else {
        return Arc::new(value);
    };
    let mut i = 0;
    while i < recent.len() {
        match recent[i].upgrade() {
            Some(live) if *live == value => {
                // Most recently used first, so runs of equal values stay cheap.
                if i > 0 {
                    let hit = recent.remove(i).unwrap_or_default();
                    recent.push_front(hit);
                }
                return live;
            }
            Some(_) => i += 1,
            None => {
                recent.remove(i);
            }
        }
    }
    let fresh = Arc::new(value);
    if recent.len() == RECENT {
        recent.pop_back();
    }
    recent.push_front(Arc::downgrade(&fresh));
    fresh
}

/// Values by the protobuf bytes they were decoded from: a hit skips the
/// decode itself (equal bytes decode to equal values).
struct ByBytes<T>(VecDeque<(Box<[u8]>, Weak<T>)>);

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
    if encoded.len() <= MAX_REMEMBERED_BYTES {
        let mut pools = pools().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(recent) = pools
            .get_mut(&TypeId::of::<ByBytes<T>>())
            .and_then(|p| p.downcast_mut::<ByBytes<T>>())
        {
            let recent = &mut recent.0;
            let mut i = 0;
            while i < recent.len() {
                if *recent[i].0 != *encoded {
                    i += 1;
                    continue;
                }
                match recent[i].1.upgrade() {
                    Some(live) => {
                        if i > 0 {
                            let hit = recent.remove(i).unwrap_or_default();
                            recent.push_front(hit);
                        }
                        return Ok(live);
                    }
                    None => {
                        recent.remove(i);
                    }
                }
            }
        }
    }
    // Not under the lock: decoding shares the value's own parts.
    let value = share(decode()?);
    if encoded.len() <= MAX_REMEMBERED_BYTES {
        let mut pools = pools().lock().unwrap_or_else(|e| e.into_inner());
        let entry = pools
            .entry(TypeId::of::<ByBytes<T>>())
            .or_insert_with(|| Box::new(ByBytes::<T>(VecDeque::with_capacity(RECENT))));
        if let Some(ByBytes(recent)) = entry.downcast_mut::<ByBytes<T>>() {
            if recent.len() == RECENT {
                recent.pop_back();
            }
            recent.push_front((encoded.into(), Arc::downgrade(&value)));
        }
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
        let pools = pools().lock().unwrap();
        let recent = pools[&TypeId::of::<Unique>()]
            .downcast_ref::<VecDeque<Weak<Unique>>>()
            .unwrap();
        assert_eq!(recent.len(), RECENT);
        drop(kept);
    }
}
