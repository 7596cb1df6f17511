//! The well-known apimachinery types are written by hand in
//! `kubegen_core::meta` and mapped, not generated. This test keeps them
//! from drifting from the spec: for each, a JSON object with every property
//! the spec defines (sample values built from the spec's own schema) must
//! survive a decode/encode through the runtime type unchanged, so a missing,
//! misnamed or mistyped field fails here.

mod common;

use serde_json::{Map, Value, json};

fn sample(spec: &Value, schema: &Value, depth: usize) -> Value {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        return sample(spec, &spec["definitions"][name], depth + 1);
    }
    match (
        schema.get("type").and_then(Value::as_str),
        schema.get("format").and_then(Value::as_str),
    ) {
        (Some("string"), Some("date-time")) => json!("2024-05-06T07:08:09Z"),
        (Some("string"), Some("int-or-string")) => json!("25%"),
        (Some("string"), _) => json!("x"),
        (Some("integer"), _) => json!(3),
        (Some("number"), _) => json!(1.5),
        (Some("boolean"), _) => json!(true),
        (Some("array"), _) => match schema.get("items") {
            Some(i) if depth < 8 => json!([sample(spec, i, depth + 1)]),
            _ => json!([]),
        },
        _ => match schema.get("properties").and_then(Value::as_object) {
            Some(props) if depth < 8 => Value::Object(
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), sample(spec, v, depth + 1)))
                    .collect::<Map<_, _>>(),
            ),
            _ => match schema.get("additionalProperties") {
                Some(ap) if depth < 8 => json!({ "k": sample(spec, ap, depth + 1) }),
                // Free-form objects (FieldsV1, RawExtension): any JSON.
                _ => json!({"f:a": {}}),
            },
        },
    }
}

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(spec: &Value, def: &str) {
    let schema = &spec["definitions"][def];
    assert!(schema.is_object(), "{def} is not in the spec any more");
    let want = sample(spec, schema, 0);
    let typed: T =
        serde_json::from_value(want.clone()).unwrap_or_else(|e| panic!("{def}: {e}\n{want:#}"));
    let got = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        got, want,
        "kubegen_core::meta type for {def} does not match the spec"
    );
}

#[test]
fn runtime_meta_types_match_the_spec_definitions() {
    let text = std::fs::read_to_string(common::v137_swagger()).unwrap();
    let spec: Value = serde_json::from_str(&text).unwrap();
    use kubegen_core::meta::*;
    let p = "io.k8s.apimachinery.pkg.apis.meta.v1.";
    round_trip::<ObjectMeta>(&spec, &format!("{p}ObjectMeta"));
    round_trip::<ListMeta>(&spec, &format!("{p}ListMeta"));
    round_trip::<ShardInfo>(&spec, &format!("{p}ShardInfo"));
    round_trip::<OwnerReference>(&spec, &format!("{p}OwnerReference"));
    round_trip::<ManagedFieldsEntry>(&spec, &format!("{p}ManagedFieldsEntry"));
    round_trip::<FieldsV1>(&spec, &format!("{p}FieldsV1"));
    round_trip::<Status>(&spec, &format!("{p}Status"));
    round_trip::<StatusDetails>(&spec, &format!("{p}StatusDetails"));
    round_trip::<StatusCause>(&spec, &format!("{p}StatusCause"));
    round_trip::<Time>(&spec, &format!("{p}Time"));
    round_trip::<Quantity>(&spec, "io.k8s.apimachinery.pkg.api.resource.Quantity");
    round_trip::<IntOrString>(&spec, "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
    round_trip::<RawExtension>(&spec, "io.k8s.apimachinery.pkg.runtime.RawExtension");
    // MicroTime always writes six fraction digits, as the server does.
    let t: MicroTime = serde_json::from_value(json!("2024-05-06T07:08:09.123456Z")).unwrap();
    assert_eq!(
        serde_json::to_value(t).unwrap(),
        json!("2024-05-06T07:08:09.123456Z")
    );
    assert_eq!(
        spec["definitions"][format!("{p}MicroTime")]["format"],
        json!("date-time")
    );
}

#[test]
fn every_mapped_definition_exists_in_the_spec() {
    let text = std::fs::read_to_string(common::v137_swagger()).unwrap();
    let spec: Value = serde_json::from_str(&text).unwrap();
    for (def, _) in kubegen::model::RUNTIME_TYPES {
        assert!(
            spec["definitions"][def].is_object(),
            "{def} is mapped but not in the spec"
        );
    }
}
