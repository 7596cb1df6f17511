//! Shared by bench/kube-rs and bench/kubegen: the same definitions as
//! bench/go/internal/benchutil and bench/go/internal/fixture, so all three
//! clients are measured alike. A change here must be made there too.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The annotation the harness's writer stamps with its send time (Unix ns).
pub const SENT_ANNOTATION: &str = "bench.kubegen.io/sent";

/// The annotation the writer of workload h sets to the run's stamp.
pub const STAMP_ANNOTATION: &str = "bench.kubegen.io/stamp";

/// Command-line flags: `--name value` pairs after the workload.
pub struct Flags(HashMap<String, String>);

impl Flags {
    /// Parses `--name value` pairs.
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let Some(name) = flag.strip_prefix("--") else {
                bail!("unexpected argument {flag:?} (flags are --name value)");
            };
            let value = it
                .next()
                .with_context(|| format!("flag --{name} needs a value"))?;
            map.insert(name.to_owned(), value.clone());
        }
        Ok(Self(map))
    }

    /// A required string flag.
    pub fn str(&self, name: &str) -> Result<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .with_context(|| format!("--{name} is required"))
    }

    /// An optional string flag.
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A numeric flag with a default.
    pub fn num(&self, name: &str, default: usize) -> Result<usize> {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .with_context(|| format!("--{name} {v:?} is not a number")),
        }
    }
}

/// Milliseconds as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Now, in Unix nanoseconds (the writer's clock: same machine).
pub fn nanos_now() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// Current VmRSS of this process, in bytes.
pub fn rss_bytes() -> Result<u64> {
    status_bytes("VmRSS:")
}

/// Peak RSS (VmHWM) of this process, in bytes. Unlike wait4's ru_maxrss it
/// does not include the parent's RSS at fork time.
pub fn peak_rss_bytes() -> Result<u64> {
    status_bytes("VmHWM:")
}

fn status_bytes(key: &str) -> Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .with_context(|| format!("/proc/self/status has no {key} line"))?;
    let kb: u64 = line
        .trim_start_matches(key)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("/proc/self/status: bad line {line:?}"))?;
    Ok(kb * 1024)
}

/// Returns freed heap memory to the OS (as the Go side does with
/// debug.FreeOSMemory), then reads RSS, so it reflects live data only.
pub fn settled_rss() -> Result<u64> {
    // SAFETY: malloc_trim only hands glibc's free pages back to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
    rss_bytes()
}

/// (after - before) / n, or 0 when that is not meaningful.
pub fn per_object(after: u64, before: u64, n: usize) -> f64 {
    if n == 0 || after < before {
        0.0
    } else {
        (after - before) as f64 / n as f64
    }
}

/// Nearest-rank percentile (p in 0..=100) of `v`, which it sorts; NaN if empty.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// The key indices of workload d, identical to bench/go's WorkqueueKeys:
/// adds/2 distinct keys, each twice, shuffled by Fisher-Yates with
/// xorshift64* from a fixed seed. Key `k` is "bench-ns/object-{k}".
pub fn workqueue_keys(adds: usize) -> Vec<usize> {
    let distinct = adds / 2;
    let mut idx: Vec<usize> = (0..distinct).flat_map(|i| [i, i]).collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    for i in (1..idx.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        idx.swap(i, j);
    }
    idx
}

fn filler(seed: usize, n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|i| ALPHABET[(seed * 31 + i * 7) % ALPHABET.len()] as char)
        .collect()
}

/// Labels and data of fixture ConfigMap `i` (~1 KB), as
/// bench/go/internal/fixture.ConfigMap makes them.
pub fn configmap_fixture(i: usize) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let labels = [
        ("app.kubernetes.io/name", "bench".to_owned()),
        ("app.kubernetes.io/part-of", "kubegen-bench".to_owned()),
        ("bench.kubegen.io/shard", (i % 16).to_string()),
    ];
    let data = [
        (
            "config.yaml",
            format!(
                "replicas: 3\nimage: registry.example/bench:1.0\n{}",
                filler(i, 400)
            ),
        ),
        ("extra.txt", filler(i + 1, 200)),
        ("seq", "0".to_owned()),
    ];
    let own = |kv: &[(&str, String)]| {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    };
    (own(&labels), own(&data))
}

/// The bookkeeping of workload h (the controller), shared by every
/// reconcile: which ConfigMaps were reconciled at least once (phase 1), and
/// which were reconciled carrying the run's stamp (phase 2), with the lag
/// from the writer's send time. The same as bench/go's `benchutil.Tally`.
pub struct Tally {
    count: usize,
    updates: usize,
    stamp: String,
    state: Mutex<TallyState>,
    all_once: Notify,
    all_stamped: Notify,
}

#[derive(Default)]
struct TallyState {
    reconciles: usize,
    seen: HashSet<String>,
    stamped: HashSet<String>,
    lags: Vec<f64>,
    all_once_at: Option<Instant>,
    ready_at: Option<Instant>,
    /// The first reconcile that saw the stamp.
    first_at: Option<Instant>,
    /// The reconcile that saw the last stamped object.
    all_at: Option<Instant>,
}

