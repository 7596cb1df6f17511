//! heap_profile: where the bytes of a decoded Pod go (bench/README.md,
//! "Profile notes"). Decodes the decode workload's PodList file (g) with a
//! counting global allocator, then drops one part of every Pod at a time and
//! reports the heap it held, per Pod, next to the `size_of` of the generated
//! types that dominate it, and how many allocations the decode made. The
//! file is JSON, or the server's protobuf (`pods.pb`).
//!
//! ```text
//! cargo run --release --manifest-path bench/kubegen/Cargo.toml --target-dir bench/target --bin heap_profile -- /tmp/kubegen-bench/pods.json
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use anyhow::{Context as _, Result, bail};
use kubegen_api::core::v1::{
    Container, EnvVar, Pod, PodSpec, PodStatus, Probe, ResourceRequirements, SecurityContext,
    Volume, VolumeMount, VolumeProjection,
};
use kubegen_runtime::ObjectList;
use kubegen_runtime::cache::{Indexer, default_indexers};
use kubegen_runtime::meta::{ManagedFieldsEntry, ObjectMeta};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() -> Result<()> {
    let Some(path) = std::env::args().nth(1) else {
        bail!("usage: heap_profile <PodList file, JSON or protobuf>");
    };
    macro_rules! sizes {
        ($($t:ty),*) => { $( println!("size_of {:<22} {:>5} B", stringify!($t), size_of::<$t>()); )* };
    }
    sizes!(
        Pod,
        ObjectMeta,
        ManagedFieldsEntry,
        PodSpec,
        PodStatus,
        Container,
        Probe,
        SecurityContext,
        ResourceRequirements,
        EnvVar,
        VolumeMount,
        Volume,
        VolumeProjection
    );
    let data = std::fs::read(&path).with_context(|| format!("reading {path}"))?;
    let before = LIVE.load(Relaxed);
    let allocs = ALLOCS.load(Relaxed);
    let protobuf = data.starts_with(b"k8s\0");
    let mut list: ObjectList<Pod> = if protobuf {
        ObjectList::from_protobuf(&data).with_context(|| format!("decoding {path}"))?
    } else {
        serde_json::from_slice(&data).with_context(|| format!("decoding {path}"))?
    };
    let n = list.items.len().max(1) as isize;
    println!(
        "{} pods, {} B of {} each, {} B of heap each (Vec<Pod> slot included), {} allocations each",
        list.items.len(),
        data.len() as isize / n,
        if protobuf { "protobuf" } else { "JSON" },
        (LIVE.load(Relaxed) - before) / n,
        (ALLOCS.load(Relaxed) - allocs) / n
    );
    // What an informer's cache adds per object: the key, the namespace
    // index, the `Arc`'s counts. The copies it holds here are subtracted: the
    // `Pod` struct and what its clone allocates.
    let at = LIVE.load(Relaxed);
    let indexer: Indexer<Pod> = Indexer::new(default_indexers());
    let mut copies = 0;
    for pod in &list.items {
        let before_copy = LIVE.load(Relaxed);
        let copy = pod.clone();
        copies += LIVE.load(Relaxed) - before_copy + size_of::<Pod>() as isize;
        indexer.add(std::sync::Arc::new(copy));
    }
    println!(
        "  cache structures (key, index, Arc)    {:>6} B/pod",
        (LIVE.load(Relaxed) - at - copies) / n
    );
    drop(indexer);
    let mut part = |what: &str, drop_part: &dyn Fn(&mut Pod)| {
        let at = LIVE.load(Relaxed);
        list.items.iter_mut().for_each(drop_part);
        println!("  {what:<34} {:>6} B/pod", (at - LIVE.load(Relaxed)) / n);
    };
    part("metadata.managedFields", &|p| {
        p.metadata.managed_fields = None
    });
    part("metadata.labels", &|p| p.metadata.labels = None);
    part("spec.volumes", &|p| {
        if let Some(s) = &mut p.spec {
            s.volumes = None;
        }
    });
    part("spec.containers", &|p| {
        if let Some(s) = &mut p.spec {
            s.containers = Vec::new();
        }
    });
    part("rest of spec", &|p| p.spec = None);
    part("status", &|p| p.status = None);
    let at = LIVE.load(Relaxed);
    drop(list);
    println!(
        "  {:<34} {:>6} B/pod",
        "rest (metadata, the Pod itself)",
        (at - LIVE.load(Relaxed)) / n
    );
    Ok(())
}
