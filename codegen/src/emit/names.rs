//! Rust names for JSON names: snake case, keywords, collisions. The rules
//! themselves are `model::names_support::rust_name`; this file applies them
//! to fields, files and accessors, and builds every identifier the emitters
//! write ([`ident`]).

use std::collections::BTreeSet;

use proc_macro2::{Ident, Span};

use crate::model::names_support::{Case, is_ident, is_keyword, rust_name, snake_case};
use crate::model::{Field, Resource};

/// The identifier `s`. Every name the emitters write comes through here, and
/// the naming rules make them valid before they get here; should one not be
/// (a generator bug), its invalid characters become `_` and a keyword gets `_`
/// appended, rather than a panic in `proc_macro2`.
pub(crate) fn ident(s: &str) -> Ident {
    if is_ident(s) {
        return Ident::new(s, Span::call_site());
    }
    let mut fixed: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !fixed.starts_with(|c: char| c.is_ascii_alphabetic()) {
        fixed.insert_str(0, "x_");
    }
    if is_keyword(&fixed) {
        fixed.push('_');
    }
    Ident::new(&fixed, Span::call_site())
}

/// A Rust identifier for a JSON name ([`Case::Snake`]): snake case, `_`
/// appended to keywords (`type_`, `ref_`, `continue_`), `f` prefixed to names
/// starting with a digit.
pub fn ident_for(json: &str) -> String {
    rust_name(json, Case::Snake)
}

/// Field identifiers for a struct's fields, in order, without collisions
/// (`foo-bar` and `foo_bar` become `foo_bar` and `foo_bar_2`).
pub fn field_names(fields: &[Field]) -> Vec<String> {
    let mut taken = BTreeSet::new();
    fields
        .iter()
        .map(|f| {
            let base = ident_for(&f.json_name);
            let mut name = base.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        })
        .collect()
}

/// The file (and private module) name for a type.
pub fn type_file_name(type_name: &str) -> String {
    ident_for(type_name)
}

/// Unique file names within one module directory.
#[derive(Default)]
pub(crate) struct FileNames(BTreeSet<String>);

impl FileNames {
    pub(crate) fn unique(&mut self, want: &str) -> String {
        // `mod.rs`, `client.rs` and `informers.rs` are taken by the module itself.
        let mut name = if want == "mod" || want == "client" || want == "informers" {
            format!("{want}_type")
        } else {
            want.to_owned()
        };
        let base = name.clone();
        let mut n = 2;
        while !self.0.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        name
    }
}

/// The method name of a resource accessor, client-go style: the kind's words
/// with the plural's ending (`NetworkPolicy` + `networkpolicies` ->
/// `network_policies`). A plural that is not an identifier is snake-cased
/// whole (`foo-bars` -> `foo_bars`).
pub fn resource_method(kind: &str, plural: &str) -> String {
    let lk = kind.to_lowercase();
    let common = lk
        .chars()
        .zip(plural.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let mut s = if common == 0 || !is_ident(plural) {
        ident_for(plural)
    } else {
        let prefix: String = kind.chars().take(common).collect();
        let rest: String = plural.chars().skip(common).collect();
        format!("{}{}", snake_case(&prefix), rest)
    };
    if !is_ident(&s) && !is_keyword(&s) {
        s = ident_for(&s);
    }
    if is_keyword(&s) || s == "new" || s == "rest" {
        s.push('_');
    }
    s
}

/// The accessor names of `resources` (one module's, in plural order), in the
/// same order: [`resource_method`], and `_` appended until unique, given first
/// to the resources whose plural is an identifier, so a plural that had to
/// be changed (`foo-bars`) never takes the name of one that did not
/// (`foobars`).
pub(crate) fn resource_methods(resources: &[&Resource]) -> Vec<String> {
    let mut order: Vec<usize> = (0..resources.len()).collect();
    order.sort_by_key(|&i| !is_ident(&resources[i].plural));
    let mut names = vec![String::new(); resources.len()];
    let mut seen = BTreeSet::new();
    for i in order {
        let r = resources[i];
        let mut m = resource_method(&r.kind, &r.plural);
        while !seen.insert(m.clone()) {
            m.push('_');
        }
        names[i] = m;
    }
    names
}

/// The field that keeps properties a schema does not name
/// (`x-kubernetes-preserve-unknown-fields`): `additional_properties`, with
/// `_` appended until it collides with no field.
pub fn extra_field_name(names: &[String]) -> String {
    let mut extra = "additional_properties".to_owned();
    while names.contains(&extra) {
        extra.push('_');
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_methods_follow_client_go_names() {
        assert_eq!(
            resource_method("NetworkPolicy", "networkpolicies"),
            "network_policies"
        );
        assert_eq!(resource_method("Pod", "pods"), "pods");
        assert_eq!(resource_method("Endpoints", "endpoints"), "endpoints");
        assert_eq!(
            resource_method("ComponentStatus", "componentstatuses"),
            "component_statuses"
        );
        assert_eq!(resource_method("CSIDriver", "csidrivers"), "csi_drivers");
        assert_eq!(
            resource_method("CertificateSigningRequest", "certificatesigningrequests"),
            "certificate_signing_requests"
        );
        assert_eq!(resource_method("Foo-Bar", "foo-bars"), "foo_bars");
        assert_eq!(resource_method("FooBar", "foo-bars"), "foo_bars");
        assert_eq!(resource_method("X9-2Thing", "x9-things"), "x9_things");
        assert_eq!(resource_method("Type", "types"), "types");
        assert_eq!(resource_method("Self", "self"), "self_");
        assert_eq!(resource_method("Foo", "2foos"), "f2foos");
        assert_eq!(resource_method("Rest", "rest"), "rest_");
    }

    #[test]
    fn identifiers_never_panic() {
        for s in ["type_", "Foo", "", "_", "9a", "a-b", "type", "\u{e9}"] {
            let i = ident(s);
            assert!(is_ident(&i.to_string()), "{s:?} gave {i}");
        }
        assert_eq!(ident("foo_bar").to_string(), "foo_bar");
    }

    #[test]
    fn odd_json_names_become_distinct_identifiers() {
        assert_eq!(ident_for("type"), "type_");
        assert_eq!(ident_for("$ref"), "ref_");
        assert_eq!(ident_for("3d"), "f3d");
        assert_eq!(
            ident_for("x-kubernetes-list-type"),
            "x_kubernetes_list_type"
        );
    }
}
