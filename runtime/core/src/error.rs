//! One error type for everything the runtime does, typed after the server's
//! `Status` the way apimachinery's `errors` package is.
//!
//! Contract:
//! - An answer from the API server that is not a success becomes
//!   [`Error::Api`], carrying the server's [`Status`] (reason, code, details,
//!   causes) and the request it answered. The `is_*` helpers classify it by
//!   `reason`, falling back to the HTTP code when the server gave no reason
//!   (as `apierrors.ReasonForError` + `IsNotFound` etc. do in client-go).
//! - A body that cannot be decoded becomes [`Error::Decode`], naming the
//!   request and the JSON path where decoding failed (`items[3].metadata.name`).
//! - Nothing in this module formats a secret: messages carry method, path and
//!   server text only, never headers or request bodies.

use std::fmt;

use crate::meta::Status;

/// Result alias of the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Boxed source of transport and I/O failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong talking to (or preparing to talk to) an API server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a failure `Status`.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The response body could not be decoded into the expected type.
    #[error("decoding the response to {request} failed at `{path}`: {message}")]
    Decode {
        /// The request whose answer failed to decode, e.g. `GET /api/v1/namespaces`.
        request: String,
        /// JSON path of the failure, `.` when the document itself was bad.
        path: String,
        /// What the decoder said.
        message: String,
    },

    /// A value could not be encoded for sending.
    #[error("encoding the body of {request} failed: {source}")]
    Encode {
        /// The request being built.
        request: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },

    /// The request never got an answer: connect, TLS, I/O or protocol failure.
    #[error("{request}: {message}")]
    Transport {
        /// The request that failed.
        request: String,
        /// A short description including the cause chain.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },

    /// The request did not finish within the configured timeout.
    #[error("{request}: timed out after {seconds:.1}s")]
    Timeout {
        /// The request that timed out.
        request: String,
        /// The timeout that elapsed.
        seconds: f64,
    },

    /// Kubeconfig or in-cluster configuration is missing or invalid.
    #[error("configuration: {0}")]
    Config(String),

    /// Credentials could not be obtained (exec plugin, token file, certificate).
    #[error("authentication: {0}")]
    Auth(String),

    /// The caller asked for something the client cannot send (empty name, bad patch).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// A watch ended before it could be used: closed within a second without
    /// an event, or a watch-list that ended before its initial-events-end
    /// bookmark. The reflector backs off and lists again.
    #[error("watch {watch}: {reason}")]
    WatchEndedEarly {
        /// Which watch (the reflector's name).
        watch: String,
        /// How it ended.
        reason: &'static str,
    },

    /// A leader has not renewed its lease for longer than it may
    /// (`LeaderElector::check`): it is stuck, and should be restarted.
    #[error("leader election {election}: lease {lock} not renewed for {since:?}")]
    LeaseNotRenewed {
        /// The election's name.
        election: String,
        /// The lock, as `namespace/name`.
        lock: String,
        /// Time since the last renewal.
        since: std::time::Duration,
    },

    /// A user callback the runtime runs (an informer's event handler,
    /// transform or index function, a leader election callback) panicked, and
    /// the runtime caught it. Where it is reported and what stops is described
    /// with each caller (`cache::shared_informer`, `leaderelection`).
    #[error("{callback} panicked: {message}")]
    CallbackPanic {
        /// Which callback: `event handler`, `transform`, `index function`, ...
        callback: &'static str,
        /// The panic's message (its `&str` or `String` payload).
        message: String,
    },
}