impl Tally {
    /// Waits for `count` objects to be reconciled once, then for `updates`
    /// objects to be reconciled carrying `stamp`.
    pub fn new(count: usize, updates: usize, stamp: &str) -> Self {
        Self {
            count,
            updates,
            stamp: stamp.to_owned(),
            state: Mutex::new(TallyState {
                seen: HashSet::with_capacity(count),
                stamped: HashSet::with_capacity(updates),
                lags: Vec::with_capacity(updates),
                ..TallyState::default()
            }),
            all_once: Notify::new(),
            all_stamped: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TallyState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records one reconcile of the object `name`, which carries the stamp
    /// and sent annotations given.
    pub fn reconciled(&self, name: &str, stamp: Option<&str>, sent: Option<&str>) {
        let now = Instant::now();
        let mut s = self.state();
        s.reconciles += 1;
        if !s.seen.contains(name) {
            s.seen.insert(name.to_owned());
            if s.seen.len() == self.count {
                s.all_once_at = Some(now);
                // Stores a permit if the waiter is not waiting yet.
                self.all_once.notify_one();
            }
        }
        if stamp != Some(self.stamp.as_str()) || s.stamped.contains(name) {
            return;
        }
        s.stamped.insert(name.to_owned());
        if let Some(sent) = sent.and_then(|v| v.parse::<i128>().ok()) {
            s.lags.push((nanos_now() - sent) as f64 / 1e6);
        }
        s.first_at.get_or_insert(now);
        if s.stamped.len() == self.updates {
            s.all_at = Some(now);
            self.all_stamped.notify_one();
        }
    }

    /// Returns once every object was reconciled, or, at `deadline`, an error
    /// saying how many were.
    pub async fn wait_all_once(&self, deadline: Instant) -> Result<()> {
        self.wait(
            &self.all_once,
            |s| s.all_once_at.is_some(),
            deadline,
            |s| format!("reconciled {} of {} ConfigMaps", s.seen.len(), self.count),
        )
        .await
    }

    /// Marks the start of phase 2; the caller prints READY right after.
    pub fn ready(&self) {
        self.state().ready_at = Some(Instant::now());
    }

    /// Returns once every updated object was reconciled carrying the stamp,
    /// or, at `deadline`, an error saying how many were.
    pub async fn wait_all_stamped(&self, deadline: Instant) -> Result<()> {
        self.wait(
            &self.all_stamped,
            |s| s.all_at.is_some(),
            deadline,
            |s| {
                format!(
                    "reconciled {} of {} updated ConfigMaps carrying stamp {}",
                    s.stamped.len(),
                    self.updates,
                    self.stamp
                )
            },
        )
        .await
    }

    /// Returns once `done` holds (checked again each time `notify` fires),
    /// or, at `deadline`, an error of `progress`.
    async fn wait(
        &self,
        notify: &Notify,
        done: impl Fn(&TallyState) -> bool,
        deadline: Instant,
        progress: impl FnOnce(&TallyState) -> String,
    ) -> Result<()> {
        let wait = async {
            while !done(&self.state()) {
                notify.notified().await;
            }
        };
        if tokio::time::timeout_at(deadline.into(), wait)
            .await
            .is_err()
        {
            bail!("{}: the timeout passed", progress(&self.state()));
        }
        Ok(())
    }

    /// The JSON result of a finished run; `start` is the process start.
    pub fn result(&self, start: Instant) -> Result<Value> {
        let mut s = self.state();
        if s.seen.len() != self.count {
            // Phase 1 ended at the count-th distinct object: with more
            // objects in the namespace it ended early.
            bail!(
                "reconciled {} distinct ConfigMaps, but --count is {}: the namespace holds other objects",
                s.seen.len(),
                self.count
            );
        }
        let (Some(once), Some(ready), Some(first), Some(all)) =
            (s.all_once_at, s.ready_at, s.first_at, s.all_at)
        else {
            bail!("the tally is not finished");
        };
        Ok(json!({
            "objects": self.count,
            "updates": self.updates,
            "reconciles": s.reconciles,
            "sync_reconciled_ms": ms(once - start),
            "updates_reconciled_ms": ms(all - ready),
            "updates_span_ms": ms(all - first),
            "lag_p50_ms": percentile(&mut s.lags, 50.0),
            "lag_p99_ms": percentile(&mut s.lags, 99.0),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workqueue_keys_are_each_added_twice() {
        let keys = workqueue_keys(1000);
        let mut counts = vec![0; 500];
        for k in &keys {
            counts[*k] += 1;
        }
        assert!(counts.iter().all(|&c| c == 2));
        // The same order as bench/go's WorkqueueKeys (its test checks these too).
        assert_eq!(keys[..6], [201, 48, 227, 398, 153, 375]);
    }

    /// The same sequence as bench/go's Tally test.
    #[test]
    fn tally_counts_each_object_once_and_each_stamp_once() {
        let start = Instant::now();
        let tally = Tally::new(3, 2, "s1");
        let sent = nanos_now().to_string();
        for name in ["a", "b", "a", "c"] {
            // The last run's stamp counts for phase 1 only.
            tally.reconciled(name, Some("s0"), Some(&sent));
        }
        assert!(tally.state().all_once_at.is_some());
        tally.ready();
        tally.reconciled("a", Some("s1"), Some(&sent));
        tally.reconciled("a", Some("s1"), Some(&sent)); // seen with the stamp already
        tally.reconciled("c", None, None);
        assert!(tally.state().all_at.is_none());
        tally.reconciled("b", Some("s1"), Some(&sent));
        let got = tally.result(start).unwrap();
        assert_eq!(
            (&got["reconciles"], &got["objects"], &got["updates"]),
            (&json!(8), &json!(3), &json!(2))
        );
        tally.reconciled("d", None, None);
        assert!(
            tally.result(start).is_err(),
            "a fourth object when --count is 3"
        );
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 50.0), 50.0);
        assert_eq!(percentile(&mut v, 99.0), 99.0);
        assert!(percentile(&mut [], 50.0).is_nan());
    }
}
