//! The HTTP stack under [`RestClient`](crate::RestClient): hyper-util's
//! pooled client over hyper-rustls, optionally through a proxy (which one:
//! [`crate::proxy`]).
//!
//! - TLS via rustls with the `ring` provider. Server certificates are verified
//!   against the configured CA bundle, or the webpki roots when there is none.
//!   `insecure_skip_tls_verify` swaps in a verifier that accepts any
//!   certificate (signatures are still checked) and warns on every build.
//! - ALPN offers `h2` and `http/1.1`; hyper-util uses HTTP/2 when the server
//!   picks it, multiplexing requests over one pooled connection. A second,
//!   HTTP/1.1-only pool (same TLS, proxy and server name) carries WebSocket
//!   upgrades (exec, attach, portforward), which HTTP/2 cannot.
//! - A client certificate, when configured, is presented in the handshake;
//!   keys may be RSA (PKCS#1), EC (SEC1) or PKCS#8, in PEM. One that can
//!   change (an exec plugin's, or files rotated on disk) is asked for at each
//!   handshake; when it changes, every connection opened before is ended
//!   ([`ConnectionRotation`]) so none is reused with the old identity, and
//!   TLS sessions are not resumed (a resumed session keeps its first identity).
//! - Dead connections are found without waiting for a reset: HTTP/2
//!   connections are pinged once they have read nothing for
//!   `http2_read_idle_timeout` (hyper's keep-alive measures from the last
//!   frame read, as client-go's `ReadIdleTimeout` does) and closed, failing
//!   their streams, when the ping is not answered; TCP keepalive probes run on
//!   every connection. Idle pooled connections are dropped after 90 s.
//! - Through a proxy, the TLS session with the server runs inside a tunnel:
//!   HTTP CONNECT (hyper-util's `Tunnel`) to an `http://` proxy, or inside a
//!   TLS session with an `https://` proxy, which is verified as the server is
//!   (the same CA bundle, `insecure-skip-tls-verify` and client certificate:
//!   Go's transport uses the server's TLS configuration for the proxy too)
//!   but against the proxy's own host name (Go would use `tls-server-name`
//!   when set), with HTTP/1.1 only; or a SOCKS5
//!   handshake (hyper-util's `SocksV5`). An `http://` server is reached with
//!   CONNECT too (Go sends absolute-form requests to an HTTP proxy instead).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::task::AtomicWaker;
use http::Uri;
use http_body_util::Full;
use hyper_rustls::{
    ConfigBuilderExt as _, FixedServerNameResolver, HttpsConnector, MaybeHttpsStream,
};
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use secrecy::ExposeSecret;

use crate::auth::DynamicClientCert;
use crate::config::Config;
use crate::proxy::{Protocol, Proxy};
use kubegen_core::error::{BoxError, Error, Result};

/// The pooled HTTP client every `RestClient` clone shares.
pub(crate) type HttpClient = hyper_util::client::legacy::Client<TrackedConnector, Full<Bytes>>;

/// The pooled client (HTTP/2 when the server offers it) and the HTTP/1.1-only
/// one for upgrades, sharing one TLS configuration and one proxy (the
/// environment is read here, once per client). `client_cert`, when set,
/// replaces the configuration's fixed client certificate.
pub(crate) fn build_http_clients(
    cfg: &Config,
    client_cert: Option<Arc<DynamicClientCert>>,
) -> Result<(HttpClient, HttpClient)> {
    let connections = client_cert
        .as_ref()
        .map(|c| c.connections.clone())
        .unwrap_or_default();
    let tls = tls_config(cfg, client_cert)?;
    let proxy = crate::proxy::proxy_for(cfg, |name| std::env::var(name).ok())?;
    Ok((
        build_http_client(cfg, proxy.as_ref(), tls.clone(), true, &connections)?,
        build_http_client(cfg, proxy.as_ref(), tls, false, &connections)?,
    ))
}

