//! Round trip of generated CRD types against the real server, for one CRD of
//! each of the 19 projects in `<workspace>/../shared/crds`.
//!
//! The types come from `kubegen-shared-crds`, whose build script runs the
//! generator on the CRD files in place. For each project:
//! 1. the CRD is installed (apiextensions/v1 create; reused when it is
//!    already there, removed at the end only when this test created it) and
//!    waited on until Established;
//! 2. an object is synthesized from the storage version's openAPIV3Schema
//!    with every property set, and created as raw JSON with
//!    `fieldValidation=Strict`; while the server answers Invalid, the fields
//!    its `causes[].field` name are pruned and the create retried (bounded).
//!    With a status subresource the same is done for `status` via PUT
//!    `/status`;
//! 3. the object is read back as raw JSON, decoded into the generated type
//!    and encoded again: the JSON must equal the server's (every difference
//!    is reported as a JSON pointer), explicit nulls of `nullable` fields
//!    included, integers past 2^53, empty lists and maps (the synthesizer
//!    writes each; at least one of each must reach the server across the
//!    projects; none of the chosen CRDs declares a `number` property, so
//!    whole numbers are checked in the CRDs' own round trip, `minimum: 0`);
//!    then the re-encoded object is PUT back and must be a no-op on the
//!    server (same resourceVersion, same generation), as a controller's
//!    read-modify-write that changes nothing must be;
//! 4. every body sent (each create, status update and dry-run trial, and a
//!    dry-run create of the accepted object with each constraint its schema
//!    puts on a value it has broken in turn: lengths, enum, pattern, format,
//!    bounds, item counts, duplicates, required members, types) is also
//!    checked by `kubegen_validation::Schema::validate` (an update's by
//!    `validate_update`): its errors must be the server's, field path and
//!    reason, and none where the server accepts; the stored object's
//!    generated type passes its own `validate()`;
//! 5. the object keeps at least [`FLOOR`] leaf fields (or every leaf the
//!    schema has, when it has fewer), so a synthesizer that sets nothing fails.
//!
//! A table (project, CRD, kind/version, fields set, result) is printed.

use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use kubegen_api::apiextensions::v1::CustomResourceDefinition;
use kubegen_e2e::{admin, drop_namespace, report_verdict, server_verdict, test_namespace, unique};
use kubegen_runtime::{Resource, RestClient, Scope};
use kubegen_shared_crds::crd_install::{crd_document, install, send, uninstall};
use kubegen_shared_crds::synth::{self, Pruned};
use kubegen_shared_crds::{CHOSEN, Chosen};
use kubegen_validation::{Schema, Validate};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Leaf fields every object must keep (fewer only when the schema has fewer).
const FLOOR: usize = 10;
/// Creates (or status updates) tried before giving up on pruning.
const MAX_ATTEMPTS: usize = 200;
/// Projects left out, each with the reason. Empty: all 19 run.
const EXCLUDED: &[(&str, &str)] = &[];

type Outcome = Result<Row, String>;
type Check = for<'a> fn(
    &'a RestClient,
    &'a str,
    &'a Chosen,
) -> Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// One line of the report.
struct Row {
    version: String,
    fields: usize,
    status_fields: Option<usize>,
    pruned: usize,
    /// The value forms in the object the server returned.
    forms: Forms,
    /// `validate()` against the server.
    verdicts: Verdicts,
}

/// Counts of the value forms a round trip most easily gets wrong.
#[derive(Clone, Copy, Default)]
struct Forms {
    nulls: usize,
    /// Integers past 2^53, which a float64 would round.
    large_integers: usize,
    empty_lists: usize,
    empty_maps: usize,
}

impl Forms {
    fn of(v: &Value) -> Self {
        let mut f = Self::default();
        f.count(v);
        f
    }

    fn count(&mut self, v: &Value) {
        match v {
            Value::Null => self.nulls += 1,
            Value::Number(n) => {
                self.large_integers +=
                    usize::from(n.as_i64().is_some_and(|x| x.unsigned_abs() > 1 << 53))
            }
            Value::Array(a) if a.is_empty() => self.empty_lists += 1,
            Value::Object(m) if m.is_empty() => self.empty_maps += 1,
            Value::Array(a) => a.iter().for_each(|x| self.count(x)),
            Value::Object(m) => m.values().for_each(|x| self.count(x)),
            _ => {}
        }
    }

