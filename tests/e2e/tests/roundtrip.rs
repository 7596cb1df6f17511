//! Round trip of generated types against the real server.
//!
//! For each of the 61 built-in kinds the test cluster creates and reads back
//! (19 group/versions), an object with many fields set is created (as raw JSON, so nothing of ours shapes the request),
//! and the server's JSON answer is then
//! 1. decoded into the kubegen-api type and encoded again: the JSON must equal
//!    what the server returned (no field lost, none added, no null for absent);
//! 2. decoded into k8s-openapi's type (v1_37) and encoded again: it must give
//!    the same JSON as ours.
//!
//! A GET of the object goes through the same check.
//!
//! Then protobuf, for every kind that speaks it (all here but the CRD):
//! 3. a GET through protobuf decodes to the same JSON as the GET through JSON;
//! 4. that object PUT back through protobuf is a no-op on the server: the
//!    same resourceVersion, and a JSON GET still answers the same JSON (the
//!    encoding lost nothing and added nothing);
//! 5. a second object created through protobuf from the typed body answers
//!    with what a JSON GET of it then reads (when no controller changed it
//!    in between);
//! 6. the object the server (Go) sent in protobuf, decoded and encoded
//!    again, gives the server's bytes exactly: kubegen writes Go's encoding.
//!
//! The 6 kinds the server only creates (token and access reviews) are
//! created through both encodings, and the answers compared. Not here:
//! pods/binding (its answer is a Status), PodCertificateRequest (only a node
//! may create one, for its own pod), and apiregistration's APIService (JSON
//! only: its protobuf lives in kube-aggregator, outside k8s.io/api).
//!
//! Protobuf carries an object's apiVersion and kind in its envelope only: an
//! object embedded in another (a StatefulSet's volumeClaimTemplates) has none
//! in protobuf, as for client-go, where JSON shows what the server filled in.
//! The protobuf comparisons leave those two members of nested objects out.
//!
//! One normalization is applied to the server's JSON, and only this one:
//! object members whose value is `null` are dropped before comparing. Go
//! marshals a zero `metav1.Time`/`MicroTime` struct field as `null` (e.g.
//! core/v1 `Event.eventTime`), which the API treats exactly as absent; an
//! `Option` that is `None` is absent, so `null` cannot survive a round trip
//! through any typed client (k8s-openapi drops it the same way).

use bytes::Bytes;
use kubegen_e2e::{admin, drop_namespace, test_namespace, unique};
use kubegen_runtime::{Client, Object, Resource, RestClient, Scope, verbs};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

/// The first place two JSON values differ, as a path, or `None`.
fn first_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(&format!("{path}.{k}"), p, q) {
                            return Some(d);
                        }
                    }
                    (p, q) => return Some(format!("{path}.{k}: {p:?} vs {q:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(&format!("{path}[{i}]"), p, q)),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// `v` without object members whose value is `null` (see the module docs).
fn without_null_members(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), without_null_members(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_null_members).collect()),
        other => other.clone(),
    }
}

fn check<Ours, Theirs>(what: &str, server: &Value)
where
    Ours: Serialize + DeserializeOwned,
    Theirs: Serialize + DeserializeOwned,
{
    let server = &without_null_members(server);
    let ours: Ours = serde_json::from_value(server.clone()).unwrap_or_else(|e| {
        panic!("{what}: kubegen-api cannot decode the server's JSON: {e}\n{server:#}")
    });
    let ours = serde_json::to_value(&ours).unwrap();
    if let Some(d) = first_difference("", &ours, server) {
        panic!("{what}: kubegen-api round trip differs from the server at {d}");
    }
    let theirs: Theirs = serde_json::from_value(server.clone())
        .unwrap_or_else(|e| panic!("{what}: k8s-openapi cannot decode the server's JSON: {e}"));
    let theirs = serde_json::to_value(&theirs).unwrap();
    if let Some(d) = first_difference("", &ours, &theirs) {
        panic!("{what}: kubegen-api and k8s-openapi disagree at {d} (kubegen vs k8s-openapi)");
    }
}

