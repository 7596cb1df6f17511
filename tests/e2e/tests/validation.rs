//! `kubegen_validation` against the real server, check by check: a CRD whose
//! schema uses every kind of check `validate()` makes (types, int-or-string,
//! nullable, enum, pattern, the formats, bounds, lengths, counts, required,
//! anyOf/oneOf, embedded resources, list-type set and map, defaults, and CEL
//! rules with messages, message expressions, field paths, reasons, escaped
//! names, root metadata and transition rules) is installed, and each object
//! below is sent with `dryRun=All`: the server's causes (field path and
//! reason) must be exactly `Schema::validate`'s, or `validate_update`'s for
//! updates. Then the fake API server refuses what the schema refuses.

#![recursion_limit = "512"]

use std::collections::BTreeSet;

use kubegen_e2e::{
    Verdict, admin, apply_crd, drop_namespace, report_verdict, server_verdict, test_namespace,
};
use kubegen_runtime::RestClient;
use kubegen_shared_crds::crd_install::send;
use kubegen_validation::{Reason, Schema};
use serde_json::{Value, json};

const CRD: &str = "checks.validation.kubegen.test";

fn crd() -> Value {
    let s = |extra: Value| {
        let mut v = json!({"type": "string"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let format = |f: &str| s(json!({"format": f}));
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD},
        "spec": {
            "group": "validation.kubegen.test",
            "names": {"kind": "Check", "plural": "checks", "singular": "check", "listKind": "CheckList"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "x-kubernetes-validations": [
                        {"rule": "self.metadata.name.startsWith('c-')", "message": "names start with c-"}
                    ],
                    "properties": {"spec": {
                        "type": "object",
                        "required": ["name"],
                        "x-kubernetes-validations": [
                            {"rule": "self.replicas <= 5 || self.mode == 'Slow'", "message": "more than 5 replicas needs mode Slow"},
                            {"rule": "!has(self.__namespace__) || self.__namespace__.startsWith('ns-')",
                             "fieldPath": ".namespace", "reason": "FieldValueForbidden"},
                            {"rule": "!has(self.tags) || self.tags.all(t, t.size() <= 4)",
                             "message": "tags are at most 4 long"},
                            {"rule": "!has(self.odd__dash__name) || self.odd__dash__name.lowerAscii() == self.odd__dash__name",
                             "message": "odd-name is lower case", "reason": "FieldValueRequired"},
                            {"rule": "!has(self.size) || quantity(self.size).isLessThan(quantity('10Gi'))",
                             "message": "at most 10Gi"}
                        ],
                        "properties": {
                            "name": s(json!({
                                "minLength": 2, "maxLength": 8, "pattern": "^[a-z]+$",
                                "x-kubernetes-validations": [{"rule": "self != 'taken'", "messageExpression": "'name ' + self + ' is taken'"}]
                            })),
                            "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
                            "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "multipleOf": 0.5},
                            "mode": s(json!({"enum": ["Fast", "Slow"], "default": "Fast"})),
                            "port": {"x-kubernetes-int-or-string": true},
                            "note": s(json!({"nullable": true})),
                            "namespace": s(json!({})),
                            "odd-name": s(json!({})),
                            "size": s(json!({})),
                            "immutable": s(json!({
                                "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]
                            })),
                            "url": format("uri"),
                            "addr": format("ipv4"),
                            "net": format("cidr"),
                            "id": format("uuid"),
                            "when": format("date-time"),
                            "host": format("hostname"),
                            "mac": format("mac"),
                            "data": format("byte"),
                            "tags": {
                                "type": "array", "items": {"type": "string", "maxLength": 10},
                                "x-kubernetes-list-type": "set", "minItems": 1, "maxItems": 3
                            },
                            "ports": {
                                "type": "array", "maxItems": 4,
                                "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                                "items": {
                                    "type": "object", "required": ["name"],
                                    "properties": {"name": s(json!({"maxLength": 10})), "port": {"type": "integer"}},
                                    "x-kubernetes-validations": [{"rule": "!has(self.port) || self.port > 0", "message": "ports are positive"}]
                                }
                            },
                            "labels": {
                                "type": "object", "minProperties": 1, "maxProperties": 3,
                                "additionalProperties": s(json!({
                                    "maxLength": 5,
                                    "x-kubernetes-validations": [{"rule": "self != 'bad'"}]
                                }))
                            },
                            "template": {
                                "type": "object",
                                "x-kubernetes-embedded-resource": true,
                                "x-kubernetes-preserve-unknown-fields": true
                            },
                            "choice": {
                                "type": "object",
                                "properties": {"a": s(json!({})), "b": s(json!({}))},
                                "anyOf": [{"required": ["a"]}, {"required": ["b"]}]
                            },
                            "pick": {
                                "type": "object",
                                "properties": {"x": s(json!({})), "y": s(json!({}))},
                                "oneOf": [{"required": ["x"]}, {"required": ["y"]}]
                            }
                        }
                    }}
                }}
            }]
        }
    })
}

