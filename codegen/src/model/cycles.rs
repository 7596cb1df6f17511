//! Cycle analysis, as its own pass over the finished type arena.
//!
//! A struct that contains itself (directly, or through other structs held by
//! value) has no size; such fields are boxed (`Arc<T>`). Only by-value edges
//! count: `Vec` and maps already put their items on the heap. Boxing is
//! decided per strongly connected component (Tarjan), so the result does not
//! depend on visiting order.
//!
//! The same pass decides which types can derive `Default` (a required field
//! whose type has no default, such as a timestamp, prevents it), and finds
//! alias chains that loop (`A = B`, `B = A`), which are an input error.

use std::collections::{BTreeMap, BTreeSet};

use super::{RUNTIME_WITHOUT_DEFAULT, Shape, TypeDef, TypeId, TypeKind};
use crate::error::{Error, Result};

/// The type a by-value shape leads to, through aliases.
fn by_value_target(shape: &Shape) -> Option<&TypeId> {
    match shape {
        Shape::Ref(r) => Some(r),
        _ => None,
    }
}

/// Fails on alias chains that loop.
pub(crate) fn check_alias_cycles(types: &BTreeMap<TypeId, TypeDef>) -> Result<()> {
    for (id, t) in types {
        let mut seen = vec![id.as_str()];
        let mut cur = t;
        while let TypeKind::Alias(Shape::Ref(next)) = &cur.kind {
            if seen.contains(&next.as_str()) {
                seen.push(next);
                return Err(Error::schema(
                    &t.location,
                    format!("cyclic $ref: {}", seen.join(" -> ")),
                ));
            }
            seen.push(next);
            match types.get(next) {
                Some(n) => cur = n,
                None => break,
            }
        }
    }
    Ok(())
}

/// Marks fields that need a pointer (`Arc<T>`).
pub(crate) fn box_recursive_fields(types: &mut BTreeMap<TypeId, TypeDef>) {
    // By-value edges between types (aliases to a Ref count as by-value).
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (id, t) in types.iter() {
        let e = edges.entry(id.as_str()).or_default();
        match &t.kind {
            TypeKind::Struct(s) => {
                for f in &s.fields {
                    if let Some(target) = by_value_target(&f.shape) {
                        e.insert(target.as_str());
                    }
                }
            }
            TypeKind::Alias(shape) => {
                if let Some(target) = by_value_target(shape) {
                    e.insert(target.as_str());
                }
            }
            TypeKind::Runtime(_) => {}
        }
    }
    let scc = tarjan(&edges);
    let mut to_box: Vec<(TypeId, usize)> = Vec::new();
    for (id, t) in types.iter() {
        if let TypeKind::Struct(s) = &t.kind {
            for (i, f) in s.fields.iter().enumerate() {
                if let Some(target) = by_value_target(&f.shape)
                    && scc.get(id.as_str()) == scc.get(target.as_str())
                {
                    to_box.push((id.clone(), i));
                }
            }
        }
    }
    set_boxed(types, to_box);
}

/// Sets `boxed` on each (struct, field index).
pub(super) fn set_boxed(types: &mut BTreeMap<TypeId, TypeDef>, fields: Vec<(TypeId, usize)>) {
    for (id, i) in fields {
        if let Some(TypeDef {
            kind: TypeKind::Struct(s),
            ..
        }) = types.get_mut(&id)
        {
            s.fields[i].boxed = true;
        }
    }
}

/// Tarjan's strongly connected components: node -> component number.
fn tarjan<'a>(edges: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> BTreeMap<&'a str, usize> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        on_stack: BTreeSet<&'a str>,
        stack: Vec<&'a str>,
        comp: BTreeMap<&'a str, usize>,
        next: usize,
        ncomp: usize,
    }
    // Iterative to stay safe on deep schemas.
    let mut st = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        on_stack: BTreeSet::new(),
        stack: Vec::new(),
        comp: BTreeMap::new(),
        next: 0,
        ncomp: 0,
    };
    let empty = BTreeSet::new();
    for &root in edges.keys() {
        if st.index.contains_key(root) {
            continue;
        }
        let mut work: Vec<(&str, Vec<&str>)> = Vec::new();
        let visit = |st: &mut State<'a>, n: &'a str| {
            st.index.insert(n, st.next);
            st.low.insert(n, st.next);
            st.next += 1;
            st.stack.push(n);
            st.on_stack.insert(n);
        };
        visit(&mut st, root);
        work.push((
            root,
            edges
                .get(root)
                .unwrap_or(&empty)
                .iter()
                .rev()
                .copied()
                .collect(),
        ));
        while let Some((node, pending)) = work.last_mut() {
            let node = *node;
            if let Some(next) = pending.pop() {
                if !st.index.contains_key(next) {
                    visit(&mut st, next);
                    work.push((
                        next,
                        edges
                            .get(next)
                            .unwrap_or(&empty)
                            .iter()
                            .rev()
                            .copied()
                            .collect(),
                    ));
                } else if st.on_stack.contains(next) {
                    let l = st.low[node].min(st.index[next]);
                    st.low.insert(node, l);
                }
            } else {
                work.pop();
                if let Some((parent, _)) = work.last() {
                    let l = st.low[*parent].min(st.low[node]);
                    st.low.insert(parent, l);
                }
                if st.low[node] == st.index[node] {
                    while let Some(w) = st.stack.pop() {
                        st.on_stack.remove(w);
                        st.comp.insert(w, st.ncomp);
                        if w == node {
                            break;
                        }
                    }
                    st.ncomp += 1;
                }
            }
        }
    }
    st.comp
}

/// Decides `TypeDef::defaultable` for every type (a fixpoint: a type is not
/// defaultable if a required, unboxed-or-boxed field's type is not).
pub(crate) fn mark_defaultable(types: &mut BTreeMap<TypeId, TypeDef>) {
    let mut not_default: BTreeSet<TypeId> = types
        .iter()
        .filter(
            |(_, t)| matches!(t.kind, TypeKind::Runtime(n) if RUNTIME_WITHOUT_DEFAULT.contains(&n)),
        )
        .map(|(id, _)| id.clone())
        .collect();
    loop {
        let mut changed = false;
        for (id, t) in types.iter() {
            if not_default.contains(id) {
                continue;
            }
            let bad = match &t.kind {
                TypeKind::Struct(s) => s.fields.iter().any(|f| {
                    f.required && matches!(&f.shape, Shape::Ref(r) if not_default.contains(r))
                }),
                TypeKind::Alias(Shape::Ref(r)) => not_default.contains(r),
                _ => false,
            };
            if bad {
                not_default.insert(id.clone());
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (id, t) in types.iter_mut() {
        t.defaultable = !not_default.contains(id);
    }
}
