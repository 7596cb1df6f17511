//! [`RestClient`]: the untyped, cheap-to-clone HTTP handle to one API server.
//!
//! Per request it: waits for the client-side rate limiter (when one is set),
//! adds `User-Agent`, `Accept`, credentials and impersonation headers, sends
//! over the pooled connection, passes `Warning:` headers to the warning
//! handler, and turns any non-2xx answer into a typed [`Error::Api`]. 429
//! (any verb: the server did not process it) and 5xx (GET/HEAD only) answers
//! that carry `Retry-After` are retried up to `max_retries` times after the
//! wait the server asked for (capped at 60 s). Transport failures are retried
//! within the same budget with exponential backoff (200 ms doubling, capped at
//! 5 s) when repeating is safe: a refused connection (the request was never
//! sent) for any verb, a broken one for GET/HEAD only, so a write whose fate
//! is unknown surfaces as an error. A 401 drops cached exec/file credentials
//! so the next request fetches fresh ones.
//!
//! Response headers are awaited at most `read_timeout` for every request,
//! watches included; bodies are read within it too, except streams (watch,
//! follow logs), which last as long as the server keeps them open and are
//! guarded by the connection's health check instead.
//!
//! Each request runs in a `tracing` span `kube_request` with method, path and
//! status; credentials never enter spans or logs (their header values are
//! marked sensitive).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use http::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT,
};
use http::{HeaderName, HeaderValue, Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::auth::{Authenticator, ClusterInfo};
use crate::config::{Config, Middleware, WarningHandler};
use crate::transport::{HttpClient, build_http_clients};
use crate::wire::Encoding;
use kubegen_core::error::{Error, Result, api_error_from_body, decode_json};

/// Longest `Retry-After` wait honoured.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// First wait before retrying a request that failed in transport; doubles per attempt.
const CONNECTION_RETRY_BASE: Duration = Duration::from_millis(200);
/// Longest wait between transport retries.
const CONNECTION_RETRY_CAP: Duration = Duration::from_secs(5);

/// A cheap-to-clone handle to one API server. Build it once from a [`Config`]
/// and share it: clones share the connection pool, credentials and limiter.
#[derive(Clone)]
pub struct RestClient {
    inner: Arc<Inner>,
    /// Limit on each call made through this handle ([`RestClient::with_timeout`]).
    timeout: Option<Duration>,
}

struct Inner {
    http: HttpClient,
    /// HTTP/1.1 only: WebSocket upgrades.
    http1: HttpClient,
    base: http::Uri,
    base_path: String,
    auth: Authenticator,
    impersonate: Vec<(HeaderName, HeaderValue)>,
    user_agent: HeaderValue,
    limiter: Option<governor::DefaultDirectRateLimiter>,
    read_timeout: Option<Duration>,
    max_retries: u32,
    protobuf: bool,
    /// Ask for gzip where whole bodies are read ([`Config::disable_compression`] unset).
    compression: bool,
    cbor: bool,
    /// The server answered 415 to a CBOR body: JSON from then on.
    cbor_refused: AtomicBool,
    warning_handler: Option<WarningHandler>,
    middleware: Vec<Arc<dyn Middleware>>,
    default_namespace: String,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

impl RestClient {
    /// Build the client: TLS, connection pool, credentials, limiter.
    /// Must be called within a Tokio runtime when the config uses a proxy or exec plugin.
    pub fn new(config: Config) -> Result<Self> {
        let cluster = ClusterInfo {
            server: config.cluster_url.to_string(),
            tls_server_name: config.tls_server_name.clone(),
            insecure_skip_tls_verify: config.insecure_skip_tls_verify,
            ca_pem: config.root_cert_pem.clone(),
        };
        let auth = Authenticator::new(&config.auth, cluster)?;
        let (http, http1) = build_http_clients(&config, auth.client_cert())?;
        let impersonate = match &config.auth.impersonate {
            Some(i) => i.headers()?,
            None => Vec::new(),
        };
        let user_agent = HeaderValue::from_str(&config.user_agent).map_err(|_| {
            Error::Config(format!(
                "user agent {:?} is not a valid header",
                config.user_agent
            ))
        })?;
        let limiter = match config.rate_limit {
            None => None,
            Some(rl) => {
                if rl.qps.is_nan() || rl.qps <= 0.0 || rl.burst == 0 {
                    return Err(Error::Config(format!(
                        "rate limit needs qps > 0 and burst > 0, got {rl:?}"
                    )));
                }
                let period = Duration::from_secs_f64(1.0 / f64::from(rl.qps));
                let quota = governor::Quota::with_period(period)
                    .ok_or_else(|| Error::Config(format!("rate limit qps {} is too high", rl.qps)))?
                    .allow_burst(
                        std::num::NonZeroU32::new(rl.burst).unwrap_or(std::num::NonZeroU32::MIN),
                    );
                Some(governor::RateLimiter::direct(quota))
            }
        };
        let url = &config.cluster_url;
        if url.scheme().is_none() || url.authority().is_none() {
            return Err(Error::Config(format!(
                "cluster URL {url} needs a scheme and a host"
            )));
        }
        let base_path = url.path().trim_end_matches('/').to_owned();
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                http1,
                base: url.clone(),
                base_path,
                auth,
                impersonate,
                user_agent,
                limiter,
                read_timeout: config.read_timeout,
                max_retries: config.max_retries,
                protobuf: config.protobuf,
                compression: !config.disable_compression,
                cbor: config.cbor,
                cbor_refused: AtomicBool::new(false),
                warning_handler: config.warning_handler,
                middleware: config.middleware,
                default_namespace: config.default_namespace,
            }),
            timeout: None,
        })
    }

    /// The namespace of the config's context (`default` when unset).
    pub fn default_namespace(&self) -> &str {
        &self.inner.default_namespace
    }

    /// Whether built-in kinds speak protobuf ([`Config::protobuf`]).
    pub fn protobuf(&self) -> bool {
        self.inner.protobuf
    }

    /// Whether kinds without protobuf speak CBOR ([`Config::cbor`]), and
    /// the server has not refused it.
    pub fn cbor(&self) -> bool {
        self.inner.cbor && !self.inner.cbor_refused.load(Ordering::Relaxed)
    }

    /// The server answered 415 to a CBOR body: speak JSON from now on.
    pub(crate) fn refuse_cbor(&self) {
        if !self.inner.cbor_refused.swap(true, Ordering::Relaxed) {
            tracing::info!("the server does not take CBOR bodies (415); sending JSON from now on");
        }
    }

    /// This client with a limit on every call made through it (client-go's
    /// per-request `Timeout`): a get, list or write must have its whole
    /// answer within `timeout`, retries included; a watch or other stream
    /// its response headers. Past it the call fails with
    /// [`Error::Timeout`]. Clones share the connection pool as ever;
    /// `Config::read_timeout` still applies within.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            timeout: Some(timeout),
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &http::Uri {
        &self.inner.base
    }

    /// Send `req` (its URI is a path and query relative to the server) and
    /// return the raw successful response, headers received.
    pub async fn send(&self, req: Request<Bytes>) -> Result<Response<Incoming>> {
        self.execute_mode(req, Mode::Normal).await
    }

    /// Send and collect the body.
    pub async fn request_bytes(&self, req: Request<Bytes>) -> Result<Bytes> {
        Ok(self.request_negotiated(req).await?.0)
    }

    /// Send and collect the body, with its encoding (by its `Content-Type`;
    /// a request may accept several).
    pub(crate) async fn request_negotiated(
        &self,
        req: Request<Bytes>,
    ) -> Result<(Bytes, Encoding)> {
        let what = describe(&req);
        let mut req = req;
        if self.inner.compression {
            // Asked for only where the whole body is read: streams stay plain.
            req.headers_mut()
                .entry(ACCEPT_ENCODING)
                .or_insert(HeaderValue::from_static("gzip"));
        }
        // One limit for the headers and the body together.
        within(self.timeout, &what, async {
            let resp = self.execute_traced(req, Mode::Normal, what.clone()).await?;
            let encoding = Encoding::of(resp.headers());
            let body = collect_body(resp, self.inner.read_timeout, &what).await?;
            Ok((body, encoding))
        })
        .await?
    }

    /// Send and return the body as a stream of chunks, with its encoding.
    pub(crate) async fn request_stream_negotiated(
        &self,
        req: Request<Bytes>,
    ) -> Result<(
        impl Stream<Item = Result<Bytes>> + Send + Unpin + 'static,
        Encoding,
    )> {
        let what = describe(&req);
        let resp = self.execute_mode(req, Mode::Normal).await?;
        let encoding = Encoding::of(resp.headers());
        let body = resp
            .into_body()
            .into_data_stream()
            .map_err(move |e| Error::transport(what.clone(), e));
        Ok((body, encoding))
    }

    /// Send, collect and decode the JSON body as `T`.
    pub async fn request<T: DeserializeOwned>(&self, req: Request<Bytes>) -> Result<T> {
        let what = describe(&req);
        let body = self.request_bytes(req).await?;
        decode_json(&what, &body)
    }

    /// Send and return the body as a stream of chunks (watch, logs). The
    /// headers come within the read timeout; the stream then lasts until the
    /// server ends it or the connection is found dead.
    pub async fn request_stream(
        &self,
        req: Request<Bytes>,
    ) -> Result<impl Stream<Item = Result<Bytes>> + Send + Unpin + 'static> {
        let what = describe(&req);
        let resp = self.execute_mode(req, Mode::Normal).await?;
        Ok(resp
            .into_body()
            .into_data_stream()
            .map_err(move |e| Error::transport(what.clone(), e)))
    }

    /// Send an HTTP/1.1 upgrade request (headers already set by the caller)
    /// over the HTTP/1.1-only pool; returns the `101 Switching Protocols`
    /// response, or any other 2xx for the caller to reject. Failures are typed
    /// errors as for every request.
    pub(crate) async fn upgrade(&self, req: Request<Bytes>) -> Result<Response<Incoming>> {
        self.execute_mode(req, Mode::Upgrade).await
    }

    /// Sends `req`; its headers come within this handle's timeout.
    async fn execute_mode(&self, req: Request<Bytes>, mode: Mode) -> Result<Response<Incoming>> {
        let what = describe(&req);
        within(
            self.timeout,
            &what,
            self.execute_traced(req, mode, what.clone()),
        )
        .await?
    }

    /// Sends `req` in a `kube_request` span, with no limit of this handle's
    /// (the caller sets it).
    async fn execute_traced(
        &self,
        req: Request<Bytes>,
        mode: Mode,
        what: String,
    ) -> Result<Response<Incoming>> {
        let span = tracing::debug_span!(
            "kube_request",
            method = %req.method(),
            path = %req.uri().path(),
            status = tracing::field::Empty
        );
        self.execute_inner(req, mode, what).instrument(span).await
    }

    async fn execute_inner(
        &self,
        req: Request<Bytes>,
        mode: Mode,
        what: String,
    ) -> Result<Response<Incoming>> {
        let inner = &*self.inner;
        let (parts, body) = req.into_parts();
        let uri = self.full_uri(&parts.uri, &what)?;
        let mut attempt = 0u32;
        loop {
            if let Some(l) = &inner.limiter {
                l.until_ready().await;
            }
            let mut builder = Request::builder()
                .method(parts.method.clone())
                .uri(uri.clone());
            let headers = builder
                .headers_mut()
                .ok_or_else(|| Error::InvalidRequest(format!("{what}: bad request")))?;
            headers.extend(parts.headers.clone());
            headers.insert(USER_AGENT, inner.user_agent.clone());
            if !headers.contains_key(ACCEPT) {
                headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
            }
            if let Some(auth) = inner.auth.header().await? {
                headers.insert(AUTHORIZATION, auth);
            }
            for (k, v) in &inner.impersonate {
                headers.append(k.clone(), v.clone());
            }
            let hreq = builder
                .body(Full::new(body.clone()))
                .map_err(|e| Error::InvalidRequest(format!("{what}: {e}")))?;
            let (mut head, hbody) = hreq.into_parts();
            for m in &inner.middleware {
                m.before(&mut head);
            }
            let sent = (!inner.middleware.is_empty()).then(|| head_copy(&head));
            let hreq = Request::from_parts(head, hbody);
            let started = tokio::time::Instant::now();
            let fut = match mode {
                Mode::Upgrade => inner.http1.request(hreq),
                Mode::Normal => inner.http.request(hreq),
            };
            let answer = match within(inner.read_timeout, &what, fut).await {
                Ok(Ok(resp)) => Ok(resp),
                Ok(Err(e)) => {
                    // Refused: the server never saw it, any verb may go again.
                    // Broken later: only a read is safe to repeat.
                    let safe = e.is_connect() || matches!(parts.method, Method::GET | Method::HEAD);
                    Err((safe, Error::transport(what.clone(), e)))
                }
                Err(timeout) => Err((false, timeout)),
            };
            if let Some(sent) = &sent {
                let seen = match &answer {
                    Ok(resp) => Ok((resp.status(), resp.headers())),
                    Err((_, e)) => Err(e),
                };
                for m in &inner.middleware {
                    m.after(sent, seen, started.elapsed());
                }
            }
            let resp = match answer {
                Ok(resp) => resp,
                Err((safe, e)) => {
                    if safe && attempt < inner.max_retries {
                        let wait = CONNECTION_RETRY_BASE * 2u32.pow(attempt.min(6));
                        attempt += 1;
                        tracing::debug!(attempt, ?wait, error = %e, "request failed in transport; retrying");
                        tokio::time::sleep(wait.min(CONNECTION_RETRY_CAP)).await;
                        continue;
                    }
                    return Err(e);
                }
            };
            let status = resp.status();
            tracing::Span::current().record("status", status.as_u16());
            self.handle_warnings(resp.headers());
            if status.is_success()
                || (mode == Mode::Upgrade && status == http::StatusCode::SWITCHING_PROTOCOLS)
            {
                return Ok(resp);
            }
            if status == http::StatusCode::UNAUTHORIZED {
                inner.auth.invalidate();
            }
            // As client-go's checkWait: 429 and 5xx that carry Retry-After;
            // a 5xx only for reads, as a write may have been applied.
            let retryable = status == http::StatusCode::TOO_MANY_REQUESTS
                || (status.is_server_error() && matches!(parts.method, Method::GET | Method::HEAD));
            let wait = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if let (true, Some(secs)) = (retryable, wait)
                && attempt < inner.max_retries
            {
                attempt += 1;
                let wait = Duration::from_secs(secs.max(1)).min(MAX_RETRY_WAIT);
                tracing::debug!(
                    attempt,
                    ?wait,
                    code = status.as_u16(),
                    "server asked to retry later"
                );
                drop(resp);
                tokio::time::sleep(wait).await;
                continue;
            }
            // An error body is small; a server that stalls while sending it
            // gets the read timeout, and what arrived is reported.
            let body = collect_body(resp, inner.read_timeout, &what)
                .await
                .unwrap_or_default();
            return Err(api_error_from_body(status.as_u16(), &what, &body));
        }
    }

    fn full_uri(&self, rel: &http::Uri, what: &str) -> Result<http::Uri> {
        let pq = rel.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut parts = self.inner.base.clone().into_parts();
        parts.path_and_query = Some(
            format!("{}{}", self.inner.base_path, pq)
                .parse()
                .map_err(|e| Error::InvalidRequest(format!("{what}: bad path: {e}")))?,
        );
        http::Uri::from_parts(parts).map_err(|e| Error::InvalidRequest(format!("{what}: {e}")))
    }

    fn handle_warnings(&self, headers: &http::HeaderMap) {
        for v in headers.get_all("warning") {
            let Ok(text) = v.to_str() else { continue };
            let msg = parse_warning(text);
            match &self.inner.warning_handler {
                Some(h) => (h.0)(&msg),
                None => tracing::warn!(warning = %msg, "API server warning"),
            }
        }
    }
}