/// A valid object with `spec` merged over a valid spec (a `null` removes).
fn object(name: &str, spec: Value) -> Value {
    let mut base = json!({
        "name": "abc", "replicas": 2, "ratio": 1.5, "port": "http", "note": null,
        "url": "https://example.com", "addr": "10.0.0.1", "net": "10.0.0.0/8",
        "id": "123e4567-e89b-12d3-a456-426614174000", "when": "2026-12-04T00:00:00Z",
        "host": "example.com", "mac": "01:23:45:67:89:ab", "data": "aGk=",
        "tags": ["a", "b"], "ports": [{"name": "http", "port": 80}], "labels": {"k": "v"},
        "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}},
        "choice": {"a": "1"}, "pick": {"x": "1"}, "immutable": "first", "size": "1Gi"
    });
    for (k, v) in spec.as_object().unwrap() {
        match v {
            Value::Null if k != "note" => {
                base.as_object_mut().unwrap().remove(k);
            }
            v => {
                base[k] = v.clone();
            }
        }
    }
    json!({
        "apiVersion": "validation.kubegen.test/v1", "kind": "Check",
        "metadata": {"name": name}, "spec": base
    })
}

/// The cases: each breaks what its name says.
fn cases() -> Vec<(&'static str, Value)> {
    vec![
        ("valid", object("c-valid", json!({}))),
        (
            "valid with defaults",
            object(
                "c-defaults",
                json!({"replicas": null, "mode": null, "port": 8080}),
            ),
        ),
        (
            "wrong types",
            object(
                "c-types",
                json!({"replicas": "two", "ratio": "x", "tags": "a", "labels": [], "port": true}),
            ),
        ),
        (
            "integer with a fraction",
            object("c-fraction", json!({"replicas": 2.5})),
        ),
        (
            "null where not nullable",
            object("c-null", json!({"url": null, "name": null})),
        ),
        ("enum", object("c-enum", json!({"mode": "Medium"}))),
        ("string bounds", object("c-strings", json!({"name": "a"}))),
        ("too long", object("c-long", json!({"name": "abcdefghij"}))),
        ("pattern", object("c-pattern", json!({"name": "ABC"}))),
        (
            "numbers",
            object("c-numbers", json!({"replicas": 11, "ratio": 0.7})),
        ),
        (
            "exclusive minimum",
            object("c-exclusive", json!({"ratio": 0})),
        ),
        ("below minimum", object("c-below", json!({"replicas": -1}))),
        (
            "formats",
            object(
                "c-formats",
                json!({
                    "url": "not a uri", "addr": "1.2.3", "net": "10.0.0.0/33", "id": "x",
                    "when": "yesterday", "host": "-x-", "mac": "01:23", "data": "***"
                }),
            ),
        ),
        ("list counts", object("c-lists", json!({"tags": []}))),
        (
            "too many items",
            object("c-many", json!({"tags": ["a", "b", "c", "d"]})),
        ),
        (
            "set duplicates",
            object("c-set", json!({"tags": ["a", "a"]})),
        ),
        (
            "map-list duplicates",
            object(
                "c-map",
                json!({"ports": [{"name": "h", "port": 1}, {"name": "h", "port": 2}]}),
            ),
        ),
        (
            "map-list item without its key",
            object("c-key", json!({"ports": [{"port": 1}]})),
        ),
        ("property counts", object("c-props", json!({"labels": {}}))),
        (
            "too many properties",
            object(
                "c-toomany",
                json!({"labels": {"a": "1", "b": "2", "c": "3", "d": "4"}}),
            ),
        ),
        (
            "map value too long",
            object("c-mapval", json!({"labels": {"k": "toolong"}})),
        ),
        (
            "embedded resource",
            object(
                "c-embedded",
                json!({"template": {"metadata": {"name": "x"}}}),
            ),
        ),
        ("anyOf", object("c-anyof", json!({"choice": {}}))),
        ("oneOf none", object("c-oneof", json!({"pick": {}}))),
        (
            "oneOf two",
            object("c-oneof-two", json!({"pick": {"x": "1", "y": "2"}})),
        ),
        ("root rule", object("x-root", json!({}))),
        (
            "rule with the default",
            object("c-rule-default", json!({"replicas": 7, "mode": null})),
        ),
        (
            "rule passes",
            object("c-rule-slow", json!({"replicas": 7, "mode": "Slow"})),
        ),
        (
            "escaped name and reason",
            object("c-escaped", json!({"namespace": "default"})),
        ),
        (
            "list rule",
            object("c-tags", json!({"tags": ["short", "longer"]})),
        ),
        (
            "message expression",
            object("c-msgexpr", json!({"name": "taken"})),
        ),
        ("dash name", object("c-dash", json!({"odd-name": "Upper"}))),
        (
            "item rule",
            object("c-item", json!({"ports": [{"name": "h", "port": -1}]})),
        ),
        (
            "map value rule",
            object("c-mapbad", json!({"labels": {"k": "bad"}})),
        ),
        (
            "many at once",
            object(
                "c-many-rules",
                json!({"replicas": 9, "namespace": "x", "labels": {"k": "bad"}}),
            ),
        ),
    ]
}