async fn send(rest: &RestClient, method: http::Method, path: &str, body: Option<&Value>) -> Value {
    let req = http::Request::builder()
        .method(method.clone())
        .uri(path)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .body(
            body.map(|b| Bytes::from(serde_json::to_vec(b).unwrap()))
                .unwrap_or_default(),
        )
        .unwrap();
    rest.request::<Value>(req)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// `v` without `apiVersion` and `kind` below the top level (see the module docs).
fn without_nested_type_meta(v: &Value, top: bool) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, x)| {
                    top || !(matches!(k.as_str(), "apiVersion" | "kind") && x.is_string())
                        || !m.contains_key("metadata")
                })
                .map(|(k, x)| (k.clone(), without_nested_type_meta(x, false)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| without_nested_type_meta(x, false))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The first difference of two reads, one through protobuf. An empty
/// `metadata` is absent (a kind's metadata is left out when empty).
fn protobuf_difference(protobuf: &Value, json: &Value) -> Option<String> {
    let normal = |v: &Value| {
        let mut v = without_nested_type_meta(&without_null_members(v), true);
        if v.get("metadata")
            .is_some_and(|m| m.as_object().is_some_and(|m| m.is_empty()))
        {
            v.as_object_mut().map(|o| o.remove("metadata"));
        }
        v
    };
    first_difference("", &normal(protobuf), &normal(json))
}

/// The protobuf checks (3 to 5 of the module docs) for the object at
/// `path`, created from `body`. Returns the
/// second object's path for cleanup.
async fn protobuf_round_trip<K>(rest: &RestClient, ns: &str, path: &str, body: &Value) -> String
where
    K: Object + Resource + verbs::Get + verbs::Create + verbs::Update,
{
    assert!(rest.protobuf(), "the default config speaks protobuf");
    let what = format!("{}/{} (protobuf)", K::API_VERSION, K::KIND);
    let client = match K::SCOPE {
        Scope::Namespaced => Client::<K>::namespaced(rest.clone(), ns),
        Scope::Cluster => Client::<K>::cluster(rest.clone()),
    };
    let name = body["metadata"]["name"].as_str().unwrap();
    // Controllers touch some of these objects (adopting a ControllerRevision,
    // binding a claim): compare reads of one resourceVersion.
    let mut attempts = 0;
    let (read, json) = loop {
        attempts += 1;
        let read = client
            .get(name, &Default::default())
            .await
            .unwrap_or_else(|e| panic!("{what}: get: {e}"));
        let json = send(rest, http::Method::GET, path, None).await;
        let rv = read.metadata().resource_version.as_deref();
        if rv == json["metadata"]["resourceVersion"].as_str() || attempts == 5 {
            break (serde_json::to_value(&read).unwrap(), json);
        }
    };
    if let Some(d) = protobuf_difference(&read, &json) {
        panic!("{what}: a GET through protobuf differs from one through JSON at {d}");
    }

    let req = http::Request::get(path)
        .header("Accept", kubegen_runtime::proto::MEDIA_TYPE)
        .body(Bytes::new())
        .unwrap();
    let raw = rest
        .request_bytes(req)
        .await
        .unwrap_or_else(|e| panic!("{what}: get: {e}"));
    let env = kubegen_runtime::proto::decode_envelope(&raw).unwrap();
    let codec = K::PROTOBUF.unwrap();
    let decoded = codec.decode_envelope(&env).unwrap();
    let mut ours = Vec::new();
    codec.encode(&decoded, &mut ours);
    if ours != env.raw {
        // Lengths of enclosing messages differ first; show the last
        // difference too, counted from the end, where the content differs.
        let at = ours
            .iter()
            .zip(env.raw)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(env.raw.len()));
        let from_end = ours
            .iter()
            .rev()
            .zip(env.raw.iter().rev())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        let (oe, se) = (ours.len() - from_end, env.raw.len() - from_end);
        panic!(
            "{what}: our protobuf encoding differs from the server's from byte {at} to {se} of {} (ours {} bytes)\n ours:   {:02x?}\n server: {:02x?}",
            env.raw.len(),
            ours.len(),
            &ours[oe.saturating_sub(40)..(oe + 8).min(ours.len())],
            &env.raw[se.saturating_sub(40)..(se + 8).min(env.raw.len())],
        );
    }

    // A controller may change the object between the read and the PUT (the
    // volume binder does a claim's); a lossy encoding changes it every time,
    // so the check passes once a PUT of a fresh read is a no-op.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let fresh = send(rest, http::Method::GET, path, None).await;
        let current: K = serde_json::from_value(fresh.clone()).unwrap();
        let updated = match client.update(&current, &Default::default()).await {
            Err(e) if e.is_conflict() && attempts < 5 => continue,
            other => other.unwrap_or_else(|e| panic!("{what}: update: {e}")),
        };
        if updated.metadata().resource_version != current.metadata().resource_version {
            assert!(
                attempts < 5,
                "{what}: putting the object back through protobuf changes it"
            );
            continue;
        }
        let after = send(rest, http::Method::GET, path, None).await;
        // A controller may also change it after the PUT (adopting a
        // ControllerRevision labels it): compare reads of one version.
        if after["metadata"]["resourceVersion"] != fresh["metadata"]["resourceVersion"]
            && attempts < 5
        {
            continue;
        }
        if let Some(d) = first_difference(
            "",
            &without_null_members(&after),
            &without_null_members(&fresh),
        ) {
            panic!("{what}: after a protobuf PUT of the same object, a JSON read differs at {d}");
        }
        break;
    }

    // A second name: `-pb` appended, or for an IPAddress (named by its
    // address) the next address.
    let copy_name = match name.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => std::net::Ipv4Addr::from(u32::from(ip) + 1).to_string(),
        Err(_) => format!("{name}-pb"),
    };
    let mut obj: K = serde_json::from_value(body.clone()).unwrap();
    obj.metadata_mut().name = Some(copy_name.as_str().into());
    let created = client
        .create(&obj, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("{what}: create: {e}"));
    let copy_path = format!("{}/{copy_name}", path.rsplit_once('/').unwrap().0);
    let copy = send(rest, http::Method::GET, &copy_path, None).await;
    let unchanged = created.metadata().resource_version.as_deref()
        == copy["metadata"]["resourceVersion"].as_str();
    let created = serde_json::to_value(&created).unwrap();
    if let Some(d) = protobuf_difference(&created, &copy).filter(|_| unchanged) {
        panic!("{what}: the protobuf create's answer differs from a JSON read at {d}");
    }
    copy_path
}

/// Creates `body` as a `K`, then checks the create answer and a fresh GET,
/// through JSON and through protobuf. Returns the paths of what it created,
/// for cleanup.
///
/// Boxed: the test awaits one per kind, and a debug build gives its caller a
/// stack slot for every one of them, past a test thread's 2 MiB.
fn round_trip<'a, Ours, Theirs>(
    rest: &'a RestClient,
    ns: &'a str,
    body: Value,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<String>> + 'a>>