/// A request head without its extensions (which do not clone), for
/// [`Middleware::after`](crate::config::Middleware::after).
fn head_copy(head: &http::request::Parts) -> http::request::Parts {
    let mut copy = Request::new(()).into_parts().0;
    copy.method = head.method.clone();
    copy.uri = head.uri.clone();
    copy.version = head.version;
    copy.headers = head.headers.clone();
    copy
}

/// The whole body of `resp`, within `limit`, inflated when the server
/// gzipped it.
async fn collect_body(
    resp: Response<Incoming>,
    limit: Option<Duration>,
    what: &str,
) -> Result<Bytes> {
    let gzipped = resp
        .headers()
        .get(CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let body = within(limit, what, resp.into_body().collect())
        .await?
        .map_err(|e| Error::transport(what.to_owned(), e))?
        .to_bytes();
    if !gzipped {
        return Ok(body);
    }
    let mut inflated = Vec::with_capacity(body.len() * 4);
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut inflated)
        .map_err(|e| Error::transport(what.to_owned(), e))?;
    Ok(inflated.into())
}

/// `fut`, cut off by [`Error::Timeout`] after `limit` when one is set.
async fn within<F: std::future::Future>(
    limit: Option<Duration>,
    what: &str,
    fut: F,
) -> Result<F::Output> {
    match limit {
        Some(d) => tokio::time::timeout(d, fut)
            .await
            .map_err(|_| Error::Timeout {
                request: what.to_owned(),
                seconds: d.as_secs_f64(),
            }),
        None => Ok(fut.await),
    }
}

