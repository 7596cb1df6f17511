//! A fake API server for unit tests of controllers (client-go's
//! `kubernetes/fake` and `testing.Fake`, as a server).
//!
//! [`FakeCluster::start`] serves the API's REST paths over plain HTTP on
//! 127.0.0.1 from an in-memory object tracker, so the real `Clientset`,
//! `Client<K>`, informers, listers and the [controller
//! runtime](crate::controller) run on it unchanged: point them at
//! [`FakeCluster::rest`]. It keeps the server's rules a controller relies
//! on: resource versions and conflicts on stale writes, `generateName`,
//! uid and generation, label and field (`metadata.name`, `metadata.namespace`)
//! selectors, finalizers and `deletionTimestamp`, the status subresource,
//! merge and JSON patches, watches (resumed from a version, or a
//! watch-list's initial events and their bookmark). Strategic-merge and
//! apply patches are merged as JSON merge patches of the fields given. With
//! the `validation` feature, [`FakeCluster::validate_writes`] makes writes of a CRD
//! kind defaulted and checked against its schema and CEL rules; otherwise no
//! defaulting or validation happens, and no admission or garbage collection.
//!
//! Every request is recorded as an [`Action`]; reactors
//! ([`prepend_reactor`](FakeCluster::prepend_reactor)) can answer one
//! instead of the tracker, to inject errors.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use kubegen_api::core::v1::ConfigMap;
//! use kubegen_client::Client;
//! use kubegen_tools::fake::FakeCluster;
//! let fake = FakeCluster::start().await?;
//! fake.register::<ConfigMap>();
//! // Or `kubegen_api::Clientset::from_rest(fake.rest())`.
//! let configmaps = Client::<ConfigMap>::namespaced(fake.rest(), "default");
//! // ... run the controller on it, then inspect `fake.actions()`.
//! # Ok(()) }
//! ```

mod tracker;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use kubegen_client::{Config, RestClient};
use kubegen_core::resource::{ApiResource, Object, Resource, Scope};
use kubegen_core::selector::Selector;

use tracker::{
    Failure, FieldSelector, Outcome, Registered, Target, Tracker, WatchStart, status_body,
};

/// One request the fake received.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete` or `deletecollection`.
    pub verb: &'static str,
    /// API group (`""` for the core group).
    pub group: String,
    /// Resource (plural).
    pub resource: String,
    /// Subresource, e.g. `status`.
    pub subresource: Option<String>,
    /// Namespace of the request, if any.
    pub namespace: Option<String>,
    /// Name of the object, for verbs on one object.
    pub name: Option<String>,
    /// The patch's media type, for `patch`.
    pub patch_type: Option<String>,
    /// The request body (an object, or a patch), when it had one.
    pub body: Option<Value>,
}

/// What a reactor answers instead of the tracker.
#[derive(Clone, Debug, PartialEq)]
pub enum Reaction {
    /// A 200 with this body.
    Object(Value),
    /// An error Status: `code` and `reason` as the server sends them.
    Error {
        /// HTTP status code.
        code: u16,
        /// The Status reason, e.g. `Conflict`.
        reason: String,
        /// The Status message.
        message: String,
    },
}

type Reactor = Arc<dyn Fn(&Action) -> Option<Reaction> + Send + Sync>;

struct State {
    tracker: Tracker,
    actions: Vec<Action>,
    /// (verb, resource, reactor); `*` matches any.
    reactors: Vec<(String, String, Reactor)>,
}

/// The fake API server; see the [module docs](self). Stops when dropped.
pub struct FakeCluster {
    state: Arc<Mutex<State>>,
    url: http::Uri,
    stop: CancellationToken,
}

