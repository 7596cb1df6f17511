//! The object tracker behind [`FakeCluster`](super::FakeCluster): objects
//! as JSON, one resource-version counter, an event log for watches, and
//! the API server's rules for each verb.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};
use tokio::sync::mpsc::UnboundedSender;

use kubegen_core::meta::ObjectMeta;
use kubegen_core::resource::{ApiResource, Scope};
use kubegen_core::selector::Selector;

/// Where a request points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub group: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// A failure as the API server reports it: code, reason, message.
#[derive(Clone, Debug)]
pub(super) struct Failure {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// `details`, for an Invalid: the kind, name and causes.
    pub details: Option<Value>,
}

impl Failure {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// The server's 422 for an object its schema rejects.
    #[cfg(feature = "validation")]
    fn invalid(r: &Registered, name: &str, report: &kubegen_validation::Report) -> Self {
        let kind = format!("{}.{}", r.resource.kind, r.resource.group);
        let kind = kind.trim_end_matches('.');
        // The server names the object as a whole `<nil>`.
        let field = |e: &kubegen_validation::FieldError| match e.field.as_str() {
            "" => "<nil>".to_owned(),
            f => f.to_owned(),
        };
        let causes: Vec<Value> = report
            .errors
            .iter()
            .map(|e| json!({"reason": e.reason.as_str(), "message": e.message, "field": field(e)}))
            .collect();
        let errors: Vec<String> = report
            .errors
            .iter()
            .map(|e| format!("{}: {}", field(e), e.message))
            .collect();
        let listed = match errors.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        Self {
            code: 422,
            reason: "Invalid",
            message: format!("{kind} {name:?} is invalid: {listed}"),
            details: Some(json!({
                "name": name, "group": r.resource.group, "kind": r.resource.kind, "causes": causes,
            })),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn not_found(what: &str, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{what} {name:?} not found"))
    }

    /// The `Status` body.
    pub fn status(&self) -> Value {
        let mut status = status_body(self.code, self.reason, &self.message);
        if let Some(d) = &self.details {
            status["details"] = d.clone();
        }
        status
    }
}

/// A failure `Status` as the API server writes it.
pub(super) fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    })
}

pub(super) type Outcome = Result<Value, Failure>;

/// A resource the tracker serves.
#[derive(Clone, Debug)]
pub(super) struct Registered {
    pub resource: ApiResource,
    /// Whether writes to the object leave `status` alone (and `/status` only it).
    pub status_subresource: bool,
    /// The schema writes are defaulted and checked against, as the server does.
    #[cfg(feature = "validation")]
    pub schema: Option<&'static kubegen_validation::Schema>,
}

impl Registered {
    pub fn new(resource: ApiResource, status_subresource: bool) -> Self {
        Self {
            resource,
            status_subresource,
            #[cfg(feature = "validation")]
            schema: None,
        }
    }

    /// Defaults `object` and checks it (as an update from `old`, if given).
    #[cfg_attr(not(feature = "validation"), allow(unused_variables))]
    fn admit(&self, name: &str, object: &mut Value, old: Option<&Value>) -> Result<(), Failure> {
        #[cfg(feature = "validation")]
        if let Some(schema) = self.schema {
            schema.apply_defaults(object);
            let report = match old {
                Some(old) => schema.validate_update(object, old),
                None => schema.validate(object),
            };
            if !report.is_valid() {
                return Err(Failure::invalid(self, name, &report));
            }
        }
        Ok(())
    }
}

/// Object key: group, plural, namespace ("" for cluster-scoped), name.
type Key = (String, String, String, String);

/// One watch's filter and its sink of encoded events.
pub(super) struct Watcher {
    pub group: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub labels: Selector,
    pub fields: FieldSelector,
    pub sink: UnboundedSender<Value>,
}

impl Watcher {
    fn wants(&self, group: &str, plural: &str, object: &Value) -> bool {
        self.group == group
            && self.plural == plural
            && matches(
                object,
                self.namespace.as_deref(),
                &self.labels,
                &self.fields,
            )
    }
}

/// `metadata.name` and `metadata.namespace` equalities, as every resource's
/// field selector supports.
#[derive(Clone, Debug, Default)]
pub(super) struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(input: &str) -> Result<Self, Failure> {
        let mut terms = Vec::new();
        for term in input.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (f, true, v)
            } else {
                return Err(Failure::bad_request(format!(
                    "invalid field selector {term:?}"
                )));
            };
            if !matches!(field.trim(), "metadata.name" | "metadata.namespace") {
                return Err(Failure::bad_request(format!(
                    "field label not supported: {}",
                    field.trim()
                )));
            }
            terms.push((field.trim().to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self(terms))
    }

    fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, equal, want)| {
            let key = field.trim_start_matches("metadata.");
            let have = object["metadata"][key].as_str().unwrap_or_default();
            (have == want) == *equal
        })
    }
}

