//! Which optional fields are boxed to keep cached objects small.
//!
//! Rust stores an `Option<Struct>` inline: an absent `Probe` or
//! `AWSElasticBlockStoreVolumeSource` still takes its full size. A Pod's
//! containers and volumes are mostly absent optional structs, so inline they
//! cost kilobytes per object; Go's pointers cost a word each. An optional
//! field whose struct is larger than [`BOX_ABOVE_WORDS`] words is therefore
//! boxed (`Option<Arc<T>>`, one word when absent; decoding shares it with an
//! equal value decoded recently). A kind's own fields (`spec`, `status`) stay
//! inline: nearly every object has them, so a box would only add an allocation.
//!
//! Sizes are estimates in machine words from the shapes alone (a `String`,
//! `Vec` or map is three words, a scalar one), enough to tell large from small
//! and the same on every run.

use std::collections::BTreeMap;

use super::{Shape, TypeDef, TypeId, TypeKind};

/// Optional struct fields estimated larger than this many words are boxed.
const BOX_ABOVE_WORDS: usize = 4;

/// Words a container (`String`, `Vec`, `BTreeMap`) takes inline.
const CONTAINER_WORDS: usize = 3;

/// Inline size of the hand-written runtime types, in words.
fn runtime_words(name: &str) -> usize {
    match name {
        "ObjectMeta" => 40,
        "ListMeta" => 10,
        "Time" | "MicroTime" => 2,
        "RawExtension" => 4,
        _ => CONTAINER_WORDS,
    }
}

/// Marks large optional struct fields as boxed. Runs after the cycle pass, so
/// every remaining by-value edge ends.
pub(crate) fn box_large_optional_fields(types: &mut BTreeMap<TypeId, TypeDef>) {
    let mut memo = BTreeMap::new();
    let mut to_box: Vec<(TypeId, usize)> = Vec::new();
    for (id, t) in types.iter() {
        let TypeKind::Struct(s) = &t.kind else {
            continue;
        };
        if !t.gvks.is_empty() {
            continue;
        }
        for (i, f) in s.fields.iter().enumerate() {
            if f.required || f.boxed {
                continue;
            }
            if let Shape::Ref(target) = &f.shape
                && matches!(
                    types.get(target).map(|t| &t.kind),
                    Some(TypeKind::Struct(_))
                )
                && type_words(types, target, &mut memo) > BOX_ABOVE_WORDS
            {
                to_box.push((id.clone(), i));
            }
        }
    }
    super::cycles::set_boxed(types, to_box);
}

fn type_words(
    types: &BTreeMap<TypeId, TypeDef>,
    id: &str,
    memo: &mut BTreeMap<TypeId, usize>,
) -> usize {
    if let Some(&w) = memo.get(id) {
        return w;
    }
    let words = match types.get(id).map(|t| &t.kind) {
        Some(TypeKind::Struct(s)) => s
            .fields
            .iter()
            .map(|f| {
                if f.boxed {
                    1
                } else {
                    shape_words(types, &f.shape, memo)
                }
            })
            .sum::<usize>()
            .max(1),
        Some(TypeKind::Alias(shape)) => shape_words(types, shape, memo),
        Some(TypeKind::Runtime(name)) => runtime_words(name),
        None => CONTAINER_WORDS,
    };
    memo.insert(id.to_owned(), words);
    words
}

fn shape_words(
    types: &BTreeMap<TypeId, TypeDef>,
    shape: &Shape,
    memo: &mut BTreeMap<TypeId, usize>,
) -> usize {
    match shape {
        Shape::Bool | Shape::I32 | Shape::I64 | Shape::F64 => 1,
        Shape::String | Shape::Array(_) | Shape::Map(_) => CONTAINER_WORDS,
        Shape::Any => 4,
        Shape::Ref(r) => type_words(types, r, memo),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Field, SchemaFacts, StructDef};

    fn field(name: &str, shape: Shape, required: bool) -> Field {
        Field {
            json_name: name.into(),
            description: None,
            required,
            shape,
            boxed: false,
            facts: SchemaFacts::default(),
        }
    }

    fn def(id: &str, kind_of_api: bool, fields: Vec<Field>) -> (TypeId, TypeDef) {
        let t = TypeDef {
            id: id.into(),
            module: crate::model::ModuleId(vec!["v1".into()]),
            name: id.into(),
            description: None,
            gvks: if kind_of_api {
                vec![crate::spec::Gvk {
                    group: String::new(),
                    version: "v1".into(),
                    kind: id.into(),
                }]
            } else {
                Vec::new()
            },
            kind: TypeKind::Struct(Box::new(StructDef {
                fields,
                facts: SchemaFacts::default(),
            })),
            location: crate::error::Location::default(),
            defaultable: true,
            external: false,
        };
        (id.into(), t)
    }

    fn boxed(types: &BTreeMap<TypeId, TypeDef>, id: &str, field: &str) -> bool {
        match &types[id].kind {
            TypeKind::Struct(s) => {
                s.fields
                    .iter()
                    .find(|f| f.json_name == field)
                    .unwrap()
                    .boxed
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn large_optional_structs_are_boxed_small_required_and_kind_fields_are_not() {
        let big = || Shape::Ref("Big".into());
        let mut types: BTreeMap<_, _> = [
            def("Small", false, vec![field("name", Shape::String, false)]),
            def(
                "Big",
                false,
                vec![
                    field("a", Shape::String, false),
                    field("b", Shape::String, false),
                ],
            ),
            def(
                "Holder",
                false,
                vec![
                    field("optionalBig", big(), false),
                    field("requiredBig", big(), true),
                    field("small", Shape::Ref("Small".into()), false),
                    field("list", Shape::Array(Box::new(big())), false),
                ],
            ),
            def("Kind", true, vec![field("spec", big(), false)]),
        ]
        .into_iter()
        .collect();
        box_large_optional_fields(&mut types);
        assert!(boxed(&types, "Holder", "optionalBig"));
        assert!(!boxed(&types, "Holder", "requiredBig"));
        assert!(!boxed(&types, "Holder", "small"));
        assert!(!boxed(&types, "Holder", "list"));
        assert!(!boxed(&types, "Kind", "spec"));
    }
}