    fn add(self, o: Self) -> Self {
        Self {
            nulls: self.nulls + o.nulls,
            large_integers: self.large_integers + o.large_integers,
            empty_lists: self.empty_lists + o.empty_lists,
            empty_maps: self.empty_maps + o.empty_maps,
        }
    }
}

/// The generated type of each project's chosen kind, at its storage version.
fn check_for(project: &str) -> Check {
    use kubegen_shared_crds as g;
    macro_rules! check {
        ($t:ty) => {
            |rest, ns, c| Box::pin(round_trip::<$t>(rest, ns, c))
        };
    }
    match project {
        "argo-cd" => check!(g::argoproj::v1alpha1::AppProject),
        "argo-workflows" => check!(g::argoproj::v1alpha1::WorkflowEventBinding),
        "cert-manager" => check!(g::cert_manager::v1::Certificate),
        "cluster-api" => check!(g::cluster::v1beta2::MachineDrainRule),
        "crossplane" => check!(g::apiextensions::v1::Composition),
        "external-secrets" => check!(g::external_secrets::v1::ExternalSecret),
        "flux-helm-controller" => check!(g::helm::v2::HelmRelease),
        "flux-source-controller" => check!(g::source::v1::GitRepository),
        "gateway-api" => check!(g::gateway::v1::GRPCRoute),
        "istio" => check!(g::networking::v1::ServiceEntry),
        "jobset" => check!(g::jobset::v1alpha2::JobSet),
        "keda" => check!(g::keda::v1alpha1::ScaledObject),
        "knative-serving" => check!(g::serving::v1::Route),
        "kueue" => check!(g::kueue::v1beta2::ResourceFlavor),
        "kyverno" => check!(g::wgpolicyk8s::v1alpha2::PolicyReport),
        "prometheus-operator" => check!(g::monitoring::v1::ServiceMonitor),
        "sample-controller" => check!(g::samplecontroller::v1alpha1::Foo),
        "tekton-pipeline" => check!(g::tekton::v1alpha1::VerificationPolicy),
        "velero" => check!(g::velero::v1::Backup),
        other => panic!("no generated type mapped for project {other}: add it to check_for"),
    }
}

/// A cause the pruning can act on: its field path and message.
fn causes(e: &kubegen_runtime::Error) -> Vec<(String, String)> {
    e.causes()
        .iter()
        .filter_map(|c| {
            Some((
                c.field.as_deref()?.to_owned(),
                c.message.as_deref().unwrap_or_default().to_owned(),
            ))
        })
        .filter(|(f, _)| f != "<nil>" && !f.is_empty())
        .collect()
}

/// Every cause as (field, message), `<nil>` ones included.
fn all_causes(e: &kubegen_runtime::Error) -> Vec<(String, String)> {
    e.causes()
        .iter()
        .map(|c| {
            (
                c.field.clone().unwrap_or_default().into(),
                c.message.clone().unwrap_or_default().into(),
            )
        })
        .collect()
}

/// `Schema::validate` (or `validate_update` from `old`) against the real
/// server's verdict on each body sent: the same (field, reason) pairs, or no
/// error where the server accepts.
struct Judge<'a> {
    schema: &'a Schema,
    old: Option<Value>,
    verdicts: Verdicts,
}

/// How `validate()` fared against the server.
#[derive(Default)]
struct Verdicts {
    /// Bodies compared.
    compared: usize,
    /// Of those, the server rejected.
    rejected: usize,
    /// Bodies where the two disagree, with the difference.
    disagreements: Vec<String>,
    /// Checks `validate()` reported it could not make.
    unevaluated: std::collections::BTreeSet<String>,
}

impl Judge<'_> {
    fn compare(&mut self, body: &Value, answer: &kubegen_runtime::Result<Value>) {
        self.compare_as("", body, answer);
    }

    /// As [`compare`](Self::compare), the body described by `what`.
    fn compare_as(&mut self, what: &str, body: &Value, answer: &kubegen_runtime::Result<Value>) {
        // Not a validation verdict (a strict-decoding 400, a conflict).
        let Some(server) = server_verdict(answer) else {
            return;
        };
        let report = match &self.old {
            Some(old) => self.schema.validate_update(body, old),
            None => self.schema.validate(body),
        };
        let ours = report_verdict(&report);
        self.verdicts.compared += 1;
        self.verdicts.rejected += usize::from(!server.is_empty());
        for u in report.unevaluated {
            self.verdicts
                .unevaluated
                .insert(format!("{} at {}: {}", u.check, u.field, u.why));
        }
        if server != ours {
            let only_server: Vec<_> = server.difference(&ours).collect();
            let only_ours: Vec<_> = ours.difference(&server).collect();
            self.verdicts.disagreements.push(format!(
                "{what}: server only {only_server:?}; validate() only {only_ours:?}; server said {}",
                answer
                    .as_ref()
                    .err()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "OK".into())
            ));
        }
    }
}