fn matches(
    object: &Value,
    namespace: Option<&str>,
    labels: &Selector,
    fields: &FieldSelector,
) -> bool {
    if let Some(ns) = namespace
        && object["metadata"]["namespace"].as_str() != Some(ns)
    {
        return false;
    }
    if !fields.matches(object) {
        return false;
    }
    labels.is_empty()
        || serde_json::from_value::<ObjectMeta>(object["metadata"].clone())
            .is_ok_and(|meta| labels.matches_meta(&meta))
}

/// The state of the fake cluster.
#[derive(Default)]
pub(super) struct Tracker {
    resources: HashMap<(String, String), Registered>,
    objects: BTreeMap<Key, Value>,
    version: u64,
    /// Every change, in order: (group, plural, resource version, type, object).
    log: Vec<(String, String, u64, &'static str, Value)>,
    watchers: Vec<Watcher>,
    names: u64,
}

impl Tracker {
    pub fn register(&mut self, r: Registered) {
        let key = (r.resource.group.clone(), r.resource.plural.clone());
        self.resources.insert(key, r);
    }

    pub fn registered(&self, group: &str, plural: &str) -> Option<&Registered> {
        self.resources.get(&(group.to_owned(), plural.to_owned()))
    }

    fn resource(&self, t: &Target) -> Result<Registered, Failure> {
        self.registered(&t.group, &t.plural)
            .cloned()
            .ok_or_else(|| Failure::not_found("resource", &format!("{}/{}", t.group, t.plural)))
    }

    fn key(t: &Target, name: &str) -> Key {
        (
            t.group.clone(),
            t.plural.clone(),
            t.namespace.clone().unwrap_or_default(),
            name.to_owned(),
        )
    }

    fn bump(&mut self) -> String {
        self.version += 1;
        self.version.to_string()
    }

    /// Records a change and tells the watches that want it.
    fn emit(&mut self, t: &Target, kind: &'static str, object: &Value) {
        self.log.push((
            t.group.clone(),
            t.plural.clone(),
            self.version,
            kind,
            object.clone(),
        ));
        let event = json!({"type": kind, "object": object});
        self.watchers.retain(|w| {
            !w.wants(&t.group, &t.plural, object) || w.sink.send(event.clone()).is_ok()
        });
    }

    pub fn get(&self, t: &Target, name: &str) -> Outcome {
        let r = self.resource(t)?;
        self.objects
            .get(&Self::key(t, name))
            .cloned()
            .ok_or_else(|| Failure::not_found(&r.resource.plural, name))
    }

    pub fn list(&self, t: &Target, labels: &Selector, fields: &FieldSelector) -> Outcome {
        let r = self.resource(t)?;
        let items = self.matching(t, labels, fields).cloned().collect();
        Ok(self.list_body(&r, items))
    }

    fn matching<'a>(
        &'a self,
        t: &'a Target,
        labels: &'a Selector,
        fields: &'a FieldSelector,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .iter()
            .filter(move |((g, p, _, _), _)| *g == t.group && *p == t.plural)
            .map(|(_, o)| o)
            .filter(move |o| matches(o, t.namespace.as_deref(), labels, fields))
    }