fn server_causes(answer: &kubegen_runtime::Result<Value>) -> Verdict {
    server_verdict(answer).unwrap_or_else(|| panic!("not a validation verdict: {answer:?}"))
}

async fn dry_run(
    rest: &RestClient,
    method: http::Method,
    path: &str,
    body: &Value,
) -> kubegen_runtime::Result<Value> {
    send(rest, method, &format!("{path}?dryRun=All"), Some(body)).await
}

#[tokio::test]
async fn validate_agrees_with_the_server_check_by_check() {
    let rest = admin();
    let crd = crd();
    apply_crd(&rest, CRD, &crd, "kubegen-e2e-validation").await;
    let schema = Schema::from_value(&crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]);
    let ns = test_namespace(&rest, "validation").await;
    let collection = format!("/apis/validation.kubegen.test/v1/namespaces/{ns}/checks");

    let mut disagreements = Vec::new();
    let mut reasons = BTreeSet::new();
    for (case, body) in cases() {
        // The CRD's handler may lag a moment behind Established.
        let mut answer = dry_run(&rest, http::Method::POST, &collection, &body).await;
        for _ in 0..40 {
            match &answer {
                Err(e) if e.is_not_found() => {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    answer = dry_run(&rest, http::Method::POST, &collection, &body).await;
                }
                _ => break,
            }
        }
        let server = server_causes(&answer);
        let report = schema.validate(&body);
        let ours = report_verdict(&report);
        println!("{case}: server {server:?}");
        reasons.extend(server.iter().map(|(_, r)| r.clone()));
        if server != ours {
            disagreements.push(format!(
                "{case}: server {server:?}, validate() {ours:?} ({report})"
            ));
        }
        // The quantity() rule is beyond the CEL interpreter: reported, not
        // passed, wherever the rules run.
        assert!(
            !server.is_empty()
                || report
                    .unevaluated
                    .iter()
                    .any(|u| u.check.contains("quantity(")),
            "{case}: the quantity rule is not reported unevaluated: {:?}",
            report.unevaluated
        );
    }

    // Transition rules, on update: an immutable field changed is refused.
    let stored = send(
        &rest,
        http::Method::POST,
        &collection,
        Some(&object("c-update", json!({}))),
    )
    .await
    .unwrap();
    let path = format!("{collection}/c-update");
    for (case, change) in [
        ("update keeping the immutable field", json!({"replicas": 3})),
        (
            "update changing the immutable field",
            json!({"immutable": "second"}),
        ),
    ] {
        let mut body = stored.clone();
        for (k, v) in change.as_object().unwrap() {
            body["spec"][k] = v.clone();
        }
        let server = server_causes(&dry_run(&rest, http::Method::PUT, &path, &body).await);
        let report = schema.validate_update(&body, &stored);
        println!("{case}: server {server:?}");
        reasons.extend(server.iter().map(|(_, r)| r.clone()));
        if server != report_verdict(&report) {
            disagreements.push(format!(
                "{case}: server {server:?}, validate_update() {:?} ({report})",
                report_verdict(&report)
            ));
        }
    }
    drop_namespace(&rest, &ns).await;

    assert!(
        disagreements.is_empty(),
        "validate() disagrees with the server:\n{}",
        disagreements.join("\n")
    );
    // Every reason the server gives was met, so each comparison could fail.
    for r in [
        Reason::Required,
        Reason::Invalid,
        Reason::NotSupported,
        Reason::TooLong,
        Reason::TooMany,
        Reason::Duplicate,
        Reason::TypeInvalid,
        Reason::Forbidden,
    ] {
        assert!(
            reasons.contains(r.as_str()),
            "no case made the server answer {}",
            r.as_str()
        );
    }
}