where
    Ours: Object + Resource + verbs::Get + verbs::Create + verbs::Update + 'a,
    Theirs: Serialize + DeserializeOwned + 'a,
{
    Box::pin(round_trip_unboxed::<Ours, Theirs>(rest, ns, body))
}

async fn round_trip_unboxed<Ours, Theirs>(rest: &RestClient, ns: &str, body: Value) -> Vec<String>
where
    Ours: Object + Resource + verbs::Get + verbs::Create + verbs::Update,
    Theirs: Serialize + DeserializeOwned,
{
    let (path, body) = json_round_trip::<Ours, Theirs>(rest, ns, body).await;
    let mut paths = vec![path.clone()];
    if Ours::PROTOBUF.is_some() {
        paths.push(protobuf_round_trip::<Ours>(rest, ns, &path, &body).await);
    }
    paths
}

/// Checks 1 and 2 of the module docs. Returns the object's path and the
/// body it was created from.
async fn json_round_trip<Ours, Theirs>(
    rest: &RestClient,
    ns: &str,
    mut body: Value,
) -> (String, Value)
where
    Ours: Resource + Serialize + DeserializeOwned,
    Theirs: Serialize + DeserializeOwned,
{
    let ar = Ours::api_resource();
    let name = body["metadata"]["name"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| unique("rt"));
    body["metadata"]["name"] = json!(name);
    body["apiVersion"] = json!(Ours::API_VERSION);
    body["kind"] = json!(Ours::KIND);
    let collection = match Ours::SCOPE {
        Scope::Namespaced => format!("{}/namespaces/{ns}/{}", ar.group_version_path(), ar.plural),
        Scope::Cluster => format!("{}/{}", ar.group_version_path(), ar.plural),
    };
    let what = format!("{}/{}", Ours::API_VERSION, Ours::KIND);
    let created = send(rest, http::Method::POST, &collection, Some(&body)).await;
    check::<Ours, Theirs>(&format!("{what} (create)"), &created);
    let path = format!("{collection}/{name}");
    let got = send(rest, http::Method::GET, &path, None).await;
    check::<Ours, Theirs>(&format!("{what} (get)"), &got);
    (path, body)
}

/// A certificate signing request (an EC P-256 key's, made with openssl for
/// this test), base64 as the API carries it.
const CSR_PEM_BASE64: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0KTUlIYU1JR0JBZ0VBTUI4eEVEQU9CZ05WQkFNTUIzSjBMWFZ6WlhJeEN6QUpCZ05WQkFvTUFuSjBNRmt3RXdZSApLb1pJemowQ0FRWUlLb1pJemowREFRY0RRZ0FFTXFsUFhuUEg2OWt2VDFlZjFFcmxJcXJIN01sVDBKbk1HSzNuCkxVNDJJWWMzSG5sUHR6WmhTOEJieEZqbTJtTmZiQi9GRzN6RFN1U0JjU0FYK280RzhhQUFNQW9HQ0NxR1NNNDkKQkFNQ0EwZ0FNRVVDSVFDTVMwT0oyemZDYzNRdldOb1QxNmRyQlFZcTVkTE9ZajhSNEdPMEVzbDFhd0lnVXcvSApYd0ZOeEJGYXV5NWdRdThvcTF3dWdVd0pGOFJwTy81ZHdvdDQ3ZTg9Ci0tLS0tRU5EIENFUlRJRklDQVRFIFJFUVVFU1QtLS0tLQo=";

/// `v` with every array sorted (by its items' JSON text), recursively.
fn sorted_arrays(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), sorted_arrays(x)))
                .collect(),
        ),
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(sorted_arrays).collect();
            items.sort_by_key(|x| x.to_string());
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// A kind the server only creates (a review): the same body created through
/// JSON (raw) and through protobuf (typed) answers the same object. The
/// answers' lists are compared as sets: the server lists the rules of a
/// SelfSubjectRulesReview in no fixed order.
async fn create_only<K>(rest: &RestClient, ns: &str, mut body: Value)
where
    K: Object + Resource + verbs::Create,
{
    let what = format!("{}/{} (create only)", K::API_VERSION, K::KIND);
    assert!(K::PROTOBUF.is_some(), "{what} speaks protobuf");
    body["apiVersion"] = json!(K::API_VERSION);
    body["kind"] = json!(K::KIND);
    let ar = K::api_resource();
    let (collection, client) = match K::SCOPE {
        Scope::Namespaced => (
            format!("{}/namespaces/{ns}/{}", ar.group_version_path(), ar.plural),
            Client::<K>::namespaced(rest.clone(), ns),
        ),
        Scope::Cluster => (
            format!("{}/{}", ar.group_version_path(), ar.plural),
            Client::<K>::cluster(rest.clone()),
        ),
    };
    let json = send(rest, http::Method::POST, &collection, Some(&body)).await;
    let obj: K = serde_json::from_value(body).unwrap();
    let created = client
        .create(&obj, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("{what}: create: {e}"));
    let created = serde_json::to_value(&created).unwrap();
    if let Some(d) = protobuf_difference(&sorted_arrays(&created), &sorted_arrays(&json)) {
        panic!("{what}: the answers through protobuf and JSON differ at {d}");
    }
}

fn labels() -> Value {
    json!({"labels": {"app": "rt", "tier": "test"}, "annotations": {"kubegen.dev/note": "round trip"}})
}