/// Mutations of an accepted object compared per project (the first ones found).
const MAX_MUTATIONS: usize = 2000;

/// `body` with one constraint of `schema` broken, for each constraint on a
/// value the body has: a string past `maxLength` or short of `minLength`,
/// outside its `enum`, its `pattern` or its `format`; a number past
/// `minimum`/`maximum`; a list past `maxItems`, short of `minItems`, or with
/// a duplicated item; an object without a `required` member; a value of the
/// wrong type. Each with what was broken.
fn mutations(schema: &Value, body: &Value) -> Vec<(String, Value)> {
    let mut changes = Vec::new();
    changes_at(schema, body, "", &mut changes);
    changes
        .into_iter()
        .filter_map(|(pointer, what, new)| {
            let mut broken = body.clone();
            match new {
                Some(v) => *broken.pointer_mut(&pointer)? = v,
                None => {
                    let (parent, key) = pointer.rsplit_once('/')?;
                    broken.pointer_mut(parent)?.as_object_mut()?.remove(key)?;
                }
            }
            Some((format!("{pointer}: {what}"), broken))
        })
        .collect()
}

/// (JSON pointer, what, new value or `None` to remove) for `value` at `at`.
fn changes_at(
    schema: &Value,
    value: &Value,
    at: &str,
    out: &mut Vec<(String, String, Option<Value>)>,
) {
    let num = |k: &str| schema.get(k).and_then(Value::as_f64);
    let mut change = |what: String, new: Option<Value>| out.push((at.to_owned(), what, new));
    match value {
        Value::String(s) => {
            if schema.get("x-kubernetes-int-or-string").is_none() {
                change("a number for a string".into(), Some(json!(12)));
            }
            if let Some(max) = num("maxLength") {
                change(
                    format!("past maxLength {max}"),
                    Some(json!("a".repeat(max as usize + 1))),
                );
            }
            if let Some(min) = num("minLength").filter(|&m| m > 0.0) {
                change(
                    format!("short of minLength {min}"),
                    Some(json!(s.chars().take(min as usize - 1).collect::<String>())),
                );
            }
            if schema.get("enum").is_some() {
                change("outside the enum".into(), Some(json!("NotInTheEnum")));
            }
            if let Some(p) = schema.get("pattern") {
                change(format!("outside pattern {p}"), Some(json!("-!- ~")));
            }
            if let Some(f) = schema.get("format").and_then(Value::as_str) {
                change(format!("not a {f}"), Some(json!("%%% not a value %%%")));
            }
        }
        Value::Number(n) => {
            change("a string for a number".into(), Some(json!("twelve")));
            if let Some(min) = num("minimum") {
                change(format!("below minimum {min}"), Some(json!(min as i64 - 1)));
            }
            if let Some(max) = num("maximum").filter(|m| m.abs() < 1e15) {
                change(format!("above maximum {max}"), Some(json!(max as i64 + 1)));
            }
            if n.is_i64() && schema["type"] == "integer" {
                change(
                    "a fraction for an integer".into(),
                    Some(json!(n.as_f64().unwrap_or(0.0) + 0.5)),
                );
            }
        }
        Value::Bool(_) => change("a string for a boolean".into(), Some(json!("yes"))),
        Value::Array(items) => {
            change("an object for a list".into(), Some(json!({})));
            if let Some(max) = num("maxItems").filter(|&m| m < 64.0) {
                let first = items.first().cloned().unwrap_or(json!("x"));
                change(
                    format!("past maxItems {max}"),
                    Some(Value::Array(vec![first; max as usize + 1])),
                );
            }
            if num("minItems").is_some_and(|m| m > 0.0) {
                change("short of minItems".into(), Some(json!([])));
            }
            if let Some(first) = items.first() {
                let mut twice = items.clone();
                twice.push(first.clone());
                change("an item twice".into(), Some(Value::Array(twice)));
            }
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    changes_at(item, v, &format!("{at}/{i}"), out);
                }
            }
        }
        Value::Object(fields) => {
            if !at.is_empty() {
                change("a list for an object".into(), Some(json!([])));
            }
            for r in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let meta =
                    |k: &str| at.is_empty() && matches!(k, "apiVersion" | "kind" | "metadata");
                if let Some(k) = r.as_str().filter(|k| fields.contains_key(*k) && !meta(k)) {
                    out.push((
                        format!("{at}/{}", escape_pointer(k)),
                        format!("without required {k}"),
                        None,
                    ));
                }
            }
            for (k, v) in fields {
                let child = schema
                    .get("properties")
                    .and_then(|p| p.get(k))
                    .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                if let Some(child) = child
                    && !(at.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
                {
                    changes_at(child, v, &format!("{at}/{}", escape_pointer(k)), out);
                }
            }
        }
        Value::Null => {}
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Sends `body` until the server accepts it, pruning what it rejects.
/// Returns the server's answer and what was pruned (with the server's reason).
///
/// A cause naming a scalar (or a missing member) prunes that field (or the
/// parent of the missing member). A cause naming an object or list as a whole
/// (a CEL rule such as "exactly one of a or b", an enum checked by a rule on
/// the list) is resolved by a search, each trial sent with `dryRun=All`: a
/// value the message quotes, put into a string below the field; else the
/// smallest single removal below it that makes the cause go away without
/// adding new ones; only if neither works does the whole node go.
async fn accept(
    rest: &RestClient,
    method: http::Method,
    path: &str,
    body: &mut Value,
    prunable: &[&str],
    judge: &mut Judge<'_>,
) -> Result<(Value, Vec<String>), String> {
    let mut pruned = Vec::new();
    let mut not_served = 0;
    let dry = format!("{path}&dryRun=All");
    for _ in 0..MAX_ATTEMPTS {
        let answer = send(rest, method.clone(), path, Some(body)).await;
        judge.compare(body, &answer);
        let e = match answer {
            Ok(v) => return Ok((v, pruned)),
            // Established, but the handler may lag a moment behind.
            Err(e) if e.is_not_found() && method == http::Method::POST && not_served < 40 => {
                not_served += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            Err(e) if e.is_invalid() => e,
            Err(e) => return Err(format!("{method} {path}: {e}")),
        };
        let all = causes(&e);
        let is_whole = |f: &str| {
            synth::lookup(body, f).is_some_and(|n| match n {
                Value::Object(m) => !m.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => false,
            })
        };
        let (whole, simple): (Vec<_>, Vec<_>) = all.iter().cloned().partition(|(f, _)| is_whole(f));
        let mut any = false;
        // Later paths first, so earlier array indices stay valid.
        for (field, message) in simple.iter().rev() {
            match synth::prune_at(body, field, prunable) {
                Pruned::Removed(f) | Pruned::Shrunk(f) => {
                    any = true;
                    pruned.push(format!("removed {f} ({field}: {message})"));
                }
                Pruned::Nothing => {}
            }
        }
        if !any && let Some((field, message)) = whole.first() {
            let top = synth::parse_field_path(field).len() <= 1;
            let before = all_causes(&e);
            // A trial fixes the cause when it is gone and nothing new
            // appeared (a removed required member would trade a rule
            // failure for "Required value" and skip the rules).
            let fixes = |r: &kubegen_runtime::Result<Value>| match r {
                Ok(_) => true,
                Err(e) if e.is_invalid() => {
                    let now = all_causes(e);
                    !now.iter().any(|(f, m)| f == field && m == message)
                        && now.iter().all(|c| before.contains(c))
                }
                Err(_) => false,
            };
            let mut fixed = None;
            // First a value the message quotes ("must be 'NoExecute'",
            // "supported values: 'A', 'B'") in a string below the field.
            let quoted: Vec<&str> = message.split('\'').skip(1).step_by(2).take(6).collect();
            'values: for leaf in synth::descendants(body, field) {
                if !synth::lookup(body, &leaf).is_some_and(Value::is_string) {
                    continue;
                }
                for q in &quoted {
                    let mut trial = body.clone();
                    synth::set(&mut trial, &leaf, json!(q));
                    let answer = send(rest, method.clone(), &dry, Some(&trial)).await;
                    judge.compare(&trial, &answer);
                    if fixes(&answer) {
                        fixed = Some((trial, format!("set {leaf} = '{q}'")));
                        break 'values;
                    }
                }
            }
            if fixed.is_none() {
                for candidate in synth::descendants(body, field).into_iter().take(400) {
                    let mut trial = body.clone();
                    synth::remove(&mut trial, &candidate);
                    let answer = send(rest, method.clone(), &dry, Some(&trial)).await;
                    judge.compare(&trial, &answer);
                    if fixes(&answer) {
                        fixed = Some((trial, format!("removed {candidate}")));
                        break;
                    }
                }
            }
            match fixed {
                Some((trial, what)) => {
                    *body = trial;
                    pruned.push(format!("{what} ({field}: {message})"));
                    any = true;
                }
                None if !top && prunable.iter().any(|p| field.starts_with(p)) => {
                    synth::remove(body, field);
                    pruned.push(format!("removed {field} ({field}: {message})"));
                    any = true;
                }
                None => {}
            }
        }
        if !any {
            return Err(format!(
                "{method} {path}: Invalid, and nothing left to prune: {e}; pruned before: {pruned:#?}"
            ));
        }
    }
    Err(format!(
        "{method} {path}: still Invalid after {MAX_ATTEMPTS} attempts (pruned {pruned:?})"
    ))
}