/// The fake API server with `validate_writes`: a controller's unit test gets
/// the server's 422 for what the schema refuses, on create, update and patch.
#[tokio::test]
async fn the_fake_server_refuses_what_the_schema_refuses() {
    use crds_in_build_script::example::v1::{Backup, BackupSpec};
    use kubegen_runtime::fake::FakeCluster;
    use kubegen_runtime::{Client, CreateOptions, Patch, PatchOptions, UpdateOptions};
    use kubegen_validation::Validate;

    let fake = FakeCluster::start().await.unwrap();
    fake.register_with_status::<Backup>();
    fake.validate_writes::<Backup>();
    let backups = Client::<Backup>::namespaced(fake.rest(), "default");
    let backup = |name: &str, keep: i64| {
        let mut b = Backup::default();
        b.metadata.name = Some(name.into());
        b.spec = Some(BackupSpec {
            volume: "data".into(),
            schedule: "@daily".into(),
            keep: Some(keep),
        });
        b
    };
    let expect_invalid = |r: kubegen_runtime::Result<Backup>, what: &str| {
        let e = r.expect_err(what);
        assert!(e.is_invalid(), "{what}: {e}");
        let fields: Vec<_> = e
            .causes()
            .iter()
            .filter_map(|c| c.field.as_deref().map(str::to_owned))
            .collect();
        assert_eq!(fields, ["spec.keep"], "{what}: {e}");
        assert_eq!(e.causes()[0].reason.as_deref(), Some("FieldValueInvalid"));
    };

    let none_kept = backup("none-kept", 0);
    assert!(!none_kept.validate().is_valid());
    expect_invalid(
        backups.create(&none_kept, &CreateOptions::default()).await,
        "create keep 0",
    );
    let stored = backups
        .create(&backup("nightly", 7), &CreateOptions::default())
        .await
        .unwrap();
    let mut zero = stored.clone();
    zero.spec.as_mut().unwrap().keep = Some(0);
    expect_invalid(
        backups.update(&zero, &UpdateOptions::default()).await,
        "update to keep 0",
    );
    expect_invalid(
        backups
            .patch(
                "nightly",
                &Patch::Merge(json!({"spec": {"keep": 0}})),
                &PatchOptions::default(),
            )
            .await,
        "patch to keep 0",
    );
    let kept = backups
        .patch(
            "nightly",
            &Patch::Merge(json!({"spec": {"keep": 3}})),
            &PatchOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(kept.spec.unwrap().keep, Some(3));
}

/// Ratcheting: an object stored before its CRD's schema tightened can still
/// be updated elsewhere; changing the refused value to another refused one
/// is an error, and a create is checked whole. `validate_update` and
/// `validate` give the server's verdicts.
#[tokio::test]
async fn updates_are_ratcheted_as_the_server_ratchets_them() {
    const NAME: &str = "ratchets.validation.kubegen.test";
    let crd = |max_length: Option<u64>| {
        let mut name = json!({"type": "string"});
        if let Some(m) = max_length {
            name["maxLength"] = json!(m);
            name["x-kubernetes-validations"] = json!([{"rule": "self != 'no'"}]);
        }
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": NAME},
            "spec": {
                "group": "validation.kubegen.test",
                "names": {"kind": "Ratchet", "plural": "ratchets", "singular": "ratchet", "listKind": "RatchetList"},
                "scope": "Namespaced",
                "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {"type": "object", "properties": {
                        "name": name, "count": {"type": "integer"}
                    }}}
                }}}]
            }
        })
    };
    let rest = admin();
    apply_crd(&rest, NAME, &crd(None), "kubegen-e2e-validation").await;
    let ns = test_namespace(&rest, "ratchet").await;
    let collection = format!("/apis/validation.kubegen.test/v1/namespaces/{ns}/ratchets");
    let body = json!({"apiVersion": "validation.kubegen.test/v1", "kind": "Ratchet",
        "metadata": {"name": "r"}, "spec": {"name": "much-too-long", "count": 1}});
    // The CRD's handler may lag a moment behind Established.
    let mut stored = send(&rest, http::Method::POST, &collection, Some(&body)).await;
    for _ in 0..40 {
        match &stored {
            Err(e) if e.is_not_found() => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                stored = send(&rest, http::Method::POST, &collection, Some(&body)).await;
            }
            _ => break,
        }
    }
    let stored = stored.unwrap();

    // The schema tightens: at most 5 characters, and a rule.
    let tight = crd(Some(5));
    apply_crd(&rest, NAME, &tight, "kubegen-e2e-validation").await;
    let schema = Schema::from_value(&tight["spec"]["versions"][0]["schema"]["openAPIV3Schema"]);
    let path = format!("{collection}/r");
    let with = |name: &str, count: i64| {
        let mut b = stored.clone();
        b["spec"] = json!({"name": name, "count": count});
        b
    };
    let other = with("much-too-long", 2);
    // The server takes the new schema a moment after the CRD changes.
    let mut created = BTreeSet::new();
    for _ in 0..40 {
        let mut fresh = body.clone();
        fresh["metadata"]["name"] = json!("r-fresh");
        created = server_causes(&dry_run(&rest, http::Method::POST, &collection, &fresh).await);
        if !created.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(
        created,
        report_verdict(&schema.validate(&body)),
        "a create is checked whole"
    );
    assert!(!created.is_empty());
    let mut disagreements = Vec::new();
    for (case, new) in [
        ("another field changed", other),
        (
            "the refused value changed to another",
            with("still-too-long", 1),
        ),
        (
            "the refused value changed to one the rule refuses",
            with("no", 1),
        ),
        ("the refused value mended", with("ok", 1)),
    ] {
        let server = server_causes(&dry_run(&rest, http::Method::PUT, &path, &new).await);
        let ours = report_verdict(&schema.validate_update(&new, &stored));
        println!("{case}: server {server:?}");
        if server != ours {
            disagreements.push(format!(
                "{case}: server {server:?}, validate_update() {ours:?}"
            ));
        }
    }
    drop_namespace(&rest, &ns).await;
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