fn pod_spec() -> Value {
    json!({
        "containers": [{
            "name": "main",
            "image": "registry.example/app:1.2.3",
            "command": ["/bin/app"],
            "args": ["--port=8080", "--verbose"],
            "workingDir": "/srv",
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}, {"containerPort": 9090, "protocol": "UDP"}],
            "env": [
                {"name": "A", "value": "1"},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}}
            ],
            "envFrom": [{"configMapRef": {"name": "cm", "optional": true}, "prefix": "CM_"}],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": true}, {"name": "cfg", "mountPath": "/etc/cfg", "subPath": "app.yaml"}],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"}, "initialDelaySeconds": 3, "periodSeconds": 10},
            "readinessProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 5},
            "startupProbe": {"exec": {"command": ["true"]}},
            "lifecycle": {"preStop": {"sleep": {"seconds": 2}}},
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true},
            "imagePullPolicy": "IfNotPresent",
            "terminationMessagePolicy": "FallbackToLogsOnError"
        }],
        "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"]}],
        "volumes": [
            {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}},
            {"name": "cfg", "configMap": {"name": "cm", "items": [{"key": "app.yaml", "path": "app.yaml"}], "defaultMode": 420}},
            {"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600, "audience": "api"}}]}}
        ],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "rt", "effect": "NoSchedule"}, {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}],
        "affinity": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "rt"}}, "topologyKey": "kubernetes.io/hostname"}}]}
        },
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "rt"}}}],
        "securityContext": {"fsGroup": 2000, "seccompProfile": {"type": "RuntimeDefault"}, "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
        "terminationGracePeriodSeconds": 5,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}]},
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db.local"]}],
        "priority": 0,
        "enableServiceLinks": false
    })
}

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "rt"}}, "spec": pod_spec()})
}

fn selector() -> Value {
    json!({"matchLabels": {"app": "rt"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]})
}

