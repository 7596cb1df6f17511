//! Property tests: the loaders and the model builder never panic, whatever
//! bytes or JSON they get; they return a value or an error. And whatever
//! names a CRD or an OpenAPI document holds (kinds, plurals, groups,
//! versions, definitions, properties), emitting never panics and every
//! emitted file parses as Rust.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![
            "object",
            "array",
            "string",
            "integer",
            "int32",
            "int-or-string",
            "#/definitions/io.x.v1.A",
            "#/components/schemas/io.x.v1.B",
            "io.x.v1.A",
            "get",
            "list",
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "Namespaced",
            "v1",
            "",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "swagger",
                    "openapi",
                    "definitions",
                    "components",
                    "schemas",
                    "paths",
                    "type",
                    "properties",
                    "items",
                    "$ref",
                    "allOf",
                    "required",
                    "additionalProperties",
                    "format",
                    "x-kubernetes-int-or-string",
                    "x-kubernetes-group-version-kind",
                    "x-kubernetes-action",
                    "apiVersion",
                    "kind",
                    "metadata",
                    "name",
                    "spec",
                    "group",
                    "names",
                    "plural",
                    "scope",
                    "versions",
                    "served",
                    "schema",
                    "openAPIV3Schema",
                    "subresources",
                    "status",
                    "scale",
                    "io.x.v1.A",
                    "io.x.v1.B",
                    "/api/v1/namespaces/{namespace}/pods/{name}",
                    "get",
                ])
                .prop_map(str::to_owned),
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn openapi_loader_and_model_never_panic(doc in arb_json()) {
        let path = std::path::Path::new("fuzz.json");
        if let Ok(d) = kubegen::spec::OpenApiDoc::from_value(path, doc) {
            let _ = kubegen::model::build(&[d], &[], &kubegen::model::BuildOptions::default(), &mut kubegen::Diagnostics::default());
        }
    }

    #[test]
    fn crd_loader_and_model_never_panic(doc in arb_json()) {
        let path = std::path::Path::new("fuzz.yaml");
        let mut loc = kubegen::Location::new(path, "");
        loc.document = Some(0);
        if let Ok(crd) = kubegen::spec::crd::crd_from_value(doc, &loc) {
            let _ = kubegen::model::build(&[], &[crd], &kubegen::model::BuildOptions::default(), &mut kubegen::Diagnostics::new(kubegen::Policy::KeepGoing));
        }
    }

    #[test]
    fn yaml_text_never_panics(text in "[\\PC\\n:\\-\\[\\]{} ]{0,200}") {
        let _ = kubegen::spec::crd::parse_str(std::path::Path::new("fuzz.yaml"), &text);
    }

    #[test]
    fn json_bytes_never_panic(text in "[\\PC]{0,200}") {
        let path = std::path::Path::new("fuzz.json");
        if let Ok(v) = kubegen::spec::parse_json(path, &text) {
            let _ = kubegen::spec::OpenApiDoc::from_value(path, v);
        }
    }
}

/// Names: what the API server accepts for kinds, plurals and versions, and
/// anything else a schema may hold.
fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]([-a-z0-9]{0,8}[a-z0-9])?",
        "[A-Z][-a-zA-Z0-9]{0,8}",
        "[a-zA-Z0-9_$ .-]{0,10}",
        "\\PC{0,6}",
        prop::sample::select(vec![
            "type",
            "self",
            "Self",
            "crate",
            "ref",
            "_",
            "",
            "2fa-code",
            "fooBar",
            "foo_bar",
            "foo-bar",
            "mod",
            "client",
            "informers",
            "clientset",
            "default",
            "new",
            "rest",
            "start",
            "factory",
            "metadata",
            "kind",
            "apiVersion",
            "additional_properties",
            "String",
            "Option",
            "v1",
            "v1-beta",
            "Foo-Bar",
            "foo-bars",
            "status",
            "spec",
        ])
        .prop_map(str::to_owned),
    ]
}

fn arb_schema() -> impl Strategy<Value = Value> {
    let leaf = prop::sample::select(vec![
        json!({"type": "string"}),
        json!({"type": "integer", "format": "int32"}),
        json!({"type": "boolean"}),
        json!({}),
        json!({"x-kubernetes-int-or-string": true}),
        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
    ]);
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::btree_map(arb_name(), inner.clone(), 1..4)
                .prop_map(|m| json!({"type": "object", "properties": m})),
            prop::collection::btree_map(arb_name(), inner.clone(), 1..3).prop_map(|m| {
                json!({"type": "object", "properties": m, "x-kubernetes-preserve-unknown-fields": true})
            }),
            inner
                .clone()
                .prop_map(|i| json!({"type": "array", "items": i, "x-kubernetes-list-type": "map"})),
            inner.prop_map(|i| json!({"type": "object", "additionalProperties": i})),
        ]
    })
}

fn arb_props() -> impl Strategy<Value = BTreeMap<String, Value>> {
    prop::collection::btree_map(arb_name(), arb_schema(), 0..5)
}

fn arb_group() -> impl Strategy<Value = String> {
    prop_oneof![
        arb_name(),
        arb_name().prop_map(|g| format!("{g}.example.com"))
    ]
}