impl std::fmt::Debug for FakeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCluster")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeCluster {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl FakeCluster {
    /// Starts serving on a free port of 127.0.0.1 (inside a Tokio runtime).
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url: http::Uri = format!("http://{}", listener.local_addr()?)
            .parse()
            .map_err(std::io::Error::other)?;
        let state = Arc::new(Mutex::new(State {
            tracker: Tracker::default(),
            actions: Vec::new(),
            reactors: Vec::new(),
        }));
        let stop = CancellationToken::new();
        tokio::spawn(serve(listener, Arc::clone(&state), stop.clone()));
        Ok(Self { state, url, stop })
    }

    /// Serves kind `K` (without a status subresource).
    pub fn register<K: Resource>(&self) {
        self.register_resource(K::api_resource(), false);
    }

    /// Serves kind `K` with a status subresource: writes to the object keep
    /// its `status`, writes to `/status` change only it.
    pub fn register_with_status<K: Resource>(&self) {
        self.register_resource(K::api_resource(), true);
    }

    /// Serves `resource`.
    pub fn register_resource(&self, resource: ApiResource, status_subresource: bool) {
        self.state
            .lock()
            .tracker
            .register(Registered::new(resource, status_subresource));
    }

    /// Checks writes of kind `K` as the server does: defaults from its
    /// schema, then [`validate`](kubegen_validation::Validate::validate) on
    /// create and `validate_update` on update and patch; an object with
    /// errors is refused with the server's 422 `Invalid` and its causes.
    /// Registers `K` (without a status subresource) if it is not yet.
    #[cfg(feature = "validation")]
    pub fn validate_writes<K: Resource + kubegen_validation::Validate>(&self) {
        let mut state = self.state.lock();
        let mut r = state
            .tracker
            .registered(K::GROUP, K::PLURAL)
            .cloned()
            .unwrap_or_else(|| Registered::new(K::api_resource(), false));
        r.schema = Some(K::schema());
        state.tracker.register(r);
    }

    /// A config for the fake: plain HTTP, JSON (the fake speaks no
    /// protobuf), no retries.
    pub fn config(&self) -> Config {
        let mut config = Config::new(self.url.clone());
        config.protobuf = false;
        config.max_retries = 0;
        config
    }

    /// A client of the fake.
    pub fn rest(&self) -> RestClient {
        RestClient::new(self.config()).expect("a plain-HTTP config without credentials builds")
    }

    /// Stores `obj` as if created (registering `K` if it is not yet), without
    /// recording an action: the state a test starts from. Returns it as stored.
    pub fn add<K: Object + Resource>(&self, obj: &K) -> Result<K, String> {
        let mut state = self.state.lock();
        if state.tracker.registered(K::GROUP, K::PLURAL).is_none() {
            state
                .tracker
                .register(Registered::new(K::api_resource(), false));
        }
        let value = serde_json::to_value(obj).map_err(|e| e.to_string())?;
        let target = Target {
            group: K::GROUP.to_owned(),
            plural: K::PLURAL.to_owned(),
            namespace: match K::SCOPE {
                Scope::Namespaced => Some(
                    obj.metadata()
                        .namespace
                        .as_deref()
                        .unwrap_or("default")
                        .to_owned(),
                ),
                Scope::Cluster => None,
            },
            name: None,
            subresource: None,
        };
        let stored = state
            .tracker
            .create(&target, value, false)
            .map_err(|f| f.message)?;
        serde_json::from_value(stored).map_err(|e| e.to_string())
    }

    /// The requests received so far, in order.
    pub fn actions(&self) -> Vec<Action> {
        self.state.lock().actions.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_actions(&self) {
        self.state.lock().actions.clear();
    }

    /// Asks `reactor` first about every request of `verb` on `resource`
    /// (`*` for any): `Some` answers it (the tracker is not consulted),
    /// `None` passes it on. The reactor added last is asked first.
    pub fn prepend_reactor(
        &self,
        verb: &str,
        resource: &str,
        reactor: impl Fn(&Action) -> Option<Reaction> + Send + Sync + 'static,
    ) {
        self.state
            .lock()
            .reactors
            .insert(0, (verb.to_owned(), resource.to_owned(), Arc::new(reactor)));
    }
}

type Body = BoxBody<Bytes, Infallible>;