#[tokio::test]
async fn built_in_kinds_round_trip_through_generated_types() {
    use k8s_openapi::api as k;
    use kubegen_api as g;
    let rest = admin();
    let ns = test_namespace(&rest, "roundtrip").await;
    let mut cluster_paths = Vec::new();
    let ns_ = ns.as_str();
    let r = &rest;

    // core/v1
    round_trip::<g::core::v1::ConfigMap, k::core::v1::ConfigMap>(r, ns_, json!({"metadata": labels(), "data": {"a": "1", "b.yaml": "x: 1\n"}, "binaryData": {"bin": "AAEC"}, "immutable": false})).await;
    round_trip::<g::core::v1::Secret, k::core::v1::Secret>(r, ns_, json!({"metadata": labels(), "type": "Opaque", "data": {"k": "dmFsdWU="}, "stringData": {"s": "plain"}})).await;
    round_trip::<g::core::v1::Service, k::core::v1::Service>(r, ns_, json!({"metadata": labels(), "spec": {"selector": {"app": "rt"}, "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}, {"name": "m", "port": 9090, "targetPort": 9090}], "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}}, "type": "ClusterIP", "publishNotReadyAddresses": true}})).await;
    round_trip::<g::core::v1::Pod, k::core::v1::Pod>(
        r,
        ns_,
        json!({"metadata": labels(), "spec": pod_spec()}),
    )
    .await;
    round_trip::<g::core::v1::ServiceAccount, k::core::v1::ServiceAccount>(r, ns_, json!({"metadata": labels(), "automountServiceAccountToken": false, "imagePullSecrets": [{"name": "pull"}]})).await;
    round_trip::<g::core::v1::LimitRange, k::core::v1::LimitRange>(r, ns_, json!({"metadata": labels(), "spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"cpu": "10m"}, "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "100m"}, "maxLimitRequestRatio": {"cpu": "10"}}]}})).await;
    round_trip::<g::core::v1::ResourceQuota, k::core::v1::ResourceQuota>(r, ns_, json!({"metadata": labels(), "spec": {"hard": {"pods": "50", "requests.cpu": "4", "limits.memory": "8Gi"}, "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["low"]}]}}})).await;
    round_trip::<g::core::v1::PersistentVolumeClaim, k::core::v1::PersistentVolumeClaim>(r, ns_, json!({"metadata": labels(), "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "manual", "volumeMode": "Filesystem", "selector": {"matchLabels": {"disk": "ssd"}}}})).await;
    round_trip::<g::core::v1::ReplicationController, k::core::v1::ReplicationController>(r, ns_, json!({"metadata": labels(), "spec": {"replicas": 0, "minReadySeconds": 5, "selector": {"app": "rt"}, "template": template()}})).await;
    round_trip::<g::core::v1::PodTemplate, k::core::v1::PodTemplate>(
        r,
        ns_,
        json!({"metadata": labels(), "template": template()}),
    )
    .await;
    round_trip::<g::core::v1::Event, k::core::v1::Event>(r, ns_, json!({"metadata": labels(), "involvedObject": {"kind": "Pod", "name": "p", "namespace": ns_, "apiVersion": "v1"}, "reason": "Testing", "message": "round trip", "type": "Normal", "count": 3, "source": {"component": "kubegen"}, "firstTimestamp": "2024-05-06T07:08:09Z", "lastTimestamp": "2024-05-06T07:09:09Z", "reportingComponent": "kubegen", "reportingInstance": "rt"})).await;
    cluster_paths.extend(round_trip::<g::core::v1::PersistentVolume, k::core::v1::PersistentVolume>(r, ns_, json!({"metadata": labels(), "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "manual", "hostPath": {"path": "/tmp/rt", "type": "DirectoryOrCreate"}, "mountOptions": ["ro"], "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}})).await);
    cluster_paths.extend(
        round_trip::<g::core::v1::Namespace, k::core::v1::Namespace>(
            r,
            ns_,
            json!({"metadata": labels(), "spec": {"finalizers": ["kubernetes"]}}),
        )
        .await,
    );

    // apps/v1
    round_trip::<g::apps::v1::Deployment, k::apps::v1::Deployment>(r, ns_, json!({"metadata": labels(), "spec": {"replicas": 0, "selector": selector(), "template": {"metadata": {"labels": {"app": "rt", "tier": "web"}}, "spec": pod_spec()}, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}, "revisionHistoryLimit": 3, "progressDeadlineSeconds": 120, "minReadySeconds": 2}})).await;
    round_trip::<g::apps::v1::StatefulSet, k::apps::v1::StatefulSet>(r, ns_, json!({"metadata": labels(), "spec": {"replicas": 0, "serviceName": "rt", "selector": selector(), "template": {"metadata": {"labels": {"app": "rt", "tier": "web"}}, "spec": pod_spec()}, "podManagementPolicy": "Parallel", "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}, "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}], "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"}, "ordinals": {"start": 1}}})).await;
    round_trip::<g::apps::v1::DaemonSet, k::apps::v1::DaemonSet>(r, ns_, json!({"metadata": labels(), "spec": {"selector": selector(), "template": {"metadata": {"labels": {"app": "rt", "tier": "web"}}, "spec": pod_spec()}, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 0}}}})).await;
    round_trip::<g::apps::v1::ReplicaSet, k::apps::v1::ReplicaSet>(r, ns_, json!({"metadata": labels(), "spec": {"replicas": 0, "selector": selector(), "template": {"metadata": {"labels": {"app": "rt", "tier": "web"}}, "spec": pod_spec()}}})).await;
    round_trip::<g::apps::v1::ControllerRevision, k::apps::v1::ControllerRevision>(r, ns_, json!({"metadata": labels(), "revision": 7, "data": {"spec": {"template": {"x": [1, 2, {"y": null}]}}}})).await;

    // batch/v1
    round_trip::<g::batch::v1::Job, k::batch::v1::Job>(r, ns_, json!({"metadata": labels(), "spec": {"suspend": true, "parallelism": 2, "completions": 4, "completionMode": "Indexed", "backoffLimitPerIndex": 1, "maxFailedIndexes": 2, "activeDeadlineSeconds": 600, "ttlSecondsAfterFinished": 60, "podFailurePolicy": {"rules": [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [42]}}]}, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}})).await;
    round_trip::<g::batch::v1::CronJob, k::batch::v1::CronJob>(r, ns_, json!({"metadata": labels(), "spec": {"schedule": "*/5 * * * *", "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid", "suspend": true, "startingDeadlineSeconds": 30, "successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 2, "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}})).await;

    // autoscaling/v2, policy/v1, networking/v1, coordination/v1, discovery/v1, events/v1
    round_trip::<g::autoscaling::v2::HorizontalPodAutoscaler, k::autoscaling::v2::HorizontalPodAutoscaler>(r, ns_, json!({"metadata": labels(), "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}, {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "100m"}}}], "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Min", "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}}}})).await;
    round_trip::<g::policy::v1::PodDisruptionBudget, k::policy::v1::PodDisruptionBudget>(r, ns_, json!({"metadata": labels(), "spec": {"minAvailable": "50%", "selector": selector(), "unhealthyPodEvictionPolicy": "AlwaysAllow"}})).await;
    round_trip::<g::networking::v1::NetworkPolicy, k::networking::v1::NetworkPolicy>(r, ns_, json!({"metadata": labels(), "spec": {"podSelector": selector(), "policyTypes": ["Ingress", "Egress"], "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}, {"namespaceSelector": {"matchLabels": {"team": "a"}}}], "ports": [{"protocol": "TCP", "port": 443}, {"port": "http", "endPort": null}]}], "egress": [{"to": [{"podSelector": {}}], "ports": [{"protocol": "UDP", "port": 53, "endPort": 60}]}]}})).await;
    round_trip::<g::networking::v1::Ingress, k::networking::v1::Ingress>(r, ns_, json!({"metadata": labels(), "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"], "secretName": "tls"}], "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}, "rules": [{"host": "a.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}]}})).await;
    round_trip::<g::coordination::v1::Lease, k::coordination::v1::Lease>(r, ns_, json!({"metadata": labels(), "spec": {"holderIdentity": "rt-1", "leaseDurationSeconds": 15, "acquireTime": "2024-05-06T07:08:09.123456Z", "renewTime": "2024-05-06T07:08:19.000001Z", "leaseTransitions": 2}})).await;
    round_trip::<g::discovery::v1::EndpointSlice, k::discovery::v1::EndpointSlice>(r, ns_, json!({"metadata": labels(), "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.5"], "conditions": {"ready": true, "serving": true, "terminating": false}, "hostname": "p0", "zone": "a", "nodeName": "n1", "hints": {"forZones": [{"name": "a"}]}}], "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]})).await;
    round_trip::<g::events::v1::Event, k::events::v1::Event>(r, ns_, json!({"metadata": labels(), "eventTime": "2024-05-06T07:08:09.000000Z", "reportingController": "kubegen.dev/rt", "reportingInstance": "rt-1", "action": "Test", "reason": "RoundTrip", "regarding": {"kind": "Pod", "name": "p", "namespace": ns_}, "note": "a note", "type": "Warning"})).await;

    // rbac/v1
    round_trip::<g::rbac::v1::Role, k::rbac::v1::Role>(r, ns_, json!({"metadata": labels(), "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}, {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"], "verbs": ["patch"]}]})).await;
    round_trip::<g::rbac::v1::RoleBinding, k::rbac::v1::RoleBinding>(r, ns_, json!({"metadata": labels(), "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}, "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}, {"kind": "ServiceAccount", "name": "default", "namespace": ns_}]})).await;
    cluster_paths.extend(round_trip::<g::rbac::v1::ClusterRole, k::rbac::v1::ClusterRole>(r, ns_, json!({"metadata": labels(), "rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}], "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rt-aggregate": "true"}}]}})).await);
    cluster_paths.extend(round_trip::<g::rbac::v1::ClusterRoleBinding, k::rbac::v1::ClusterRoleBinding>(r, ns_, json!({"metadata": labels(), "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "Group", "name": "rt-group", "apiGroup": "rbac.authorization.k8s.io"}]})).await);

    // cluster-scoped kinds of other groups
    cluster_paths.extend(round_trip::<g::scheduling::v1::PriorityClass, k::scheduling::v1::PriorityClass>(r, ns_, json!({"metadata": labels(), "value": 1000, "globalDefault": false, "description": "round trip", "preemptionPolicy": "Never"})).await);
    cluster_paths.extend(round_trip::<g::networking::v1::IngressClass, k::networking::v1::IngressClass>(r, ns_, json!({"metadata": labels(), "spec": {"controller": "kubegen.dev/rt", "parameters": {"apiGroup": "k8s.example.com", "kind": "Params", "name": "p", "scope": "Cluster"}}})).await);
    cluster_paths.extend(round_trip::<g::storage::v1::StorageClass, k::storage::v1::StorageClass>(r, ns_, json!({"metadata": labels(), "provisioner": "kubegen.dev/rt", "parameters": {"type": "ssd"}, "reclaimPolicy": "Retain", "allowVolumeExpansion": true, "mountOptions": ["noatime"], "volumeBindingMode": "WaitForFirstConsumer", "allowedTopologies": [{"matchLabelExpressions": [{"key": "zone", "values": ["a"]}]}]})).await);
    cluster_paths.extend(round_trip::<g::storage::v1::CSIDriver, k::storage::v1::CSIDriver>(r, ns_, json!({"metadata": labels(), "spec": {"attachRequired": false, "podInfoOnMount": true, "volumeLifecycleModes": ["Persistent", "Ephemeral"], "fsGroupPolicy": "File", "tokenRequests": [{"audience": "rt", "expirationSeconds": 3600}], "requiresRepublish": false}})).await);
    cluster_paths.extend(round_trip::<g::node::v1::RuntimeClass, k::node::v1::RuntimeClass>(r, ns_, json!({"metadata": labels(), "handler": "runc", "overhead": {"podFixed": {"cpu": "10m", "memory": "16Mi"}}, "scheduling": {"nodeSelector": {"rt": "yes"}, "tolerations": [{"key": "rt", "operator": "Exists"}]}})).await);
    // Admission objects match only a group no test uses, so they cannot
    // disturb other tests.
    let rules = json!([{"apiGroups": ["rt.kubegen.dev"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["nothings"], "scope": "Namespaced"}]);
    cluster_paths.extend(round_trip::<g::admissionregistration::v1::ValidatingWebhookConfiguration, k::admissionregistration::v1::ValidatingWebhookConfiguration>(r, ns_, json!({"metadata": labels(), "webhooks": [{"name": "v.rt.kubegen.dev", "clientConfig": {"url": "https://127.0.0.1:1/validate"}, "rules": rules, "failurePolicy": "Ignore", "sideEffects": "None", "admissionReviewVersions": ["v1"], "timeoutSeconds": 1, "matchPolicy": "Exact", "namespaceSelector": {"matchLabels": {"rt": "never"}}, "matchConditions": [{"name": "never", "expression": "false"}]}]})).await);
    cluster_paths.extend(round_trip::<g::admissionregistration::v1::MutatingWebhookConfiguration, k::admissionregistration::v1::MutatingWebhookConfiguration>(r, ns_, json!({"metadata": labels(), "webhooks": [{"name": "m.rt.kubegen.dev", "clientConfig": {"url": "https://127.0.0.1:1/mutate"}, "rules": rules, "failurePolicy": "Ignore", "sideEffects": "None", "admissionReviewVersions": ["v1"], "reinvocationPolicy": "IfNeeded", "timeoutSeconds": 1, "objectSelector": {"matchLabels": {"rt": "never"}}}]})).await);
    cluster_paths.extend(round_trip::<g::admissionregistration::v1::ValidatingAdmissionPolicy, k::admissionregistration::v1::ValidatingAdmissionPolicy>(r, ns_, json!({"metadata": labels(), "spec": {"failurePolicy": "Ignore", "matchConstraints": {"resourceRules": rules}, "validations": [{"expression": "object.metadata.name != 'x'", "message": "no x", "reason": "Invalid"}], "variables": [{"name": "n", "expression": "object.metadata.name"}], "auditAnnotations": [{"key": "rt", "valueExpression": "'seen'"}]}})).await);
    cluster_paths.extend(round_trip::<g::flowcontrol::v1::PriorityLevelConfiguration, k::flowcontrol::v1::PriorityLevelConfiguration>(r, ns_, json!({"metadata": labels(), "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 1, "lendablePercent": 50, "limitResponse": {"type": "Queue", "queuing": {"queues": 4, "handSize": 2, "queueLengthLimit": 10}}}}})).await);
    cluster_paths.extend(round_trip::<g::flowcontrol::v1::FlowSchema, k::flowcontrol::v1::FlowSchema>(r, ns_, json!({"metadata": labels(), "spec": {"priorityLevelConfiguration": {"name": "workload-low"}, "matchingPrecedence": 9900, "distinguisherMethod": {"type": "ByUser"}, "rules": [{"subjects": [{"kind": "User", "user": {"name": "rt-nobody"}}], "resourceRules": [{"verbs": ["get"], "apiGroups": ["rt.kubegen.dev"], "resources": ["nothings"], "namespaces": ["*"]}]}]}})).await);
    let crd_group = format!("{}.kubegen.dev", unique("rt"));
    cluster_paths.extend(round_trip::<g::apiextensions::v1::CustomResourceDefinition, k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>(r, ns_, json!({"metadata": {"name": format!("things.{crd_group}"), "labels": {"app": "rt"}}, "spec": {"group": crd_group, "scope": "Namespaced", "names": {"kind": "Thing", "plural": "things", "singular": "thing", "shortNames": ["th"], "categories": ["all"]}, "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}}, "additionalPrinterColumns": [{"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}], "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-validations": [{"rule": "self.replicas >= 0", "message": "non-negative"}], "properties": {"replicas": {"type": "integer", "format": "int32", "default": 1}, "port": {"x-kubernetes-int-or-string": true}, "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"], "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}, "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}, "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}}}]}})).await);

    // The rest of the kinds the server creates and reads back (protobuf
    // checks above for each; kubegen-api's apiregistration APIService speaks
    // JSON only, and pods/binding answers a Status, not the object).
    round_trip::<g::core::v1::Endpoints, k::core::v1::Endpoints>(r, ns_, json!({"metadata": labels(), "subsets": [{"addresses": [{"ip": "10.0.0.9", "hostname": "h"}], "notReadyAddresses": [{"ip": "10.0.0.10"}], "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]})).await;
    cluster_paths.extend(round_trip::<g::core::v1::Node, k::core::v1::Node>(r, ns_, json!({"metadata": labels(), "spec": {"podCIDR": "10.244.9.0/24", "podCIDRs": ["10.244.9.0/24"], "unschedulable": true, "taints": [{"key": "rt", "value": "x", "effect": "NoSchedule"}]}})).await);
    cluster_paths.extend(round_trip::<g::storage::v1::CSINode, k::storage::v1::CSINode>(r, ns_, json!({"metadata": labels(), "spec": {"drivers": [{"name": "rt.csi.kubegen.dev", "nodeID": "n1", "topologyKeys": ["zone"], "allocatable": {"count": 5}}]}})).await);
    round_trip::<g::storage::v1::CSIStorageCapacity, k::storage::v1::CSIStorageCapacity>(r, ns_, json!({"metadata": labels(), "storageClassName": "manual", "capacity": "10Gi", "maximumVolumeSize": "1Gi", "nodeTopology": {"matchLabels": {"zone": "a"}}})).await;
    cluster_paths.extend(round_trip::<g::storage::v1::VolumeAttachment, k::storage::v1::VolumeAttachment>(r, ns_, json!({"metadata": labels(), "spec": {"attacher": "rt.csi.kubegen.dev", "nodeName": "n1", "source": {"persistentVolumeName": "pv-rt"}}})).await);
    cluster_paths.extend(round_trip::<g::storage::v1::VolumeAttributesClass, k::storage::v1::VolumeAttributesClass>(r, ns_, json!({"metadata": labels(), "driverName": "rt.csi.kubegen.dev", "parameters": {"iops": "3000"}})).await);
    cluster_paths.extend(round_trip::<g::certificates::v1::CertificateSigningRequest, k::certificates::v1::CertificateSigningRequest>(r, ns_, json!({"metadata": labels(), "spec": {"request": CSR_PEM_BASE64, "signerName": "kubegen.dev/rt", "usages": ["digital signature", "client auth"], "expirationSeconds": 3600}})).await);
    let ca = std::fs::read_to_string(
        kubegen_e2e::cluster::cluster_root().join(".cache/cluster/pki/ca.crt"),
    )
    .unwrap();
    cluster_paths.extend(
        round_trip::<
            g::certificates::v1::ClusterTrustBundle,
            k::certificates::v1::ClusterTrustBundle,
        >(
            r,
            ns_,
            json!({"metadata": labels(), "spec": {"trustBundle": ca}}),
        )
        .await,
    );
    let pid = std::process::id();
    let ip = format!("10.96.{}.{}", (pid >> 8) % 250 + 1, pid % 250 + 1);
    cluster_paths.extend(round_trip::<g::networking::v1::IPAddress, k::networking::v1::IPAddress>(r, ns_, json!({"metadata": {"name": ip, "labels": {"app": "rt"}}, "spec": {"parentRef": {"group": "", "resource": "services", "namespace": ns_, "name": "rt"}}})).await);
    cluster_paths.extend(
        round_trip::<g::networking::v1::ServiceCIDR, k::networking::v1::ServiceCIDR>(
            r,
            ns_,
            json!({"metadata": labels(), "spec": {"cidrs": ["10.212.0.0/24"]}}),
        )
        .await,
    );
    cluster_paths.extend(round_trip::<g::resource::v1::DeviceClass, k::resource::v1::DeviceClass>(r, ns_, json!({"metadata": labels(), "spec": {"selectors": [{"cel": {"expression": "device.driver == 'rt.kubegen.dev'"}}], "config": [{"opaque": {"driver": "rt.kubegen.dev", "parameters": {"mode": "fast", "n": 2}}}]}})).await);
    round_trip::<g::resource::v1::ResourceClaim, k::resource::v1::ResourceClaim>(r, ns_, json!({"metadata": labels(), "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "rt-class", "allocationMode": "ExactCount", "count": 2}}], "constraints": [{"requests": ["gpu"], "matchAttribute": "rt.kubegen.dev/numa"}]}}})).await;
    round_trip::<g::resource::v1::ResourceClaimTemplate, k::resource::v1::ResourceClaimTemplate>(r, ns_, json!({"metadata": labels(), "spec": {"metadata": {"labels": {"app": "rt"}}, "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "rt-class"}}]}}}})).await;
    cluster_paths.extend(round_trip::<g::resource::v1::ResourceSlice, k::resource::v1::ResourceSlice>(r, ns_, json!({"metadata": labels(), "spec": {"driver": "rt.kubegen.dev", "pool": {"name": "pool-a", "generation": 1, "resourceSliceCount": 1}, "nodeName": "n1", "devices": [{"name": "gpu-0", "attributes": {"model": {"string": "x1"}, "numa": {"int": 0}, "ready": {"bool": true}}, "capacity": {"memory": {"value": "16Gi"}}}]}})).await);
    cluster_paths.extend(round_trip::<g::resource::v1::DeviceTaintRule, k::resource::v1::DeviceTaintRule>(r, ns_, json!({"metadata": labels(), "spec": {"deviceSelector": {"driver": "rt.kubegen.dev", "pool": "pool-a"}, "taint": {"key": "rt", "value": "broken", "effect": "NoSchedule"}}})).await);
    cluster_paths.extend(round_trip::<g::admissionregistration::v1::ValidatingAdmissionPolicyBinding, k::admissionregistration::v1::ValidatingAdmissionPolicyBinding>(r, ns_, json!({"metadata": labels(), "spec": {"policyName": "rt-policy", "validationActions": ["Deny", "Audit"], "matchResources": {"namespaceSelector": {"matchLabels": {"rt": "never"}}}}})).await);
    cluster_paths.extend(round_trip::<g::admissionregistration::v1::MutatingAdmissionPolicy, k::admissionregistration::v1::MutatingAdmissionPolicy>(r, ns_, json!({"metadata": labels(), "spec": {"failurePolicy": "Ignore", "matchConstraints": {"resourceRules": rules}, "reinvocationPolicy": "Never", "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": "Object{metadata: Object.metadata{labels: {\"rt\": \"seen\"}}}"}}]}})).await);
    cluster_paths.extend(round_trip::<g::admissionregistration::v1::MutatingAdmissionPolicyBinding, k::admissionregistration::v1::MutatingAdmissionPolicyBinding>(r, ns_, json!({"metadata": labels(), "spec": {"policyName": "rt-policy", "matchResources": {"namespaceSelector": {"matchLabels": {"rt": "never"}}}}})).await);
    cluster_paths.extend(round_trip::<g::storagemigration::v1::StorageVersionMigration, k::storagemigration::v1::StorageVersionMigration>(r, ns_, json!({"metadata": labels(), "spec": {"resource": {"group": "rt.kubegen.dev", "resource": "nothings"}}})).await);

    // Create-only kinds: the answer is computed (an authentication or
    // authorization decision), the same through protobuf and JSON.
    create_only::<g::authentication::v1::TokenReview>(
        r,
        ns_,
        json!({"spec": {"token": "not-a-token", "audiences": ["api"]}}),
    )
    .await;
    create_only::<g::authentication::v1::SelfSubjectReview>(r, ns_, json!({})).await;
    create_only::<g::authorization::v1::SubjectAccessReview>(r, ns_, json!({"spec": {"user": "alice", "groups": ["rt"], "resourceAttributes": {"namespace": ns_, "verb": "get", "resource": "pods"}, "extra": {"scopes": ["a", "b"]}}})).await;
    create_only::<g::authorization::v1::LocalSubjectAccessReview>(r, ns_, json!({"spec": {"user": "alice", "resourceAttributes": {"namespace": ns_, "verb": "list", "group": "apps", "resource": "deployments"}}})).await;
    create_only::<g::authorization::v1::SelfSubjectAccessReview>(
        r,
        ns_,
        json!({"spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}}),
    )
    .await;
    create_only::<g::authorization::v1::SelfSubjectRulesReview>(
        r,
        ns_,
        json!({"spec": {"namespace": ns_}}),
    )
    .await;

    // Clean up what the namespace does not take with it.
    for p in cluster_paths {
        let _ = send_delete(&rest, &p).await;
    }
    drop_namespace(&rest, &ns).await;
}

async fn send_delete(rest: &RestClient, path: &str) -> Result<Value, kubegen_runtime::Error> {
    let req = http::Request::delete(path)
        .header("Accept", "application/json")
        .body(Bytes::new())
        .unwrap();
    rest.request::<Value>(req).await
}
