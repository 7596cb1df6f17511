//! A real forward proxy process between a client and the API server: the
//! test cluster's `proxy` command (`tests/cluster/cmd/proxy`, built by the
//! cluster script), speaking HTTP CONNECT, HTTP CONNECT inside TLS, or
//! SOCKS5, optionally demanding credentials. It reports the target of every
//! tunnel it opens, so a test can check that its traffic went through it,
//! and to where.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;

/// A running proxy; killed when dropped.
pub struct ProxyProcess {
    scheme: String,
    addr: String,
    child: Child,
    targets: Option<JoinHandle<Vec<String>>>,
}

impl ProxyProcess {
    /// Start `proxy <scheme> <args>` (`http`, `https` or `socks5`; see the
    /// command's doc for the flags); returns once it listens.
    pub fn start(scheme: &str, args: &[&str]) -> Self {
        let bin = crate::cluster::env("PROXY_BIN");
        let mut child = Command::new(&bin)
            .arg(scheme)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {bin}: {e}"));
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut addr = String::new();
        out.read_line(&mut addr).expect("read the proxy's address");
        assert!(
            !addr.trim().is_empty(),
            "{bin} {scheme} exited before it listened"
        );
        // Read on, so the proxy never blocks on a full pipe.
        let targets = std::thread::spawn(move || {
            out.lines()
                .map_while(Result::ok)
                .filter_map(|line| line.strip_prefix("CONNECT ").map(str::to_owned))
                .collect()
        });
        Self {
            scheme: scheme.to_owned(),
            addr: addr.trim().to_owned(),
            child,
            targets: Some(targets),
        }
    }

    /// Its URL, `scheme://[userinfo@]127.0.0.1:port`.
    pub fn url(&self, userinfo: Option<&str>) -> String {
        let userinfo = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
        format!("{}://{userinfo}{}", self.scheme, self.addr)
    }

    /// Stop it; the targets (`host:port`, as the clients named them) of the
    /// tunnels it opened, in order. Everything it printed is read: the
    /// process is gone and its output closed.
    pub fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.targets
            .take()
            .expect("stopped once")
            .join()
            .expect("the reader thread")
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
