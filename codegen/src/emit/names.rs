//! Rust names for JSON names: snake case, keywords, collisions.

use std::collections::BTreeSet;

use crate::model::Field;
use crate::model::names_support::{is_keyword, snake_case};

/// A Rust identifier for a JSON name: snake case, `_` appended to keywords
/// (`type_`, `ref_`, `continue_`), `f` prefixed to names starting with a digit.
pub fn ident_for(json: &str) -> String {
    let mut s = snake_case(json);
    if s.is_empty() {
        s = "field".into();
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'f');
    }
    if is_keyword(&s) {
        s.push('_');
    }
    s
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
        // `mod.rs` and `client.rs` are taken by the module itself.
        let mut name = if want == "mod" || want == "client" {
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
/// `network_policies`).
pub fn resource_method(kind: &str, plural: &str) -> String {
    let lk = kind.to_lowercase();
    let common = lk
        .chars()
        .zip(plural.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let mut s = if common == 0 {
        ident_for(plural)
    } else {
        let prefix: String = kind.chars().take(common).collect();
        let rest: String = plural.chars().skip(common).collect();
        format!("{}{}", snake_case(&prefix), rest)
    };
    if is_keyword(&s) || s == "new" || s == "rest" {
        s.push('_');
    }
    s
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
