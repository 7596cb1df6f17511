//! Merging structurally identical inline types.
//!
//! CRD schemas repeat themselves: a workflow CRD inlines the same container
//! schema dozens of times, and each copy would otherwise become its own
//! `...TemplatesContainer`, `...InitContainersContainer` type. Within one
//! module, inline types whose fields, shapes, facts and docs are identical
//! (after their own references are merged) become one type, named by the
//! shortest of their names. This is a fixpoint: merging leaves can make their
//! parents identical.
//!
//! Only inline types are merged (ids containing `/`); named OpenAPI
//! definitions and CRD root kinds keep their identity.

use std::collections::BTreeMap;

use super::{Shape, TypeDef, TypeId, TypeKind};

/// `shape` with its named type (see [`Shape::target`]) replaced by `f(id)`.
fn map_target(shape: &Shape, f: &impl Fn(&TypeId) -> TypeId) -> Shape {
    match shape {
        Shape::Ref(r) => Shape::Ref(f(r)),
        Shape::Array(i) => Shape::Array(Box::new(map_target(i, f))),
        Shape::Map(i) => Shape::Map(Box::new(map_target(i, f))),
        other => other.clone(),
    }
}

/// `shape` naming the representative of its type.
fn canonical(shape: &Shape, rep: &BTreeMap<TypeId, TypeId>) -> Shape {
    map_target(shape, &|r| rep.get(r).cloned().unwrap_or_else(|| r.clone()))
}

/// The parts of a type that do not change while merging (everything but
/// the referenced ids), and the referenced ids in field order.
fn split_key(t: &TypeDef) -> Option<(String, Vec<TypeId>)> {
    let TypeKind::Struct(s) = &t.kind else {
        return None;
    };
    let mut k = format!("{:?}|{:?}|{:?}", t.module, t.description, s.facts);
    let mut refs = Vec::new();
    for f in &s.fields {
        // The key holds the shape with an empty id; the id goes to `refs`.
        refs.extend(f.shape.target().cloned());
        let shape = map_target(&f.shape, &|_| TypeId::new());
        k.push_str(&format!(
            "|{}|{}|{:?}|{:?}|{:?}",
            f.json_name, f.required, shape, f.description, f.facts
        ));
    }
    Some((k, refs))
}

/// Merges identical inline types; returns how many were removed.
pub(crate) fn merge_identical(types: &mut BTreeMap<TypeId, TypeDef>) -> usize {
    let candidates: Vec<TypeId> = types
        .iter()
        .filter(|(id, t)| id.contains('/') && t.gvks.is_empty())
        .map(|(id, _)| id.clone())
        .collect();
    // Static parts are interned once; each round only maps the references.
    let mut interned: BTreeMap<String, usize> = BTreeMap::new();
    let mut parts: Vec<(&TypeId, usize, Vec<TypeId>)> = Vec::new();
    for id in &candidates {
        if let Some((k, refs)) = types.get(id).and_then(split_key) {
            let n = interned.len();
            let idx = *interned.entry(k).or_insert(n);
            parts.push((id, idx, refs));
        }
    }
    let mut rep: BTreeMap<TypeId, TypeId> = BTreeMap::new();
    loop {
        let mut groups: BTreeMap<(usize, Vec<TypeId>), Vec<&TypeId>> = BTreeMap::new();
        for (id, idx, refs) in &parts {
            let mapped: Vec<TypeId> = refs
                .iter()
                .map(|r| rep.get(r).unwrap_or(r).clone())
                .collect();
            groups.entry((*idx, mapped)).or_default().push(id);
        }
        let mut changed = false;
        for members in groups.values() {
            if members.len() < 2 {
                continue;
            }
            let Some(best) = members
                .iter()
                .min_by(|a, b| {
                    let (na, nb) = (&types[a.as_str()].name, &types[b.as_str()].name);
                    na.len().cmp(&nb.len()).then(na.cmp(nb))
                })
                .map(|b| (*b).clone())
            else {
                continue;
            };
            for m in members {
                let cur = rep.get(*m).cloned().unwrap_or_else(|| (*m).clone());
                if cur != best {
                    rep.insert((*m).clone(), best.clone());
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // Resolve chains and drop self-mappings.
    let resolved: BTreeMap<TypeId, TypeId> = rep
        .keys()
        .map(|k| {
            let mut cur = k.clone();
            let mut steps = 0;
            while let Some(n) = rep.get(&cur) {
                if *n == cur || steps > rep.len() {
                    break;
                }
                cur = n.clone();
                steps += 1;
            }
            (k.clone(), cur)
        })
        .filter(|(k, v)| k != v)
        .collect();
    for t in types.values_mut() {
        match &mut t.kind {
            TypeKind::Struct(s) => {
                for f in &mut s.fields {
                    f.shape = canonical(&f.shape, &resolved);
                }
            }
            TypeKind::Alias(shape) => *shape = canonical(shape, &resolved),
            TypeKind::Runtime(_) => {}
        }
    }
    let before = types.len();
    types.retain(|id, _| !resolved.contains_key(id));
    before - types.len()
}
