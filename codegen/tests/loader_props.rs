//! Property tests: the loaders and the model builder never panic, whatever
//! bytes or JSON they get; they return a value or an error.

use proptest::prelude::*;
use serde_json::Value;

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
            let _ = kubegen::model::build(&[d], &[], &kubegen::model::BuildOptions::default());
        }
    }

    #[test]
    fn crd_loader_and_model_never_panic(doc in arb_json()) {
        let path = std::path::Path::new("fuzz.yaml");
        let mut loc = kubegen::Location::new(path, "");
        loc.document = Some(0);
        if let Ok(crd) = kubegen::spec::crd::crd_from_value(doc, &loc) {
            let _ = kubegen::model::build(&[], &[crd], &kubegen::model::BuildOptions { keep_going: true, ..Default::default() });
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