/// A failure `Status` from the API server, with the request it answered.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The status as the server sent it, or one synthesized from the HTTP code
    /// when the body was not a `Status` (e.g. a proxy's HTML error page).
    pub status: Status,
    /// HTTP status code of the response.
    pub code: u16,
    /// `METHOD /path` of the request.
    pub request: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = self.status.reason.as_deref().unwrap_or("");
        let message = self.status.message.as_deref().unwrap_or("");
        write!(f, "{}: {} {}", self.request, self.code, reason)?;
        if !message.is_empty() {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// The `reason` values of `metav1.StatusReason` the helpers classify by.
pub mod reason {
    #![allow(missing_docs)]
    pub const UNAUTHORIZED: &str = "Unauthorized";
    pub const FORBIDDEN: &str = "Forbidden";
    pub const NOT_FOUND: &str = "NotFound";
    pub const ALREADY_EXISTS: &str = "AlreadyExists";
    pub const CONFLICT: &str = "Conflict";
    pub const GONE: &str = "Gone";
    pub const EXPIRED: &str = "Expired";
    pub const INVALID: &str = "Invalid";
    pub const SERVER_TIMEOUT: &str = "ServerTimeout";
    pub const TIMEOUT: &str = "Timeout";
    pub const TOO_MANY_REQUESTS: &str = "TooManyRequests";
    pub const BAD_REQUEST: &str = "BadRequest";
    pub const METHOD_NOT_ALLOWED: &str = "MethodNotAllowed";
    pub const NOT_ACCEPTABLE: &str = "NotAcceptable";
    pub const REQUEST_ENTITY_TOO_LARGE: &str = "RequestEntityTooLarge";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UnsupportedMediaType";
    pub const INTERNAL_ERROR: &str = "InternalError";
    pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";

    /// The reason an HTTP status code implies when the server sent none
    /// (apimachinery's `reasonForCode`); "" for codes without one.
    pub fn for_code(code: u16) -> &'static str {
        match code {
            400 => BAD_REQUEST,
            401 => UNAUTHORIZED,
            403 => FORBIDDEN,
            404 => NOT_FOUND,
            405 => METHOD_NOT_ALLOWED,
            406 => NOT_ACCEPTABLE,
            409 => CONFLICT,
            410 => GONE,
            413 => REQUEST_ENTITY_TOO_LARGE,
            415 => UNSUPPORTED_MEDIA_TYPE,
            422 => INVALID,
            429 => TOO_MANY_REQUESTS,
            500 => INTERNAL_ERROR,
            503 => SERVICE_UNAVAILABLE,
            504 => TIMEOUT,
            _ => "",
        }
    }
}

impl ApiError {
    /// Build from a response that carried no `Status` body.
    pub fn from_code(code: u16, request: impl Into<String>, body: &str) -> Self {
        let reason = reason::for_code(code);
        // Keep only a bounded, single-line excerpt of a foreign body.
        let excerpt: String = body
            .chars()
            .take(256)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let status = Status {
            status: Some("Failure".into()),
            code: Some(i32::from(code)),
            reason: (!reason.is_empty()).then(|| reason.into()),
            message: (!excerpt.trim().is_empty()).then(|| excerpt.trim().into()),
            ..Status::default()
        };
        Self {
            status,
            code,
            request: request.into(),
        }
    }

    /// The status reason, or the one implied by the HTTP code when the server
    /// sent none (client-go's `ReasonForError` with its code fallback).
    pub fn reason(&self) -> &str {
        match self.status.reason.as_deref() {
            Some(r) if !r.is_empty() => r,
            _ => reason::for_code(self.code),
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl Error {
    /// The server's `Status`, when the server answered with one.
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Api(e) => Some(&e.status),
            _ => None,
        }
    }

    /// The HTTP status code, when the server answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.code),
            _ => None,
        }
    }

    /// The API error, when the server answered.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The status reason (see [`ApiError::reason`]); empty when not an API error.
    pub fn reason(&self) -> &str {
        self.api_error().map(ApiError::reason).unwrap_or("")
    }

    fn has_reason(&self, r: &str) -> bool {
        self.reason() == r
    }

    /// The object (or the URL) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.has_reason(reason::NOT_FOUND)
    }
    /// Create of an object whose name is taken.
    pub fn is_already_exists(&self) -> bool {
        self.has_reason(reason::ALREADY_EXISTS)
    }
    /// Write with a stale `resourceVersion`, or another conflicting write.
    pub fn is_conflict(&self) -> bool {
        self.has_reason(reason::CONFLICT)
    }
    /// The caller is authenticated but not allowed.
    pub fn is_forbidden(&self) -> bool {
        self.has_reason(reason::FORBIDDEN)
    }
    /// The caller is not authenticated.
    pub fn is_unauthorized(&self) -> bool {
        self.has_reason(reason::UNAUTHORIZED)
    }
    /// The requested resource version is too old (410); relist.
    pub fn is_gone(&self) -> bool {
        self.has_reason(reason::GONE)
    }
    /// The resource version expired (`Expired` reason, or a 410 Gone), as
    /// client-go's `IsResourceExpired` checks.
    pub fn is_resource_expired(&self) -> bool {
        self.has_reason(reason::EXPIRED) || self.is_gone()
    }
    /// The object failed validation; see [`Error::causes`].
    pub fn is_invalid(&self) -> bool {
        self.has_reason(reason::INVALID)
    }
    /// The request was malformed.
    pub fn is_bad_request(&self) -> bool {
        self.has_reason(reason::BAD_REQUEST)
    }
    /// The server or a webhook throttled the caller (429).
    pub fn is_too_many_requests(&self) -> bool {
        self.has_reason(reason::TOO_MANY_REQUESTS)
            || self.api_error().is_some_and(|e| e.code == 429)
    }
    /// The verb is not supported on the resource.
    pub fn is_method_not_supported(&self) -> bool {
        self.has_reason(reason::METHOD_NOT_ALLOWED)
    }
    /// The server does not take the request body's media type (415).
    pub fn is_unsupported_media_type(&self) -> bool {
        self.has_reason(reason::UNSUPPORTED_MEDIA_TYPE)
            || self.api_error().is_some_and(|e| e.code == 415)
    }
    /// The server could not finish in time (`ServerTimeout` or `Timeout`).
    pub fn is_server_timeout(&self) -> bool {
        self.has_reason(reason::SERVER_TIMEOUT) || self.has_reason(reason::TIMEOUT)
    }
    /// The request did not finish within the client's timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
    /// An internal server error (500).
    pub fn is_internal_error(&self) -> bool {
        self.has_reason(reason::INTERNAL_ERROR)
    }
    /// The server is unavailable (503).
    pub fn is_service_unavailable(&self) -> bool {
        self.has_reason(reason::SERVICE_UNAVAILABLE)
    }

    /// The causes the server listed (one per invalid field, usually).
    pub fn causes(&self) -> &[crate::meta::StatusCause] {
        self.status()
            .and_then(|s| s.details.as_ref())
            .and_then(|d| d.causes.as_deref())
            .unwrap_or_default()
    }

    /// Seconds the server asked to wait before retrying, when it said so.
    pub fn retry_after_seconds(&self) -> Option<i32> {
        self.status()
            .and_then(|s| s.details.as_ref())
            .and_then(|d| d.retry_after_seconds)
            .filter(|s| *s > 0)
    }

    /// A failure to reach the server or read its answer for `request`;
    /// the message carries the whole source chain.
    pub fn transport(request: impl Into<String>, source: impl Into<BoxError>) -> Self {
        let source = source.into();
        let message = error_chain(&*source);
        Error::Transport {
            request: request.into(),
            message,
            source: Some(source),
        }
    }

    /// A response body of `request` that did not decode, with the JSON path.
    pub fn decode(
        request: impl Into<String>,
        err: serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        let path = err.path().to_string();
        Error::Decode {
            request: request.into(),
            path,
            message: err.into_inner().to_string(),
        }
    }
}

