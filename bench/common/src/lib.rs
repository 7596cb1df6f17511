//! Shared by bench/kube-rs and bench/kubegen: the same definitions as
//! bench/go/internal/benchutil and bench/go/internal/fixture, so all three
//! clients are measured alike. A change here must be made there too.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};

/// The annotation the harness's writer stamps with its send time (Unix ns).
pub const SENT_ANNOTATION: &str = "bench.kubegen.io/sent";

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

    #[test]
    fn percentile_is_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 50.0), 50.0);
        assert_eq!(percentile(&mut v, 99.0), 99.0);
        assert!(percentile(&mut [], 50.0).is_nan());
    }
}