async fn serve(listener: TcpListener, state: Arc<Mutex<State>>, stop: CancellationToken) {
    loop {
        let stream = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "fake API server: accept failed");
                    continue;
                }
            },
        };
        let state = Arc::clone(&state);
        let stop = stop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = Arc::clone(&state);
                let stop = stop.clone();
                async move { Ok::<_, Infallible>(handle(&state, req, stop).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            let _ = conn.await;
        });
    }
}

fn json_response(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

fn failure_response(f: &Failure) -> Response<Body> {
    json_response(f.code, &f.status())
}

fn outcome_response(outcome: Outcome, created: bool) -> Response<Body> {
    match outcome {
        Ok(body) => json_response(if created { 201 } else { 200 }, &body),
        Err(f) => failure_response(&f),
    }
}

/// Splits `/api/v1/...` or `/apis/{group}/{version}/...` into a target.
fn target(path: &str, tracker: &Tracker) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    let namespaced = |plural: &str| {
        tracker
            .registered(group, plural)
            .is_some_and(|r| r.resource.scope == Scope::Namespaced)
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, rest @ ..] if namespaced(plural) => (Some(ns.to_string()), {
            let mut v = vec![*plural];
            v.extend_from_slice(rest);
            v
        }),
        other => (None, other.to_vec()),
    };
    let (plural, name, subresource) = match rest.as_slice() {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return None,
    };
    Some(Target {
        group: group.to_owned(),
        plural: plural.to_owned(),
        namespace,
        name,
        subresource,
    })
}

async fn handle(
    state: &Mutex<State>,
    req: Request<Incoming>,
    stop: CancellationToken,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return failure_response(&Failure::bad_request(e.to_string())),
    };
    let query: std::collections::HashMap<String, String> =
        form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Some(t) = target(parts.uri.path(), &state.lock().tracker) else {
        return failure_response(&Failure::not_found("path", parts.uri.path()));
    };
    let watching = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    let verb = match (&parts.method, t.name.is_some()) {
        (&Method::GET, true) => "get",
        (&Method::GET, false) if watching => "watch",
        (&Method::GET, false) => "list",
        (&Method::POST, false) => "create",
        (&Method::PUT, true) => "update",
        (&Method::PATCH, true) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => {
            let message = format!("{} is not supported on {}", parts.method, parts.uri.path());
            return failure_response(&Failure::new(405, "MethodNotAllowed", message));
        }
    };
    let parsed_body = if body.is_empty() {
        None
    } else if content_type.starts_with("application/apply-patch+yaml") {
        match serde_yaml_ng::from_slice::<Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => return failure_response(&Failure::bad_request(e.to_string())),
        }
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => return failure_response(&Failure::bad_request(e.to_string())),
        }
    };
    let action = Action {
        verb,
        group: t.group.clone(),
        resource: t.plural.clone(),
        subresource: t.subresource.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
        patch_type: (verb == "patch").then(|| content_type.clone()),
        body: parsed_body.clone(),
    };
    let reactors: Vec<Reactor> = {
        let mut s = state.lock();
        s.actions.push(action.clone());
        s.reactors
            .iter()
            .filter(|(v, r, _)| (v == "*" || v == verb) && (r == "*" || *r == t.plural))
            .map(|(_, _, f)| Arc::clone(f))
            .collect()
    };
    for reactor in reactors {
        match reactor(&action) {
            Some(Reaction::Object(v)) => return json_response(200, &v),
            Some(Reaction::Error {
                code,
                reason,
                message,
            }) => return json_response(code, &status_body(code, &reason, &message)),
            None => {}
        }
    }

    let labels = match query.get("labelSelector").map(|s| Selector::parse(s)) {
        None => Selector::everything(),
        Some(Ok(s)) => s,
        Some(Err(e)) => return failure_response(&Failure::bad_request(e.to_string())),
    };
    let fields = match FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str)) {
        Ok(f) => f,
        Err(f) => return failure_response(&f),
    };
    let dry_run = query.get("dryRun").is_some_and(|v| v == "All");
    let name = t.name.clone().unwrap_or_default();
    let body = || {
        parsed_body
            .clone()
            .ok_or_else(|| Failure::bad_request("a body is required"))
    };

    if verb == "watch" {
        return watch(state, &t, labels, fields, &query, stop);
    }
    let mut s = state.lock();
    let tracker = &mut s.tracker;
    match verb {
        "get" => outcome_response(tracker.get(&t, &name), false),
        "list" => outcome_response(tracker.list(&t, &labels, &fields), false),
        "create" => outcome_response(body().and_then(|b| tracker.create(&t, b, dry_run)), true),
        "update" => outcome_response(
            body().and_then(|b| tracker.update(&t, &name, b, dry_run)),
            false,
        ),
        "delete" => outcome_response(tracker.delete(&t, &name, dry_run), false),
        "deletecollection" => {
            outcome_response(tracker.delete_collection(&t, &labels, &fields), false)
        }
        _ => {
            let patch = match body() {
                Ok(p) => p,
                Err(f) => return failure_response(&f),
            };
            let current = match tracker.get(&t, &name) {
                Ok(c) => c,
                // An apply creates what is not there.
                Err(_) if content_type.starts_with("application/apply-patch") => {
                    let mut object = patch;
                    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                        meta.insert("name".into(), name.clone().into());
                    }
                    let created = Target {
                        name: None,
                        subresource: None,
                        ..t.clone()
                    };
                    return outcome_response(tracker.create(&created, object, dry_run), true);
                }
                Err(f) => return failure_response(&f),
            };
            outcome_response(
                patched(current, &patch, &content_type)
                    .and_then(|doc| tracker.update(&t, &name, doc, dry_run)),
                false,
            )
        }
    }
}

