//! A fault-injecting TCP proxy between a client and the real API server.
//!
//! It forwards bytes both ways (TLS passes through untouched, so the client
//! still verifies the real server) and can, on command:
//! - **stall** the connections open now: sockets stay open, no byte moves in
//!   either direction (what a NAT or load balancer that dropped its state does);
//! - **reset** the connections open now (RST, as a crashed peer);
//! - **refuse** new connections for a while (the port is closed);
//! - **truncate** or **stall** the next connections once some bytes came from
//!   the server (mid-body: TLS records are cut, the client sees a broken or
//!   silent stream);
//! - **delay** every chunk of new connections.
//!
//! New connections after a stall or reset go through normally, so a client
//! that notices the fault and reconnects recovers.
//!
//! A test starts one with `FaultProxy::start(apiserver_addr())` and builds its
//! client from `via(&proxy)`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The real API server's address, from the admin kubeconfig.
pub fn apiserver_addr() -> SocketAddr {
    let url = crate::config("admin").cluster_url;
    let authority = url.authority().expect("cluster URL has a host").as_str();
    authority
        .parse()
        .expect("the test cluster listens on an IP:port")
}

/// The admin config, talking through `proxy`.
pub fn via(proxy: &FaultProxy) -> kubegen_runtime::Config {
    let mut cfg = crate::config("admin");
    cfg.cluster_url = proxy.url();
    cfg
}

/// What one connection does with its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Forward,
    Stall,
    Reset,
}

/// A fault for the next connections: after `after` bytes from the server,
/// switch to `mode`.
#[derive(Clone, Copy)]
struct Cut {
    connections: usize,
    after: usize,
    mode: Mode,
}

#[derive(Default)]
struct Rules {
    cut: Option<Cut>,
    /// Delay before forwarding each chunk of new connections.
    delay: Duration,
}

struct Shared {
    upstream: SocketAddr,
    open: Mutex<Vec<watch::Sender<Mode>>>,
    /// Stalled connections, held open until the proxy is dropped.
    stalled: Mutex<Vec<watch::Sender<Mode>>>,
    rules: Mutex<Rules>,
    accepted: AtomicUsize,
    /// Cuts that fired.
    faults: AtomicUsize,
    /// Bytes forwarded from the server to clients.
    from_server: AtomicUsize,
}

