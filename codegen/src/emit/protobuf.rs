//! Protobuf for the types the `.proto` files describe: an
//! `impl kubegen_core::proto::Message` per struct, decoding into and encoding
//! from the same struct JSON uses.
//!
//! A type gets protobuf when its message exists, every field of the model
//! has a protobuf field of a matching type (apiVersion and kind of a kind
//! excepted: they travel in the envelope), and every struct it holds gets
//! protobuf too. Anything else stays JSON-only, whole: a cluster newer than
//! the .proto files still decodes through JSON rather than losing a field.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::names::{field_names, ident};
use crate::model::{Model, OBJECT_META, RUNTIME_WITHOUT_DEFAULT, Shape, TypeDef, TypeId, TypeKind};
use crate::spec::proto::{ProtoField, ProtoSchema, ProtoType};

/// How one field is read and written.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldPlan {
    number: u32,
    /// `one`, `required`, `opt`, `nonzero`, `empty`, `list`, `opt_list`,
    /// `map`, `opt_map` (see `kubegen_core::proto_message!`).
    form: &'static str,
    /// A codec of `kubegen_core::proto`.
    codec: &'static str,
}

/// Where a field of the struct sits in the message.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Slot {
    /// The struct's field `index`.
    Field { index: usize, plan: FieldPlan },
    /// A message field holding fields of the struct: a Go embedded struct,
    /// inline in JSON (`Probe`'s `ProbeHandler`, a reference's
    /// `LocalObjectReference`), a message of its own in protobuf.
    Embedded {
        number: u32,
        name: String,
        slots: Vec<Slot>,
    },
}

/// The protobuf plan of every type that gets protobuf: its message name and
/// its fields' slots (fields in no slot, apiVersion and kind, decode as unset).
#[derive(Debug, Default)]
pub(crate) struct ProtoPlan {
    types: BTreeMap<TypeId, (String, Vec<Slot>)>,
}

/// The protobuf message of an OpenAPI definition: `io.k8s.api.core.v1.Pod`
/// is `k8s.io.api.core.v1.Pod`.
fn message_name(id: &str) -> Option<String> {
    id.strip_prefix("io.k8s.")
        .map(|rest| format!("k8s.io.{rest}"))
}

impl ProtoPlan {
    /// Plans every type of `model` that `schema` describes.
    pub(crate) fn new(model: &Model, schema: &ProtoSchema) -> Self {
        let mut candidates: BTreeSet<&TypeId> = model
            .types
            .values()
            .filter(|t| {
                t.emitted()
                    && matches!(&t.kind, TypeKind::Struct(s) if !s.facts.preserve_unknown_fields)
            })
            .filter(|t| message_name(&t.id).is_some_and(|m| schema.messages.contains_key(&m)))
            .map(|t| &t.id)
            .collect();
        // Drop types until every remaining one only holds types that remain.
        loop {
            let mut plan = Self::default();
            for id in &candidates {
                let t = &model.types[*id];
                if let Some(slots) = plan_type(model, schema, t, &candidates) {
                    let message = message_name(id).unwrap_or_default();
                    plan.types.insert((*id).clone(), (message, slots));
                }
            }
            if plan.types.len() == candidates.len() {
                return plan;
            }
            candidates.retain(|id| plan.types.contains_key(*id));
        }
    }

    /// Whether `id` gets protobuf.
    pub(crate) fn has(&self, id: &TypeId) -> bool {
        self.types.contains_key(id)
    }