fn build_http_client(
    cfg: &Config,
    proxy: Option<&Proxy>,
    tls: rustls::ClientConfig,
    http2: bool,
    connections: &Arc<ConnectionRotation>,
) -> Result<HttpClient> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(cfg.connect_timeout);
    http.set_nodelay(true);
    http.set_keepalive(cfg.tcp_keepalive);
    let inner = match proxy {
        None => ProxyConnector::Direct(http),
        Some(proxy) => ProxyConnector::through(proxy, http, &tls)?,
    };
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    let builder = match &cfg.tls_server_name {
        Some(name) => {
            let name = ServerName::try_from(name.clone())
                .map_err(|e| Error::Config(format!("tls-server-name {name:?}: {e}")))?;
            builder.with_server_name_resolver(FixedServerNameResolver::new(name))
        }
        None => builder,
    };
    // ALPN follows the enabled protocols, so the HTTP/1.1 pool never negotiates h2.
    let connector = TrackedConnector {
        inner: if http2 {
            builder.enable_http1().enable_http2().wrap_connector(inner)
        } else {
            builder.enable_http1().wrap_connector(inner)
        },
        connections: connections.clone(),
    };
    let mut client = hyper_util::client::legacy::Client::builder(TokioExecutor::new());
    // Both timers are needed: without them hyper silently ignores the idle
    // timeout and the keep-alive pings.
    client
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        // Lists and watch-list syncs are megabytes: client-go's stream
        // window (4 MiB) and frames of up to 1 MiB, so a page arrives in a
        // few reads rather than hundreds of 16 KiB frames, each a wake-up.
        .http2_initial_stream_window_size(4 << 20)
        .http2_initial_connection_window_size(8 << 20)
        .http2_max_frame_size(1 << 20);
    if let Some(idle) = cfg.http2_read_idle_timeout {
        client
            .http2_keep_alive_interval(idle)
            .http2_keep_alive_timeout(cfg.http2_ping_timeout)
            .http2_keep_alive_while_idle(true);
    }
    Ok(client.build(connector))
}

pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls configuration for `cfg`: trust roots, verification and client
/// certificate (`client_cert` when set, else the configuration's).
fn tls_config(
    cfg: &Config,
    client_cert: Option<Arc<DynamicClientCert>>,
) -> Result<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS setup: {e}")))?;
    if cfg.insecure_skip_tls_verify && cfg.root_cert_pem.is_some() {
        return Err(Error::Config(
            "insecure-skip-tls-verify together with a certificate authority is not allowed (pick one)"
                .into(),
        ));
    }
    let builder = if cfg.insecure_skip_tls_verify {
        let server = crate::config::redact_userinfo(&cfg.cluster_url.to_string());
        warn_insecure_once(&server);
        tracing::warn!(
            %server,
            "insecure-skip-tls-verify is set: the API server's certificate is NOT verified; \
             anyone on the network path can impersonate it"
        );
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
    } else if let Some(pem) = &cfg.root_cert_pem {
        let mut roots = rustls::RootCertStore::empty();
        for cert in pem_certificates(pem)
            .map_err(|e| Error::Config(format!("certificate authority: {e}")))?
        {
            roots
                .add(cert)
                .map_err(|e| Error::Config(format!("certificate authority: {e}")))?;
        }
        builder.with_root_certificates(roots)
    } else {
        builder.with_webpki_roots()
    };
    let tls = match (client_cert, &cfg.auth.client_certificate) {
        (Some(dynamic), _) => {
            let mut tls = builder.with_client_cert_resolver(dynamic);
            // A resumed session keeps the identity of the one it resumes, so
            // a new certificate would never be presented (Go does not resume
            // by default either).
            tls.resumption = rustls::client::Resumption::disabled();
            tls
        }
        (None, Some(cc)) => {
            let certs = pem_certificates(&cc.cert_pem)
                .map_err(|e| Error::Config(format!("client certificate: {e}")))?;
            let key = pem_private_key(cc.key_pem.expose_secret())
                .map_err(|e| Error::Config(format!("client key: {e}")))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| Error::Config(format!("client certificate and key: {e}")))?
        }
        (None, None) => builder.with_no_client_auth(),
    };
    Ok(tls)
}

/// Tell the user on stderr, once per process, that a server is not verified.
fn warn_insecure_once(server: &str) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        eprintln!(
            "kubegen: WARNING: insecure-skip-tls-verify is set for {server}: the API server's \
             certificate is not verified"
        );
    });
}

/// The certificates of a PEM bundle, at least one.
pub(crate) fn pem_certificates(
    pem: &[u8],
) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| format!("bad PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    Ok(certs)
}

/// The private key of a PEM file (RSA, EC or PKCS#8).
pub(crate) fn pem_private_key(pem: &[u8]) -> std::result::Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| format!("no usable PEM private key (RSA, EC or PKCS#8): {e}"))
}

/// Accepts any server certificate; handshake signatures are still verified
/// so the connection is at least consistent.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TCP connector that goes direct, through an HTTP CONNECT tunnel (over
/// TLS to an `https://` proxy), or through SOCKS5.
#[derive(Clone)]
pub(crate) enum ProxyConnector {
    Direct(HttpConnector),
    Tunnel(Tunnel<HttpsConnector<HttpConnector>>),
    Socks5(SocksV5<HttpConnector>),
}