fn data_leaves(v: &Value, keys: &[&str]) -> usize {
    keys.iter()
        .filter_map(|k| v.get(*k))
        .map(synth::count_leaves)
        .sum()
}

async fn round_trip<K>(rest: &RestClient, ns: &str, c: &Chosen) -> Outcome
where
    K: Resource + Serialize + DeserializeOwned + Validate,
{
    let crd = crd_document(c)?;
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .ok_or("CRD without versions")?;
    let storage = versions
        .iter()
        .find(|v| v["storage"] == true)
        .ok_or("CRD without a storage version")?;
    let version = storage["name"].as_str().unwrap_or_default();
    if K::VERSION != version || K::KIND != c.kind {
        return Err(format!(
            "the test maps {} to {}/{}, but the storage version is {version}",
            c.project,
            K::VERSION,
            K::KIND
        ));
    }
    let schema = storage
        .pointer("/schema/openAPIV3Schema")
        .ok_or("no openAPIV3Schema")?;
    let has_status = storage.pointer("/subresources/status").is_some();
    let created_crd = install(rest, &crd).await?;

    let result = async {
        // The CRD itself, as the server stores it, through the generated
        // CustomResourceDefinition: whole numbers (`minimum: 0`) must come
        // back as written, or applying the CRD again rewrites it.
        let crd_path = format!(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{}",
            crd["metadata"]["name"].as_str().unwrap_or_default()
        );
        let served = send(rest, http::Method::GET, &crd_path, None).await.map_err(|e| format!("GET {crd_path}: {e}"))?;
        let typed: CustomResourceDefinition = serde_json::from_value(served.clone()).map_err(|e| format!("decode the CRD: {e}"))?;
        let again = serde_json::to_value(&typed).map_err(|e| format!("encode the CRD: {e}"))?;
        let diffs = synth::differences(&served, &again);
        if !diffs.is_empty() {
            return Err(format!("the CRD does not round trip at {} place(s):\n      {}", diffs.len(), diffs.join("\n      ")));
        }

        let ar = K::api_resource();
        let collection = match K::SCOPE {
            Scope::Namespaced => format!("{}/namespaces/{ns}/{}", ar.group_version_path(), ar.plural),
            Scope::Cluster => format!("{}/{}", ar.group_version_path(), ar.plural),
        };
        let name = unique("rt");
        let mut body = synth::synthesize(schema);
        let obj = body.as_object_mut().ok_or("the root schema is not an object")?;
        let status = obj.remove("status");
        obj.insert("apiVersion".into(), json!(K::API_VERSION));
        obj.insert("kind".into(), json!(K::KIND));
        let mut meta = json!({"name": name, "labels": {"kubegen.test/roundtrip": "shared-crds"}, "annotations": {"kubegen.test/note": "synthesized"}});
        if K::SCOPE == Scope::Namespaced {
            meta["namespace"] = json!(ns);
        }
        obj.insert("metadata".into(), meta);
        // Top-level data keys: everything but apiVersion/kind/metadata.
        let data_keys: Vec<String> = obj.keys().filter(|k| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata")).cloned().collect();
        let keys: Vec<&str> = data_keys.iter().map(String::as_str).collect();
        let path = format!("{collection}/{name}");
        // validate() is judged on the schema the server holds, which is not the
        // file's when another test installed the CRD first.
        let served_schema = served
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .and_then(|vs| vs.iter().find(|v| v["name"] == version))
            .and_then(|v| v.pointer("/schema/openAPIV3Schema"))
            .ok_or("the served CRD has no schema for the storage version")?;
        let compiled = Schema::from_value(served_schema);
        let mut judge = Judge { schema: &compiled, old: None, verdicts: Verdicts::default() };
        let (server, mut pruned) =
            accept(rest, http::Method::POST, &format!("{collection}?fieldValidation=Strict"), &mut body, &keys, &mut judge).await?;
        let fields = data_leaves(&body, &keys);
        // Each constraint the accepted object meets, broken one at a time.
        let mut probe = body.clone();
        probe["metadata"]["name"] = json!(format!("{name}-probe"));
        for (what, broken) in mutations(schema, &probe).into_iter().take(MAX_MUTATIONS) {
            let answer = send(rest, http::Method::POST, &format!("{collection}?dryRun=All"), Some(&broken)).await;
            judge.compare_as(&what, &broken, &answer);
        }

        let mut status_fields = None;
        if let (true, Some(status)) = (has_status, status) {
            let mut sbody = server.clone();
            sbody["status"] = status;
            judge.old = Some(server.clone());
            let (_, more) =
                accept(rest, http::Method::PUT, &format!("{path}/status?fieldValidation=Strict"), &mut sbody, &["status"], &mut judge).await?;
            status_fields = Some(data_leaves(&sbody, &["status"]));
            pruned.extend(more);
        }

        let got = send(rest, http::Method::GET, &path, None).await.map_err(|e| format!("GET {path}: {e}"))?;
        let typed: K = serde_json::from_value(got.clone()).map_err(|e| format!("decode into {}: {e}", std::any::type_name::<K>()))?;
        let again = serde_json::to_value(&typed).map_err(|e| format!("encode {}: {e}", std::any::type_name::<K>()))?;
        let diffs = synth::differences(&got, &again);
        if !diffs.is_empty() {
            return Err(format!("round trip differs (server vs generated) at {} place(s):\n      {}", diffs.len(), diffs.join("\n      ")));
        }
        // The generated type's own validate(): the server stored it, so it passes.
        let report = typed.validate();
        if !report.is_valid() {
            return Err(format!("{}::validate() rejects what the server stored: {report}", std::any::type_name::<K>()));
        }
        let put = send(rest, http::Method::PUT, &path, Some(&again)).await.map_err(|e| format!("PUT {path} back: {e}"))?;
        for at in ["/metadata/resourceVersion", "/metadata/generation"] {
            if put.pointer(at) != got.pointer(at) {
                return Err(format!(
                    "PUTting the round-tripped object back changed it: {at} {:?} -> {:?}",
                    got.pointer(at),
                    put.pointer(at)
                ));
            }
        }
        let schema_leaves = {
            let mut s = synth::synthesize(schema);
            if let Some(m) = s.as_object_mut() {
                m.remove("apiVersion");
                m.remove("kind");
                m.remove("metadata");
            }
            synth::count_leaves(&s)
        };
        let kept = fields + status_fields.unwrap_or(0);
        let floor = FLOOR.min(schema_leaves);
        if kept < floor {
            return Err(format!("only {kept} leaf fields kept (floor {floor}); pruned {pruned:?}"));
        }
        let _ = send(rest, http::Method::DELETE, &path, None).await;
        Ok(Row { version: K::API_VERSION.to_owned(), fields, status_fields, pruned: pruned.len(), forms: Forms::of(&got), verdicts: judge.verdicts })
    }
    .await;

    if created_crd {
        uninstall(rest, &crd).await;
    }
    result
}

#[tokio::test]
async fn every_shared_crd_project_round_trips_through_its_generated_type() {
    let rest = admin();
    assert!(
        Path::new(&kubegen_shared_crds::shared_crds_dir())
            .join("MANIFEST.tsv")
            .exists(),
        "the shared CRD corpus is missing at {}",
        kubegen_shared_crds::shared_crds_dir().display()
    );
    // Every project of the corpus has a chosen CRD.
    let manifest =
        std::fs::read_to_string(kubegen_shared_crds::shared_crds_dir().join("MANIFEST.tsv"))
            .unwrap();
    let mut projects: Vec<&str> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    projects.dedup();
    let chosen: Vec<&str> = CHOSEN.iter().map(|c| c.project).collect();
    assert_eq!(
        chosen, projects,
        "one chosen CRD per project of MANIFEST.tsv, in its order"
    );

    let ns = test_namespace(&rest, "crd-rt").await;
    let mut rows = Vec::new();
    for c in CHOSEN {
        if let Some((_, why)) = EXCLUDED.iter().find(|(p, _)| *p == c.project) {
            rows.push((c, Err(format!("EXCLUDED: {why}"))));
            continue;
        }
        let outcome = check_for(c.project)(&rest, &ns, c).await;
        rows.push((c, outcome));
    }
    drop_namespace(&rest, &ns).await;

    println!(
        "\n{:<24} {:<72} {:<48} {:>6} {:>6} {:>6} {:>6} {:>9}  result",
        "project", "CRD file", "kind (apiVersion)", "spec", "status", "fixes", "nulls", "validate"
    );
    let mut failures = Vec::new();
    for (c, outcome) in &rows {
        match outcome {
            Ok(r) => println!(
                "{:<24} {:<72} {:<48} {:>6} {:>6} {:>6} {:>6} {:>9}  ok",
                c.project,
                c.file,
                format!("{} ({})", c.kind, r.version),
                r.fields,
                r.status_fields
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                r.pruned,
                r.forms.nulls,
                format!(
                    "{}/{}",
                    r.verdicts.compared - r.verdicts.disagreements.len(),
                    r.verdicts.compared
                )
            ),
            Err(e) => {
                println!(
                    "{:<24} {:<72} {:<48} {:>6} {:>6} {:>6} {:>6} {:>9}  FAIL: {e}",
                    c.project, c.file, c.kind, "", "", "", "", ""
                );
                if !e.starts_with("EXCLUDED") {
                    failures.push(format!("{}: {e}", c.project));
                }
            }
        }
    }
    let passed = rows.iter().filter(|(_, o)| o.is_ok()).count();
    println!(
        "{passed} of {} projects round-trip; {} excluded",
        rows.len(),
        EXCLUDED.len()
    );
    // validate() against the server, over every body the round trips sent.
    let ok: Vec<&Row> = rows.iter().filter_map(|(_, o)| o.as_ref().ok()).collect();
    let compared: usize = ok.iter().map(|r| r.verdicts.compared).sum();
    let rejected: usize = ok.iter().map(|r| r.verdicts.rejected).sum();
    let mut disagreements = Vec::new();
    let mut unevaluated = BTreeSet::new();
    for (c, outcome) in &rows {
        if let Ok(r) = outcome {
            disagreements.extend(
                r.verdicts
                    .disagreements
                    .iter()
                    .map(|d| format!("{}: {d}", c.project)),
            );
            unevaluated.extend(
                r.verdicts
                    .unevaluated
                    .iter()
                    .map(|u| format!("{}: {u}", c.project)),
            );
        }
    }
    println!(
        "validate() agrees with the server on {} of {compared} bodies ({rejected} rejected by the server); {} check(s) reported unevaluated:",
        compared - disagreements.len(),
        unevaluated.len()
    );
    for u in &unevaluated {
        println!("  {u}");
    }
    assert!(
        failures.is_empty(),
        "{} project(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        disagreements.is_empty(),
        "validate() disagrees with the server on {} bod(ies):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(
        rejected > 0,
        "the server rejected no body: the comparison covered no error"
    );
    // The synthesizer writes each of these forms somewhere (nulls where a
    // schema says `nullable`); had one never reached the server, the check
    // above would not have covered it.
    let total = rows
        .iter()
        .filter_map(|(_, o)| o.as_ref().ok())
        .fold(Forms::default(), |t, r| t.add(r.forms));
    for (form, n) in [
        ("explicit null", total.nulls),
        ("integer past 2^53", total.large_integers),
        ("empty list", total.empty_lists),
        ("empty map", total.empty_maps),
    ] {
        println!("{form}: {n} across the projects");
        assert!(
            n > 0,
            "no {form} reached the server: the round trip did not cover it"
        );
    }
}
