//! Naming rules: definition names to modules, JSON names to Rust names.

use super::ModuleId;

/// Whether `s` looks like a Kubernetes API version (`v1`, `v2beta1`, `v1alpha3`).
fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let rest = &rest[digits..];
    rest.is_empty()
        || ["alpha", "beta"].iter().any(|p| {
            rest.strip_prefix(p)
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
}

/// The module of an OpenAPI definition, named after its Go package:
/// `io.k8s.api.apps.v1.Deployment` -> `apps::v1`,
/// `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.X` -> `apiextensions::v1`,
/// `io.k8s.apimachinery.pkg.version.Info` -> `version`. Returns the module and
/// the type's name ([`Case::Type`] of the last segment; unique names are the
/// model builder's job).
pub fn module_for_definition(def: &str) -> (ModuleId, String) {
    let parts: Vec<&str> = def.split('.').collect();
    let Some((name, pkg)) = parts.split_last() else {
        return (ModuleId(vec!["other".into()]), rust_name(def, Case::Type));
    };
    let module = match pkg {
        [.., p, v] if is_version(v) => vec![package_module(p), (*v).to_owned()],
        [.., p] => vec![package_module(p)],
        [] => vec!["other".into()],
    };
    (ModuleId(module), rust_name(name, Case::Type))
}

/// Names the generated crate's root already uses for its own modules.
const CRATE_MODULES: &[&str] = &["clientset", "informers", "default"];

/// A top-level (package or CRD group) module name: [`Case::Module`], and `_`
/// appended to the names the crate root uses itself (`clientset`,
/// `informers`) and to `default`, which would be the Cargo feature `default`.
pub fn package_module(s: &str) -> String {
    let mut out = rust_name(s, Case::Module);
    if CRATE_MODULES.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// A valid, non-keyword module name from a package or group label
/// ([`Case::Module`]).
pub fn sanitize_module(s: &str) -> String {
    rust_name(s, Case::Module)
}

/// What an input name is turned into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// A type name (kinds, definition names, inline types): kept when it is
    /// already an identifier; otherwise the runs of ASCII letters and digits
    /// with their first letter upper-cased and joined (`Foo-Bar` -> `FooBar`,
    /// `type` -> `Type`), `T` before a leading digit, `Anonymous` when
    /// nothing is left, `Type` after a keyword (`Self` -> `SelfType`).
    Type,
    /// A field, method or file name: snake case words (`hostIPC` ->
    /// `host_ipc`, `foo-bars` -> `foo_bars`), `f` before a leading digit,
    /// `field` when nothing is left, `_` after a keyword (`type_`).
    Snake,
    /// A module name: lower case, other characters `_`, `g` before a leading
    /// digit or when no letter or digit is left, `_` after a keyword.
    Module,
}

/// The one rule that turns an input name (kind, plural, property,
/// definition, group or version) into a Rust identifier; see [`Case`]. Always
/// returns a valid identifier ([`is_ident`]), the same for the same input.
/// Uniqueness is the caller's job (numeric suffixes in a deterministic order).
pub fn rust_name(s: &str, case: Case) -> String {
    match case {
        Case::Type => {
            if is_ident(s) {
                return s.to_owned();
            }
            let mut out = String::new();
            for run in s.split(|c: char| !c.is_ascii_alphanumeric()) {
                let mut cs = run.chars();
                if let Some(first) = cs.next() {
                    out.push(first.to_ascii_uppercase());
                    out.push_str(cs.as_str());
                }
            }
            if out.is_empty() {
                out = "Anonymous".into();
            }
            if out.starts_with(|c: char| c.is_ascii_digit()) {
                out.insert(0, 'T');
            }
            if is_keyword(&out) {
                out.push_str("Type");
            }
            out
        }
        Case::Snake => {
            let mut out = snake_case(s);
            if out.is_empty() {
                out = "field".into();
            }
            if out.starts_with(|c: char| c.is_ascii_digit()) {
                out.insert(0, 'f');
            }
            if is_keyword(&out) {
                out.push('_');
            }
            out
        }
        Case::Module => {
            let mut out: String = s
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            if !out.contains(|c: char| c.is_ascii_alphanumeric())
                || out.starts_with(|c: char| c.is_ascii_digit())
            {
                out.insert(0, 'g');
            }
            if is_keyword(&out) {
                out.push('_');
            }
            out
        }
    }
}

/// Whether `s` can be used as it is as a Rust identifier: ASCII letters,
/// digits and `_`, not starting with a digit, not `_` alone, not a keyword.
pub fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s != "_"
        && !is_keyword(s)
}

/// Rust keywords (strict and reserved, 2024 edition) and names that cannot be
/// raw identifiers.
pub fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "break"
            | "const"
            | "continue"
            | "crate"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
            | "union"
    )
}