/// The message of a caught panic: its `&str` or `String` payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// `outer: inner: innermost`, so hyper's terse top-level errors say why.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

/// A protobuf body that did not decode, as [`Error::Decode`].
pub fn decode_protobuf_error(request: &str, err: crate::proto::DecodeError) -> Error {
    Error::Decode {
        request: request.to_owned(),
        path: err.path(),
        message: format!("protobuf: {}", err.message()),
    }
}

/// Decode `bytes` as JSON into `T`, reporting the JSON path on failure.
pub fn decode_json<'de, T: serde::Deserialize<'de>>(request: &str, bytes: &'de [u8]) -> Result<T> {
    // Tracking the path costs ~a third of the decode time, so decode without
    // it and redo only a failed decode with it, for the error's JSON path.
    serde_json::from_slice(bytes).or_else(|_| {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de).map_err(|e| Error::decode(request, e))
    })
}

/// Decode `bytes` as CBOR into `T`, reporting the field path and byte
/// offset on failure (as [`decode_json`], the path only on the retry).
pub fn decode_cbor<'de, T: serde::Deserialize<'de>>(request: &str, bytes: &'de [u8]) -> Result<T> {
    crate::cbor::from_slice(bytes).or_else(|_| {
        let mut de = crate::cbor::Deserializer::new(bytes);
        let fail = |path: String, e: crate::cbor::CborError| Error::Decode {
            request: request.to_owned(),
            path,
            message: e.to_string(),
        };
        let value = match serde_path_to_error::deserialize(&mut de) {
            Ok(v) => v,
            Err(e) => {
                let path = e.path().to_string();
                return Err(fail(path, de.locate(e.into_inner())));
            }
        };
        de.end().map_err(|e| fail(".".into(), e))?;
        Ok(value)
    })
}