    /// Opens a watch: the events it must start with, and its registration.
    /// `initial` sends the current objects (then, for a watch-list, the
    /// bookmark that ends them); otherwise the log after `since` is replayed.
    pub fn watch(
        &mut self,
        t: &Target,
        labels: Selector,
        fields: FieldSelector,
        start: WatchStart,
        sink: UnboundedSender<Value>,
    ) -> Result<(), Failure> {
        let r = self.resource(t)?;
        let mut first = Vec::new();
        match start {
            WatchStart::Current { list } => {
                for o in self.matching(t, &labels, &fields) {
                    first.push(json!({"type": "ADDED", "object": o}));
                }
                if list {
                    first.push(json!({"type": "BOOKMARK", "object": {
                        "apiVersion": r.resource.api_version(), "kind": r.resource.kind,
                        "metadata": {
                            "resourceVersion": self.version.to_string(),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    }}));
                }
            }
            WatchStart::After(since) => {
                for (g, p, rv, kind, o) in &self.log {
                    if *rv > since
                        && *g == t.group
                        && *p == t.plural
                        && matches(o, t.namespace.as_deref(), &labels, &fields)
                    {
                        first.push(json!({"type": kind, "object": o}));
                    }
                }
            }
        }
        for event in first {
            if sink.send(event).is_err() {
                return Ok(());
            }
        }
        self.watchers.push(Watcher {
            group: t.group.clone(),
            plural: t.plural.clone(),
            namespace: t.namespace.clone(),
            labels,
            fields,
            sink,
        });
        Ok(())
    }

    pub fn create(&mut self, t: &Target, mut object: Value, dry_run: bool) -> Outcome {
        let r = self.resource(t)?;
        let meta = metadata_of(&mut object)?;
        if let (Some(path), Some(body)) = (
            t.namespace.as_deref(),
            meta.get("namespace").and_then(Value::as_str),
        ) && path != body
        {
            return Err(Failure::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let name = match meta
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        {
            Some(n) => n.to_owned(),
            None => match meta.get("generateName").and_then(Value::as_str) {
                Some(prefix) if !prefix.is_empty() => {
                    self.names += 1;
                    format!("{prefix}{}", suffix(self.names))
                }
                _ => {
                    return Err(Failure::new(
                        422,
                        "Invalid",
                        format!(
                            "{} is invalid: metadata.name: Required value",
                            r.resource.kind
                        ),
                    ));
                }
            },
        };
        let key = Self::key(t, &name);
        if self.objects.contains_key(&key) {
            return Err(Failure::new(
                409,
                "AlreadyExists",
                format!("{} {name:?} already exists", r.resource.plural),
            ));
        }
        metadata_of(&mut object)?.insert("name".into(), name.clone().into());
        r.admit(&name, &mut object, None)?;
        if dry_run {
            return Ok(object);
        }
        let version = self.bump();
        let meta = metadata_of(&mut object)?;
        meta.insert("name".into(), name.into());
        if let Some(ns) = &t.namespace {
            meta.insert("namespace".into(), ns.clone().into());
        }
        meta.insert("uid".into(), uid(self.version).into());
        meta.insert("resourceVersion".into(), version.into());
        meta.insert("generation".into(), 1.into());
        meta.insert("creationTimestamp".into(), now().into());
        meta.remove("deletionTimestamp");
        set_type(&mut object, &r);
        if r.status_subresource {
            object.as_object_mut().map(|o| o.remove("status"));
        }
        self.objects.insert(key, object.clone());
        self.emit(t, "ADDED", &object);
        Ok(object)
    }

    /// Replaces the object (or, with `subresource` `status`, its status),
    /// checking a resource version the body carries.
    pub fn update(&mut self, t: &Target, name: &str, mut object: Value, dry_run: bool) -> Outcome {
        let r = self.resource(t)?;
        let key = Self::key(t, name);
        let Some(old) = self.objects.get(&key).cloned() else {
            return Err(Failure::not_found(&r.resource.plural, name));
        };
        let meta = metadata_of(&mut object)?;
        if let Some(rv) = meta.get("resourceVersion").and_then(Value::as_str)
            && !rv.is_empty()
            && Some(rv) != old["metadata"]["resourceVersion"].as_str()
        {
            return Err(Failure::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
                    r.resource.plural
                ),
            ));
        }
        let status_only = t.subresource.as_deref() == Some("status");
        let mut new = if status_only {
            let mut new = old.clone();
            set_field(&mut new, "status", object.get("status").cloned());
            new
        } else {
            if r.status_subresource {
                set_field(&mut object, "status", old.get("status").cloned());
            }
            // What the server owns stays as it was.
            let meta = metadata_of(&mut object)?;
            for field in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "generation",
            ] {
                match old["metadata"].get(field) {
                    Some(v) => meta.insert(field.into(), v.clone()),
                    None => meta.remove(field),
                };
            }
            object
        };
        set_type(&mut new, &r);
        r.admit(name, &mut new, Some(&old))?;
        if without(&new, &["metadata", "status"]) != without(&old, &["metadata", "status"]) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            metadata_of(&mut new)?.insert("generation".into(), generation.into());
        }
        // A write that changes nothing is not a change: same version, no event.
        metadata_of(&mut new)?.insert(
            "resourceVersion".into(),
            old["metadata"]["resourceVersion"].clone(),
        );
        if dry_run || new == old {
            return Ok(new);
        }
        let version = self.bump();
        metadata_of(&mut new)?.insert("resourceVersion".into(), version.into());
        // A deleting object whose last finalizer is gone is deleted.
        let deleting = new["metadata"].get("deletionTimestamp").is_some();
        let finalized = new["metadata"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty);
        if deleting && finalized {
            self.objects.remove(&key);
            self.emit(t, "DELETED", &new);
        } else {
            self.objects.insert(key, new.clone());
            self.emit(t, "MODIFIED", &new);
        }
        Ok(new)
    }

    /// Deletes the object, or marks it deleting while it has finalizers.
    pub fn delete(&mut self, t: &Target, name: &str, dry_run: bool) -> Outcome {
        let r = self.resource(t)?;
        let key = Self::key(t, name);
        let Some(mut object) = self.objects.get(&key).cloned() else {
            return Err(Failure::not_found(&r.resource.plural, name));
        };
        if dry_run {
            return Ok(object);
        }
        let has_finalizers = object["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        let version = self.bump();
        let meta = metadata_of(&mut object)?;
        meta.insert("resourceVersion".into(), version.into());
        if has_finalizers {
            if !meta.contains_key("deletionTimestamp") {
                meta.insert("deletionTimestamp".into(), now().into());
            }
            self.objects.insert(key, object.clone());
            self.emit(t, "MODIFIED", &object);
        } else {
            self.objects.remove(&key);
            self.emit(t, "DELETED", &object);
        }
        Ok(object)
    }

    pub fn delete_collection(
        &mut self,
        t: &Target,
        labels: &Selector,
        fields: &FieldSelector,
    ) -> Outcome {
        let r = self.resource(t)?;
        let names: Vec<(String, String)> = self
            .matching(t, labels, fields)
            .map(|o| {
                (
                    o["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    o["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        let mut items = Vec::new();
        for (ns, name) in names {
            let one = Target {
                namespace: (r.resource.scope == Scope::Namespaced).then_some(ns),
                ..t.clone()
            };
            items.push(self.delete(&one, &name, false)?);
        }
        Ok(self.list_body(&r, items))
    }

    /// A `<Kind>List` of `items` at the current resource version.
    fn list_body(&self, r: &Registered, items: Vec<Value>) -> Value {
        json!({
            "apiVersion": r.resource.api_version(),
            "kind": format!("{}List", r.resource.kind),
            "metadata": {"resourceVersion": self.version.to_string()},
            "items": items,
        })
    }
}

/// Where a watch starts.
pub(super) enum WatchStart {
    /// The current objects as ADDED events; `list`: then the bookmark that
    /// ends a watch-list's initial events.
    Current { list: bool },
    /// The changes after this resource version.
    After(u64),
}

fn metadata_of(object: &mut Value) -> Result<&mut Map<String, Value>, Failure> {
    let Some(o) = object.as_object_mut() else {
        return Err(Failure::bad_request("the body is not a JSON object"));
    };
    let meta = o.entry("metadata").or_insert_with(|| json!({}));
    if meta.is_null() {
        *meta = json!({});
    }
    meta.as_object_mut()
        .ok_or_else(|| Failure::bad_request("metadata is not an object"))
}

fn set_type(object: &mut Value, r: &Registered) {
    if let Some(o) = object.as_object_mut() {
        o.insert("apiVersion".into(), r.resource.api_version().into());
        o.insert("kind".into(), r.resource.kind.clone().into());
    }
}

fn set_field(object: &mut Value, field: &str, value: Option<Value>) {
    if let Some(o) = object.as_object_mut() {
        match value {
            Some(v) => o.insert(field.into(), v),
            None => o.remove(field),
        };
    }
}

fn without(object: &Value, fields: &[&str]) -> Value {
    let mut o = object.clone();
    if let Some(map) = o.as_object_mut() {
        for f in fields {
            map.remove(*f);
        }
    }
    o
}

/// The 5 characters the server appends to a `generateName`.
fn suffix(n: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ fastrand::u64(..);
    (0..5)
        .map(|_| {
            let c = ALPHABET[(x % ALPHABET.len() as u64) as usize];
            x /= ALPHABET.len() as u64;
            c as char
        })
        .collect()
}

fn uid(n: u64) -> String {
    let r = fastrand::u64(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (r >> 32) as u32,
        (r >> 16) as u16,
        (r & 0xfff) as u16,
        (n & 0xfff) as u16,
        n
    )
}

fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}