/// The proxy; dropping it stops accepting (open connections end with their peers).
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl FaultProxy {
    /// Listen on 127.0.0.1 (a free port) and forward to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        Self::start_on("127.0.0.1", upstream).await
    }

    /// Listen on `ip` (a loopback address; a free port) and forward to `upstream`.
    pub async fn start_on(ip: &str, upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream,
            open: Mutex::new(Vec::new()),
            stalled: Mutex::new(Vec::new()),
            rules: Mutex::new(Rules::default()),
            accepted: AtomicUsize::new(0),
            faults: AtomicUsize::new(0),
            from_server: AtomicUsize::new(0),
        });
        let acceptor = tokio::spawn(accept_loop(listener, shared.clone()));
        Self {
            addr,
            shared,
            acceptor: Mutex::new(Some(acceptor)),
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://<addr>`, for a client config's cluster URL.
    pub fn url(&self) -> http::Uri {
        format!("https://{}", self.addr).parse().expect("proxy URL")
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now (not yet ended by either side or a fault).
    pub fn open_connections(&self) -> usize {
        let mut open = self.shared.open.lock().unwrap();
        open.retain(|c| !c.is_closed());
        open.len()
    }

    /// Silently stop forwarding on every open connection; returns how many.
    pub fn stall_open(&self) -> usize {
        self.set_open(Mode::Stall)
    }

    /// Reset every open connection; returns how many.
    pub fn reset_open(&self) -> usize {
        self.set_open(Mode::Reset)
    }

    /// Reset the next `count` connections after `bytes` bytes from the server.
    pub fn truncate_next(&self, count: usize, bytes: usize) {
        self.cut_next(count, bytes, Mode::Reset);
    }

    /// Stall the next `count` connections after `bytes` bytes from the server.
    pub fn stall_next_after(&self, count: usize, bytes: usize) {
        self.cut_next(count, bytes, Mode::Stall);
    }

    /// Bytes the server has sent through the proxy so far (TLS included).
    pub fn bytes_from_server(&self) -> usize {
        self.shared.from_server.load(Ordering::SeqCst)
    }

    /// How many truncations and delayed stalls have fired.
    pub fn faults_injected(&self) -> usize {
        self.shared.faults.load(Ordering::SeqCst)
    }

    fn cut_next(&self, connections: usize, after: usize, mode: Mode) {
        self.shared.rules.lock().unwrap().cut = Some(Cut {
            connections,
            after,
            mode,
        });
    }

    /// Delay every chunk of new connections by `delay`.
    pub fn delay_new(&self, delay: Duration) {
        self.shared.rules.lock().unwrap().delay = delay;
    }

    /// Close the port: new connections are refused until [`accept_again`](Self::accept_again).
    pub async fn refuse_new(&self) {
        let task = self.acceptor.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listen on the same port again after [`refuse_new`](Self::refuse_new).
    pub async fn accept_again(&self) {
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("rebind proxy port");
        let task = tokio::spawn(accept_loop(listener, self.shared.clone()));
        *self.acceptor.lock().unwrap() = Some(task);
    }

    fn set_open(&self, mode: Mode) -> usize {
        let mut open = self.shared.open.lock().unwrap();
        open.retain(|c| !c.is_closed());
        for c in open.iter() {
            let _ = c.send(mode);
        }
        let n = open.len();
        // Faulted connections are not "open" for later commands; stalled
        // ones stay held (a dropped sender would end them).
        let faulted = std::mem::take(&mut *open);
        if mode == Mode::Stall {
            self.shared.stalled.lock().unwrap().extend(faulted);
        }
        n
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(task) = self.acceptor.lock().unwrap().take() {
            task.abort();
        }
        let open = std::mem::take(&mut *self.shared.open.lock().unwrap());
        let stalled = std::mem::take(&mut *self.shared.stalled.lock().unwrap());
        for c in open.into_iter().chain(stalled) {
            let _ = c.send(Mode::Reset);
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let (cut, delay) = {
            let mut rules = shared.rules.lock().unwrap();
            let cut = rules.cut.take();
            if let Some(c) = cut
                && c.connections > 1
            {
                rules.cut = Some(Cut {
                    connections: c.connections - 1,
                    ..c
                });
            }
            (cut, rules.delay)
        };
        let (tx, rx) = watch::channel(Mode::Forward);
        shared.open.lock().unwrap().push(tx);
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(shared.upstream).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            relay(client, server, rx, cut, delay, &shared).await;
        });
    }
}

/// Copy both ways until either side ends or a fault says otherwise.
async fn relay(
    client: TcpStream,
    server: TcpStream,
    mut mode: watch::Receiver<Mode>,
    cut: Option<Cut>,
    delay: Duration,
    shared: &Shared,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let mut up = vec![0u8; 16 * 1024];
    let mut down = vec![0u8; 16 * 1024];
    let mut sent_down = 0usize;
    // A peer's own close is passed on as a close; faults end with RST.
    let mut graceful = false;
    let mut stall = false;
    loop {
        tokio::select! {
            changed = mode.changed() => {
                if changed.is_err() { break; }
                match *mode.borrow() {
                    Mode::Forward => {}
                    Mode::Stall => { stall = true; break; }
                    Mode::Reset => break,
                }
            }
            n = cr.read(&mut up) => {
                let Ok(n) = n else { break };
                if n == 0 { let _ = sw.shutdown().await; graceful = true; break; }
                if !delay.is_zero() { tokio::time::sleep(delay).await; }
                if sw.write_all(&up[..n]).await.is_err() { break; }
            }
            n = sr.read(&mut down) => {
                let Ok(n) = n else { break };
                if n == 0 { let _ = cw.shutdown().await; graceful = true; break; }
                if !delay.is_zero() { tokio::time::sleep(delay).await; }
                let n = match cut {
                    Some(c) => n.min(c.after.saturating_sub(sent_down)),
                    None => n,
                };
                if cw.write_all(&down[..n]).await.is_err() { break; }
                sent_down += n;
                shared.from_server.fetch_add(n, Ordering::SeqCst);
                if let Some(c) = cut && sent_down >= c.after {
                    shared.faults.fetch_add(1, Ordering::SeqCst);
                    stall = c.mode == Mode::Stall;
                    break;
                }
            }
        }
    }
    if stall {
        // Keep both sockets open and move nothing until the proxy is dropped
        // (it then sends Reset) or forgets this connection.
        let _ = mode.changed().await;
    }
    if graceful {
        return;
    }
    // Ending with RST rather than FIN: the peer sees a broken connection.
    if let Ok(client) = cr.reunite(cw) {
        let _ = client.set_zero_linger();
    }
    if let Ok(server) = sr.reunite(sw) {
        let _ = server.set_zero_linger();
    }
}