impl ProxyConnector {
    fn through(proxy: &Proxy, http: HttpConnector, tls: &rustls::ClientConfig) -> Result<Self> {
        let credentials = proxy
            .credentials
            .as_ref()
            .map(|(user, password)| (user.clone(), password.expose_secret().to_owned()));
        if proxy.protocol == Protocol::Socks5 {
            let socks = SocksV5::new(proxy.uri.clone(), http);
            return Ok(Self::Socks5(match credentials {
                Some((user, password)) => socks.with_auth(user, password),
                None => socks,
            }));
        }
        // TLS to an https:// proxy (none to an http:// one), HTTP/1.1 for the CONNECT.
        let to_proxy = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls.clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let tunnel = Tunnel::new(proxy.uri.clone(), to_proxy);
        Ok(Self::Tunnel(match credentials {
            Some((user, password)) => {
                use base64::Engine as _;
                let basic =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                let header =
                    http::HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
                        Error::Config("proxy credentials are not a valid header".into())
                    })?;
                tunnel.with_auth(header)
            }
            None => tunnel,
        }))
    }
}

/// Never shows the proxy's credentials (hyper-util's `SocksV5` would).
impl std::fmt::Debug for ProxyConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Direct(_) => "ProxyConnector::Direct",
            Self::Tunnel(_) => "ProxyConnector::Tunnel",
            Self::Socks5(_) => "ProxyConnector::Socks5",
        })
    }
}

/// TCP to the server or the proxy, the proxy's TLS session when there is one.
type ProxyStream = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

type ConnectFuture =
    Pin<Box<dyn Future<Output = std::result::Result<ProxyStream, BoxError>> + Send>>;

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        match self {
            Self::Direct(c) => c.poll_ready(cx).map_err(Into::into),
            Self::Tunnel(t) => t.poll_ready(cx).map_err(Into::into),
            Self::Socks5(s) => s.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self {
            Self::Direct(c) => {
                let f = c.call(dst);
                Box::pin(async move { Ok(MaybeHttpsStream::Http(f.await?)) })
            }
            Self::Tunnel(t) => {
                let f = t.call(dst);
                Box::pin(async move { Ok(f.await?) })
            }
            Self::Socks5(s) => {
                let f = s.call(dst);
                Box::pin(async move { Ok(MaybeHttpsStream::Http(f.await?)) })
            }
        }
    }
}

/// Ends connections opened before the client certificate changed, as
/// client-go's connection tracker closes them: each connection remembers the
/// generation it was opened in and, once that is past, reads end (hyper drops
/// it, idle or not) and writes fail. Its waker is kept here so an idle
/// connection notices at once rather than at its next use.
#[derive(Debug, Default)]
pub(crate) struct ConnectionRotation {
    generation: AtomicU64,
    open: Mutex<Vec<Weak<AtomicWaker>>>,
}

impl ConnectionRotation {
    /// Retire every connection open now.
    pub(crate) fn rotate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        for waker in open.drain(..).filter_map(|w| w.upgrade()) {
            waker.wake();
        }
    }

    /// Register a new connection: its waker and the generation it belongs to.
    fn track(&self, waker: &Arc<AtomicWaker>) -> u64 {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|w| w.strong_count() > 0);
        open.push(Arc::downgrade(waker));
        self.generation.load(Ordering::SeqCst)
    }
}

/// The pool's connector: TLS (through the proxy, if any) to the server, each
/// connection tied to the current [`ConnectionRotation`] generation.
#[derive(Clone)]
pub(crate) struct TrackedConnector {
    inner: HttpsConnector<ProxyConnector>,
    connections: Arc<ConnectionRotation>,
}

impl tower_service::Service<Uri> for TrackedConnector {
    type Response = TrackedStream;
    type Error = BoxError;
    type Future =
        Pin<Box<dyn Future<Output = std::result::Result<TrackedStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.inner.call(dst);
        let connections = self.connections.clone();
        Box::pin(async move {
            let inner = connecting.await?;
            let waker = Arc::new(AtomicWaker::new());
            let generation = connections.track(&waker);
            Ok(TrackedStream {
                inner,
                generation,
                connections,
                waker,
            })
        })
    }
}

/// A connection that ends once its client certificate is replaced.
pub(crate) struct TrackedStream {
    inner: MaybeHttpsStream<ProxyStream>,
    generation: u64,
    connections: Arc<ConnectionRotation>,
    waker: Arc<AtomicWaker>,
}

impl TrackedStream {
    fn retired(&self) -> bool {
        self.connections.generation.load(Ordering::SeqCst) != self.generation
    }
}

impl hyper::rt::Read for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.waker.register(cx.waker());
        if self.retired() {
            // End of stream: hyper closes the connection.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for TrackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.retired() {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "the client certificate changed; this connection is retired",
            )));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Connection for TrackedStream {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}