/// Turn a non-success response into an [`Error::Api`]: the body's `Status`
/// when it is one, else a status synthesized from the code.
pub fn api_error_from_body(code: u16, request: &str, body: &[u8]) -> Error {
    // A protobuf answer (to a request that accepted protobuf) holds its
    // Status in the envelope; a CBOR one starts with the self-described tag.
    let status = if crate::cbor::is_self_described(body) {
        crate::cbor::from_slice::<Status>(body).map_err(|_| ())
    } else {
        match crate::proto::decode_envelope(body) {
            Ok(env) => crate::proto::decode_status(&env).map_err(|_| ()),
            Err(_) => serde_json::from_slice::<Status>(body).map_err(|_| ()),
        }
    };
    match status {
        Ok(status) if status.kind.as_deref() == Some("Status") || status.reason.is_some() => {
            ApiError {
                status,
                code,
                request: request.to_owned(),
            }
            .into()
        }
        _ => ApiError::from_code(code, request, &String::from_utf8_lossy(body)).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{StatusCause, StatusDetails};

    #[test]
    fn a_status_without_a_reason_takes_the_codes() {
        // One table for both: a body-less answer and a Status with no reason.
        for (code, want) in [
            (400, "BadRequest"),
            (404, "NotFound"),
            (415, "UnsupportedMediaType"),
            (418, ""),
        ] {
            assert_eq!(ApiError::from_code(code, "GET x", "").reason(), want);
            let bare = ApiError {
                status: Status {
                    code: Some(i32::from(code)),
                    ..Status::default()
                },
                code,
                request: "GET x".into(),
            };
            assert_eq!(bare.reason(), want, "{code}");
        }
        let err: Error = ApiError::from_code(400, "GET x", "").into();
        assert!(err.is_bad_request());
    }

    fn api(code: u16, reason: Option<&str>) -> Error {
        ApiError {
            status: Status {
                reason: reason.map(Into::into),
                code: Some(code.into()),
                ..Default::default()
            },
            code,
            request: "GET /api/v1/namespaces/x".into(),
        }
        .into()
    }

    #[test]
    fn helpers_classify_by_reason() {
        assert!(api(404, Some("NotFound")).is_not_found());
        assert!(api(409, Some("AlreadyExists")).is_already_exists());
        assert!(!api(409, Some("AlreadyExists")).is_conflict());
        assert!(api(409, Some("Conflict")).is_conflict());
        assert!(api(403, Some("Forbidden")).is_forbidden());
        assert!(api(410, Some("Gone")).is_gone());
        assert!(api(410, Some("Expired")).is_resource_expired());
        assert!(api(422, Some("Invalid")).is_invalid());
        assert!(api(429, Some("TooManyRequests")).is_too_many_requests());
    }

    #[test]
    fn helpers_fall_back_to_the_code_without_a_reason() {
        assert!(api(404, None).is_not_found());
        assert!(api(403, None).is_forbidden());
        assert!(api(410, None).is_gone());
        assert!(api(429, None).is_too_many_requests());
        assert!(!api(500, None).is_not_found());
    }

    #[test]
    fn status_body_is_kept_with_its_causes() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"ConfigMap \"x\" is invalid","reason":"Invalid","details":{"name":"x","kind":"ConfigMap","causes":[{"reason":"FieldValueInvalid","message":"bad","field":"metadata.name"}]},"code":422}"#;
        let err = api_error_from_body(422, "POST /api/v1/namespaces/d/configmaps", body);
        assert!(err.is_invalid());
        assert_eq!(
            err.causes(),
            &[StatusCause {
                field: Some("metadata.name".into()),
                message: Some("bad".into()),
                reason: Some("FieldValueInvalid".into())
            }]
        );
        assert!(
            err.to_string()
                .contains("POST /api/v1/namespaces/d/configmaps"),
            "{err}"
        );
    }

    #[test]
    fn non_status_body_becomes_a_status_from_the_code() {
        let err = api_error_from_body(503, "GET /version", b"<html>\nupstream down</html>");
        assert!(err.is_service_unavailable());
        let msg = err
            .status()
            .and_then(|s| s.message.clone())
            .unwrap_or_default();
        assert!(
            msg.contains("upstream down") && !msg.contains('\n'),
            "{msg}"
        );
    }

    #[test]
    fn decode_error_names_request_and_json_path() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct L {
            items: Vec<StatusDetails>,
        }
        let err = decode_json::<L>(
            "GET /api/v1/pods",
            br#"{"items":[{},{"retryAfterSeconds":"x"}]}"#,
        )
        .unwrap_err();
        match &err {
            Error::Decode { request, path, .. } => {
                assert_eq!(request, "GET /api/v1/pods");
                assert_eq!(path, "items[1].retryAfterSeconds");
            }
            other => panic!("expected Decode, got {other:?}"),
        }
    }

    #[test]
    fn retry_after_is_read_from_details() {
        let mut e = api(429, Some("TooManyRequests"));
        if let Error::Api(a) = &mut e {
            a.status.details = Some(StatusDetails {
                retry_after_seconds: Some(3),
                ..Default::default()
            });
        }
        assert_eq!(e.retry_after_seconds(), Some(3));
    }
}