    /// The `impl kubegen_core::proto::Message` of `t`, if it gets protobuf.
    pub(crate) fn emit(&self, t: &TypeDef) -> Option<TokenStream> {
        let (message, slots) = self.types.get(&t.id)?;
        let TypeKind::Struct(s) = &t.kind else {
            return None;
        };
        let name = ident(&t.name);
        let names = field_names(&s.fields);
        let mut plans: BTreeMap<usize, &FieldPlan> = BTreeMap::new();
        collect_fields(slots, &mut plans);
        let mut locals = Vec::new();
        let mut inits = Vec::new();
        for (i, (f, n)) in s.fields.iter().zip(&names).enumerate() {
            let field = ident(n);
            let Some(plan) = plans.get(&i) else {
                inits.push(quote! { #field: None, });
                continue;
            };
            let var = ident(&format!("f{i}"));
            let json = &f.json_name;
            locals.push(if plan.form == "required" {
                quote! { let mut #var = None; }
            } else {
                quote! { let mut #var = Default::default(); }
            });
            inits.push(match plan.form {
                "required" => {
                    quote! { #field: pb::required(#var, #message, #json)?, }
                }
                "list" | "opt_list" | "map" | "opt_map" => {
                    quote! { #field: pb::trimmed(#var), }
                }
                _ => quote! { #field: #var, },
            });
        }
        let ctx = Ctx {
            fields: &s.fields,
            names: &names,
        };
        let arms = ctx.arms(slots);
        let encodes = ctx.encodes(slots);
        let len = ctx.len(slots);
        let doc = format!(" Protobuf: `{message}`.");
        let use_pb = (!slots.is_empty()).then(|| quote! { use kubegen_core::proto as pb; });
        Some(quote! {
            #[doc = #doc]
            impl kubegen_core::proto::Message for #name {
                fn decode_fields(mut buf: &[u8], depth: u32) -> Result<Self, kubegen_core::proto::DecodeError> {
                    use kubegen_core::proto as pb;
                    #( #locals )*
                    while !buf.is_empty() {
                        let (tag, wire) = pb::key(&mut buf)?;
                        match tag {
                            #( #arms )*
                            _ => pb::skip(wire, tag, &mut buf)?,
                        }
                    }
                    Ok(Self { #( #inits )* })
                }
                fn encode_fields(&self, buf: &mut Vec<u8>) {
                    #use_pb
                    #( #encodes )*
                }
                fn fields_len(&self) -> usize {
                    #use_pb
                    #len
                }
            }
        })
    }
}

fn collect_fields<'a>(slots: &'a [Slot], out: &mut BTreeMap<usize, &'a FieldPlan>) {
    for slot in slots {
        match slot {
            Slot::Field { index, plan } => {
                out.insert(*index, plan);
            }
            Slot::Embedded { slots, .. } => collect_fields(slots, out),
        }
    }
}

/// The struct being emitted, for the recursive parts of its impl.
struct Ctx<'a> {
    fields: &'a [crate::model::Field],
    names: &'a [String],
}

impl Ctx<'_> {
    /// `match` arms reading `slots` into the locals `f{index}`; an embedded
    /// message reads its fields into the same locals.
    fn arms(&self, slots: &[Slot]) -> Vec<TokenStream> {
        slots
            .iter()
            .map(|slot| match slot {
                Slot::Field { index, plan } => {
                    let var = ident(&format!("f{index}"));
                    let json = &self.fields[*index].json_name;
                    let number = Literal::u32_unsuffixed(plan.number);
                    let codec = ident(plan.codec);
                    let (merge, tag) = match plan.form {
                        "one" => (quote! { one::merge }, None),
                        "required" | "opt" | "empty" => (quote! { opt::merge }, None),
                        "nonzero" => (quote! { opt::merge_nonzero }, None),
                        form => {
                            // Lists and maps are sized by their field's count.
                            let form = ident(form);
                            (quote! { #form::merge }, Some(quote! { #number, }))
                        }
                    };
                    quote! {
                        #number => pb::#merge::<pb::#codec, _>(&mut #var, #tag wire, &mut buf, depth, #json)?,
                    }
                }
                Slot::Embedded { number, name, slots } => {
                    let number = Literal::u32_unsuffixed(*number);
                    let arms = self.arms(slots);
                    quote! {
                        #number => {
                            let mut buf = pb::embedded(wire, &mut buf, #name)?;
                            while !buf.is_empty() {
                                let (tag, wire) = pb::key(&mut buf)?;
                                match tag {
                                    #( #arms )*
                                    _ => pb::skip(wire, tag, &mut buf)?,
                                }
                            }
                        }
                    }
                }
            })
            .collect()
    }

    /// The module and the names of the functions writing a field.
    fn write_form(plan: &FieldPlan) -> (TokenStream, TokenStream, TokenStream) {
        match plan.form {
            "required" => (quote! { one }, quote! { encode }, quote! { len }),
            // Unset is written as zero, as Go writes a non-pointer field.
            "nonzero" => (
                quote! { opt },
                quote! { encode_nonzero },
                quote! { len_nonzero },
            ),
            "empty" => (
                quote! { opt },
                quote! { encode_or_empty },
                quote! { len_or_empty },
            ),
            form => {
                let form = ident(form);
                (quote! { #form }, quote! { encode }, quote! { len })
            }
        }
    }

    /// Statements writing `slots` (an embedded message always, as Go does).
    fn encodes(&self, slots: &[Slot]) -> Vec<TokenStream> {
        slots
            .iter()
            .map(|slot| match slot {
                Slot::Field { index, plan } => {
                    let field = ident(&self.names[*index]);
                    let number = Literal::u32_unsuffixed(plan.number);
                    let codec = ident(plan.codec);
                    let (form, encode, _) = Self::write_form(plan);
                    quote! { pb::#form::#encode::<pb::#codec, _>(&self.#field, #number, buf); }
                }
                Slot::Embedded { number, slots, .. } => {
                    let number = Literal::u32_unsuffixed(*number);
                    let len = self.len(slots);
                    let encodes = self.encodes(slots);
                    quote! {
                        pb::embedded_header(#number, #len, buf);
                        #( #encodes )*
                    }
                }
            })
            .collect()
    }

    /// The length `encodes` writes.
    fn len(&self, slots: &[Slot]) -> TokenStream {
        let mut parts = slots.iter().map(|slot| match slot {
            Slot::Field { index, plan } => {
                let field = ident(&self.names[*index]);
                let number = Literal::u32_unsuffixed(plan.number);
                let codec = ident(plan.codec);
                let (form, _, len) = Self::write_form(plan);
                quote! { pb::#form::#len::<pb::#codec, _>(&self.#field, #number) }
            }
            Slot::Embedded { number, slots, .. } => {
                let number = Literal::u32_unsuffixed(*number);
                let len = self.len(slots);
                quote! { pb::embedded_len(#number, #len) }
            }
        });
        match parts.next() {
            Some(first) => quote! { #first #( + #parts )* },
            None => quote! { 0 },
        }
    }
}

/// Plans every field of `t`, or `None` if one cannot travel in protobuf.
fn plan_type(
    model: &Model,
    schema: &ProtoSchema,
    t: &TypeDef,
    ok: &BTreeSet<&TypeId>,
) -> Option<Vec<Slot>> {
    let TypeKind::Struct(s) = &t.kind else {
        return None;
    };
    let message = message_name(&t.id)?;
    let kind = !t.gvks.is_empty();
    let json_names: BTreeSet<String> = s
        .fields
        .iter()
        .map(|f| f.json_name.to_lowercase())
        .collect();
    let mut slots = Vec::new();
    for (index, f) in s.fields.iter().enumerate() {
        let Some(found) = locate(schema, &message, &f.json_name, &json_names) else {
            // apiVersion and kind travel in the envelope.
            if kind && matches!(f.json_name.as_str(), "apiVersion" | "kind") {
                continue;
            }
            return None;
        };
        let presence = Presence {
            // A kind's metadata is not optional in Rust (see types.rs).
            required: f.required
                || (super::types::is_object(t)
                    && f.json_name == "metadata"
                    && matches!(&f.shape, Shape::Ref(r) if r == OBJECT_META)),
            boxed: f.boxed,
            zero_is_unset: schema
                .zero_is_unset
                .contains(&(found.owner.to_owned(), found.name.to_owned())),
        };
        let plan = plan_field(model, schema, &f.shape, presence, found.field, ok)?;
        let path = found.path;
        insert_slot(&mut slots, &path, Slot::Field { index, plan });
    }
    sort_slots(&mut slots);
    Some(slots)
}

/// Field-number order, as Go writes a message.
fn sort_slots(slots: &mut [Slot]) {
    slots.sort_by_key(|s| match s {
        Slot::Field { plan, .. } => plan.number,
        Slot::Embedded { number, .. } => *number,
    });
    for s in slots {
        if let Slot::Embedded { slots, .. } = s {
            sort_slots(slots);
        }
    }
}

/// Finds the protobuf field of JSON property `json` in `message`: by name
/// (go-to-protobuf names fields after the JSON name, a few with other
/// capitals: `uID`, `Expression`), else inside an embedded message (a
/// message field no JSON property names). Returns the embedded fields on the
/// way, the field and the message that holds it.
fn locate<'a>(
    schema: &'a ProtoSchema,
    message: &'a str,
    json: &str,
    json_names: &BTreeSet<String>,
) -> Option<Located<'a>> {
    let (owner, fields) = schema.messages.get_key_value(message)?;
    if let Some((name, field)) = fields
        .get_key_value(json)
        .or_else(|| fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(json)))
    {
        return Some(Located {
            path: Vec::new(),
            name,
            field,
            owner,
        });
    }
    fields.iter().find_map(|(name, pf)| match &pf.ty {
        ProtoType::Message(inner) if !pf.repeated && !json_names.contains(&name.to_lowercase()) => {
            let mut found = locate(schema, inner, json, json_names)?;
            found.path.insert(0, (pf.number, name.clone()));
            Some(found)
        }
        _ => None,
    })
}

/// Where [`locate`] found a field.
struct Located<'a> {
    /// The embedded message fields on the way: number and name.
    path: Vec<(u32, String)>,
    /// The field's name in its message.
    name: &'a str,
    field: &'a ProtoField,
    /// The message holding it.
    owner: &'a str,
}

/// What decides a field's form besides its shape.
#[derive(Clone, Copy)]
struct Presence {
    required: bool,
    boxed: bool,
    /// Listed in `presence.tsv`: zero read from protobuf means unset.
    zero_is_unset: bool,
}

fn insert_slot(slots: &mut Vec<Slot>, path: &[(u32, String)], slot: Slot) {
    let Some(((number, name), rest)) = path.split_first() else {
        slots.push(slot);
        return;
    };
    let pos = slots
        .iter()
        .position(|s| matches!(s, Slot::Embedded { number: n, .. } if n == number));
    let pos = pos.unwrap_or_else(|| {
        slots.push(Slot::Embedded {
            number: *number,
            name: name.clone(),
            slots: Vec::new(),
        });
        slots.len() - 1
    });
    if let Slot::Embedded { slots, .. } = &mut slots[pos] {
        insert_slot(slots, rest, slot);
    }
}

/// Follows aliases to the shape they name.
fn resolve<'a>(model: &'a Model, shape: &'a Shape) -> &'a Shape {
    match shape {
        Shape::Ref(id) => match model.types.get(id).map(|t| &t.kind) {
            Some(TypeKind::Alias(s)) => resolve(model, s),
            _ => shape,
        },
        _ => shape,
    }
}

fn plan_field(
    model: &Model,
    schema: &ProtoSchema,
    shape: &Shape,
    presence: Presence,
    pf: &ProtoField,
    ok: &BTreeSet<&TypeId>,
) -> Option<FieldPlan> {
    let Presence {
        required,
        boxed,
        zero_is_unset,
    } = presence;
    let shape = resolve(model, shape);
    let number = pf.number;
    let plan = |form, codec| {
        Some(FieldPlan {
            number,
            form,
            codec,
        })
    };
    match (shape, &pf.ty) {
        (Shape::Array(item), _) if pf.repeated => {
            let codec = value_codec(model, schema, item, &pf.ty, ok)?;
            plan(if required { "list" } else { "opt_list" }, codec)
        }
        (Shape::Map(value), ProtoType::Map(v)) => {
            let codec = value_codec(model, schema, value, v, ok)?;
            plan(if required { "map" } else { "opt_map" }, codec)
        }
        _ if pf.repeated => None,
        _ => {
            let mut codec = value_codec(model, schema, shape, &pf.ty, ok)?;
            if boxed {
                if codec != "Msg" {
                    return None;
                }
                codec = "Shared";
            }
            let form = if required {
                if boxed || !defaultable(model, shape) {
                    "required"
                } else {
                    "one"
                }
            } else if zero_is_unset
                && (is_scalar(shape) || (codec == "Msg" && defaultable(model, shape)))
            {
                "nonzero"
            } else if zero_is_unset && codec == "Msg" {
                // A Time: Go writes its zero as an empty message.
                "empty"
            } else {
                "opt"
            };
            plan(form, codec)
        }
    }
}

fn is_scalar(shape: &Shape) -> bool {
    matches!(
        shape,
        Shape::Bool | Shape::I32 | Shape::I64 | Shape::F64 | Shape::String
    )
}

/// Whether the Rust type of `shape` implements `Default`.
fn defaultable(model: &Model, shape: &Shape) -> bool {
    match shape {
        Shape::Ref(id) => model.types.get(id).is_some_and(|t| match t.kind {
            TypeKind::Runtime(rt) => !RUNTIME_WITHOUT_DEFAULT.contains(&rt),
            _ => t.defaultable,
        }),
        _ => true,
    }
}

/// The codec of one value of `shape` sent as `ty`.
fn value_codec(
    model: &Model,
    schema: &ProtoSchema,
    shape: &Shape,
    ty: &ProtoType,
    ok: &BTreeSet<&TypeId>,
) -> Option<&'static str> {
    let shape = resolve(model, shape);
    Some(match (shape, ty) {
        (Shape::Bool, ProtoType::Scalar("bool")) => "Bool",
        (Shape::I32, ProtoType::Scalar("int32")) => "Int32",
        (Shape::I64, ProtoType::Scalar("int64")) => "Int64",
        (Shape::F64, ProtoType::Scalar("double")) => "Double",
        (Shape::String, ProtoType::Scalar("string")) => "Str",
        (Shape::String, ProtoType::Scalar("bytes")) => "Base64",
        (Shape::Any, ProtoType::Scalar("bytes")) => "JsonBytes",
        // Go's named string slices (`Verbs`, `ExtraValue`) are messages.
        (Shape::Array(item), ProtoType::Message(m))
            if matches!(resolve(model, item), Shape::String) && schema.is_string_list(m) =>
        {
            "Items"
        }
        (Shape::Ref(id), ProtoType::Message(m)) => {
            let t = model.types.get(id)?;
            match t.kind {
                // The runtime's meta types implement Message by hand; the
                // message must be the one they speak.
                TypeKind::Runtime(_) if message_name(id).as_deref() == Some(m) => "Msg",
                TypeKind::Struct(_) if ok.contains(id) => "Msg",
                _ => return None,
            }
        }
        // Go's empty structs; the model keeps them as free-form JSON.
        (Shape::Any, ProtoType::Message(m))
            if schema.messages.get(m).is_some_and(|f| f.is_empty()) =>
        {
            "Empty"
        }
        _ => return None,
    })
}