/// Which pool carries a request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Over the shared pool (HTTP/2 when the server offers it).
    Normal,
    /// An HTTP/1.1 upgrade: the connection is handed over after the headers.
    Upgrade,
}

/// `299 - "message"` -> `message` (RFC 7234 warn-text, as the API server sends).
fn parse_warning(v: &str) -> String {
    let rest = v.trim();
    let rest = rest
        .strip_prefix("299")
        .map(str::trim_start)
        .unwrap_or(rest);
    let rest = rest.strip_prefix('-').map(str::trim_start).unwrap_or(rest);
    let rest = rest
        .strip_prefix('"')
        .and_then(|r| r.rsplit_once('"').map(|(m, _)| m))
        .unwrap_or(rest);
    rest.replace("\\\"", "\"")
}

/// `METHOD /path` without the query, for errors and spans.
pub(crate) fn describe<B>(req: &Request<B>) -> String {
    format!("{} {}", req.method(), req.uri().path())
}

/// A JSON request body's content type.
pub(crate) fn json_request(
    method: Method,
    uri: String,
    body: Vec<u8>,
    content_type: &'static str,
) -> Result<Request<Bytes>> {
    Request::builder()
        .method(method)
        .uri(&uri)
        .header(CONTENT_TYPE, content_type)
        .body(Bytes::from(body))
        .map_err(|e| Error::InvalidRequest(format!("{uri}: {e}")))
}

/// A request without a body.
pub(crate) fn empty_request(method: Method, uri: String) -> Result<Request<Bytes>> {
    Request::builder()
        .method(method)
        .uri(&uri)
        .body(Bytes::new())
        .map_err(|e| Error::InvalidRequest(format!("{uri}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_text_is_unquoted() {
        assert_eq!(
            parse_warning(r#"299 - "v1 ComponentStatus is deprecated""#),
            "v1 ComponentStatus is deprecated"
        );
        assert_eq!(parse_warning("plain"), "plain");
    }
}