/// `current` with `patch` applied, by the patch's media type.
fn patched(mut current: Value, patch: &Value, content_type: &str) -> Outcome {
    if content_type.starts_with("application/json-patch+json") {
        let ops: json_patch::Patch = serde_json::from_value(patch.clone())
            .map_err(|e| Failure::bad_request(format!("invalid JSON patch: {e}")))?;
        json_patch::patch(&mut current, &ops)
            .map_err(|e| Failure::new(422, "Invalid", format!("the JSON patch failed: {e}")))?;
    } else {
        // Merge patches; strategic-merge and apply patches as merges of the fields given.
        json_patch::merge(&mut current, patch);
    }
    Ok(current)
}

fn watch(
    state: &Mutex<State>,
    t: &Target,
    labels: Selector,
    fields: FieldSelector,
    query: &std::collections::HashMap<String, String>,
    stop: CancellationToken,
) -> Response<Body> {
    let (sink, events) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let initial = query.get("sendInitialEvents").is_some_and(|v| v == "true");
    let version = query
        .get("resourceVersion")
        .map(String::as_str)
        .unwrap_or("");
    let start = match (initial, version) {
        (true, _) => WatchStart::Current { list: true },
        (false, "" | "0") => WatchStart::Current { list: false },
        (false, v) => match v.parse::<u64>() {
            Ok(v) => WatchStart::After(v),
            Err(_) => {
                let f = Failure::bad_request(format!("invalid resource version {v:?}"));
                return failure_response(&f);
            }
        },
    };
    if let Err(f) = state.lock().tracker.watch(t, labels, fields, start, sink) {
        return failure_response(&f);
    }
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    let deadline = timeout.map(|d| tokio::time::Instant::now() + d);
    let frames = futures::stream::unfold(
        (events, deadline, stop),
        |(mut events, deadline, stop)| async move {
            let next = async {
                match deadline {
                    Some(at) => tokio::time::timeout_at(at, events.recv())
                        .await
                        .ok()
                        .flatten(),
                    None => events.recv().await,
                }
            };
            let event = tokio::select! {
                _ = stop.cancelled() => None,
                e = next => e,
            }?;
            let mut line = event.to_string().into_bytes();
            line.push(b'\n');
            Some((
                Ok::<_, Infallible>(Frame::data(Bytes::from(line))),
                (events, deadline, stop),
            ))
        },
    );
    Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(StreamBody::new(frames).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}