/// Splits a JSON name into lower-case words: `hostIPC` -> host, ipc;
/// `podCIDRs` -> pod, cidrs; `x-kubernetes-list-type` -> x, kubernetes, list,
/// type; `IPAddress` -> ip, address.
pub fn words(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for i in 0..chars.len() {
        let c = chars[i];
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let next = chars.get(i + 1).copied();
        let boundary = match prev {
            Some(p) if c.is_ascii_uppercase() => {
                if p.is_ascii_lowercase() || p.is_ascii_digit() {
                    true
                } else if p.is_ascii_uppercase() {
                    // End of an acronym: `IPAddress` splits before `A`, but a
                    // plural `s` stays with it (`CIDRs`, `IPs`).
                    next.is_some_and(|n| n.is_ascii_lowercase())
                        && !(next == Some('s')
                            && chars.get(i + 2).is_none_or(|a| !a.is_ascii_lowercase()))
                } else {
                    false
                }
            }
            _ => false,
        };
        if boundary && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `snake_case` of a JSON name (not yet checked for keywords or collisions).
pub fn snake_case(s: &str) -> String {
    words(s).join("_")
}

/// `PascalCase` of a JSON name, for names of inline types.
pub fn pascal_case(s: &str) -> String {
    words(s)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acronyms_and_plurals_split_like_kubernetes_names() {
        assert_eq!(snake_case("hostIPC"), "host_ipc");
        assert_eq!(snake_case("podCIDRs"), "pod_cidrs");
        assert_eq!(snake_case("IPAddress"), "ip_address");
        assert_eq!(snake_case("clusterIPs"), "cluster_ips");
        assert_eq!(
            snake_case("x-kubernetes-list-type"),
            "x_kubernetes_list_type"
        );
        assert_eq!(snake_case("$ref"), "ref");
        assert_eq!(snake_case("fieldsV1"), "fields_v1");
        assert_eq!(snake_case("externalIPs"), "external_ips");
        assert_eq!(
            snake_case("terminationGracePeriodSeconds"),
            "termination_grace_period_seconds"
        );
        assert_eq!(pascal_case("issuerRef"), "IssuerRef");
    }

    #[test]
    fn definitions_map_to_go_package_modules() {
        let m = |d: &str| module_for_definition(d).0.0.join("::");
        assert_eq!(m("io.k8s.api.apps.v1.Deployment"), "apps::v1");
        assert_eq!(m("io.k8s.api.core.v1.Pod"), "core::v1");
        assert_eq!(
            m("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON"),
            "apiextensions::v1"
        );
        assert_eq!(
            m("io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService"),
            "apiregistration::v1"
        );
        assert_eq!(
            m("io.k8s.apimachinery.pkg.apis.meta.v1.Condition"),
            "meta::v1"
        );
        assert_eq!(
            m("io.k8s.api.resource.v1alpha3.DeviceTaint"),
            "resource::v1alpha3"
        );
        assert_eq!(m("io.k8s.apimachinery.pkg.version.Info"), "version");
        assert_eq!(m("io.x.informers.v1.A"), "informers_::v1");
        assert_eq!(m("io.x.3d-party.v1.A"), "g3d_party::v1");
        assert_eq!(m("io.x.-.v1.A"), "g_::v1");
        assert_eq!(module_for_definition("io.x.v1.Foo-Bar").1, "FooBar");
    }

    #[test]
    fn every_case_gives_an_identifier() {
        let t = |s: &str| rust_name(s, Case::Type);
        assert_eq!(t("Deployment"), "Deployment");
        assert_eq!(t("Foo_Bar"), "Foo_Bar");
        assert_eq!(t("Foo-Bar"), "FooBar");
        assert_eq!(t("foo-bars"), "FooBars");
        assert_eq!(t("X9-2Thing"), "X92Thing");
        assert_eq!(t("2Fa"), "T2Fa");
        assert_eq!(t("type"), "Type");
        assert_eq!(t("Self"), "SelfType");
        assert_eq!(t("--"), "Anonymous");
        assert_eq!(t("_"), "Anonymous");
        assert_eq!(t("Caf\u{e9}Bar"), "CafBar");
        let s = |s: &str| rust_name(s, Case::Snake);
        assert_eq!(s("foo-bars"), "foo_bars");
        assert_eq!(s("2fa-code"), "f2fa_code");
        assert_eq!(s("type"), "type_");
        assert_eq!(s("fooBar"), "foo_bar");
        assert_eq!(s("\u{e9}"), "field");
        let m = |s: &str| rust_name(s, Case::Module);
        assert_eq!(m("cert-manager"), "cert_manager");
        assert_eq!(m("v2-beta1"), "v2_beta1");
        assert_eq!(m("crate"), "crate_");
        assert_eq!(m(""), "g");
        assert_eq!(m("_"), "g_");
        for input in [
            "", "_", "-", "9", "self", "Self", "a b", "\u{e9}", "r#x", "__",
        ] {
            for case in [Case::Type, Case::Snake, Case::Module] {
                let out = rust_name(input, case);
                assert!(is_ident(&out), "{input:?} as {case:?} gave {out:?}");
            }
        }
        assert_eq!(package_module("informers"), "informers_");
        assert_eq!(package_module("default"), "default_");
    }
}