fn arb_crd() -> impl Strategy<Value = Value> {
    (
        arb_group(),
        arb_name(),
        arb_name(),
        prop::collection::vec(arb_name(), 1..3),
        any::<bool>(),
        arb_props(),
    )
        .prop_map(|(group, kind, plural, versions, namespaced, props)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    json!({
                        "name": v, "served": true, "storage": true,
                        "subresources": {"status": {}},
                        "schema": {"openAPIV3Schema": {"type": "object", "properties": props}},
                    })
                })
                .collect();
            json!({
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("{plural}.{group}")},
                "spec": {
                    "group": group,
                    "scope": if namespaced { "Namespaced" } else { "Cluster" },
                    "names": {"kind": kind, "plural": plural},
                    "versions": versions,
                },
            })
        })
}

/// A Swagger 2.0 document of kinds with odd package, version, type, kind,
/// plural and property names, each served at a list and a patch path.
fn arb_openapi() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            arb_name(),
            prop_oneof![Just("v1".to_owned()), arb_name()],
            arb_name(),
            arb_group(),
            arb_name(),
            arb_name(),
            arb_props(),
        ),
        1..4,
    )
    .prop_map(|kinds| {
        let mut definitions = serde_json::Map::new();
        let mut paths = serde_json::Map::new();
        for (pkg, version, name, group, kind, plural, mut props) in kinds {
            let gvk = json!({"group": group, "version": version, "kind": kind});
            props.insert(
                "metadata".into(),
                json!({"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}),
            );
            props.insert("apiVersion".into(), json!({"type": "string"}));
            props.insert("kind".into(), json!({"type": "string"}));
            definitions.insert(
                format!("io.x.{pkg}.{version}.{name}"),
                json!({
                    "type": "object",
                    "properties": props,
                    "x-kubernetes-group-version-kind": [gvk],
                }),
            );
            let base = format!("/apis/{group}/{version}/namespaces/{{namespace}}/{plural}");
            paths.insert(
                base.clone(),
                json!({"get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": gvk}}),
            );
            paths.insert(
                format!("{base}/{{name}}"),
                json!({"patch": {"x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk}}),
            );
        }
        json!({"swagger": "2.0", "definitions": definitions, "paths": paths})
    })
}

/// Emits `model` (it must not fail) and parses every Rust file. First checks
/// that the model's names are identifiers already, unique per module, so the
/// emitters' last-resort repair of an invalid identifier is never what made
/// the output parse.
fn emit_and_parse(model: &kubegen::model::Model) -> Result<(), TestCaseError> {
    use kubegen::model::names_support::is_ident;
    let mut seen = std::collections::BTreeSet::new();
    let mut features = BTreeMap::new();
    for t in model.types.values().filter(|t| t.emitted()) {
        prop_assert!(is_ident(&t.name), "type name {:?} of {}", t.name, t.id);
        prop_assert!(
            t.module.0.iter().all(|m| is_ident(m)),
            "module {:?} of {}",
            t.module,
            t.id
        );
        prop_assert!(
            seen.insert((t.module.clone(), t.name.clone())),
            "two types {:?} in {:?}",
            t.name,
            t.module
        );
        let first = features
            .entry(t.module.feature())
            .or_insert_with(|| t.module.clone());
        prop_assert_eq!(&*first, &t.module, "one feature for two modules");
    }
    let files = kubegen::emit::emit(model, &kubegen::emit::EmitOptions::default())
        .map_err(|e| TestCaseError::fail(format!("emit failed: {e}")))?;
    for (path, text) in &files {
        if path.extension().is_some_and(|e| e == "rs") {
            syn::parse_file(text).map_err(|e| {
                TestCaseError::fail(format!("{} does not parse: {e}\n{text}", path.display()))
            })?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn crd_names_never_panic_and_emit_parses(crds in prop::collection::vec(arb_crd(), 1..4)) {
        let path = Path::new("fuzz.yaml");
        let crds: Vec<_> = crds
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let mut loc = kubegen::Location::new(path, "");
                loc.document = Some(i);
                kubegen::spec::crd::crd_from_value(v, &loc)
            })
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("not a CRD: {e}")))?;
        // Whatever the names, CRDs give a model (duplicates are skipped).
        let model = kubegen::model::build(
            &[],
            &crds,
            &kubegen::model::BuildOptions::default(),
            &mut kubegen::Diagnostics::new(kubegen::Policy::KeepGoing),
        )
        .map_err(|e| TestCaseError::fail(format!("build failed: {e}")))?;
        emit_and_parse(&model)?;
    }

    #[test]
    fn openapi_names_never_panic_and_emit_parses(doc in arb_openapi()) {
        let d = kubegen::spec::OpenApiDoc::from_value(Path::new("fuzz.json"), doc)
            .map_err(|e| TestCaseError::fail(format!("not a document: {e}")))?;
        // Two packages that join to one Cargo feature are a typed error;
        // anything that builds must emit.
        if let Ok(model) = kubegen::model::build(&[d], &[], &kubegen::model::BuildOptions::default(), &mut kubegen::Diagnostics::default()) {
            emit_and_parse(&model)?;
        }
    }
}
