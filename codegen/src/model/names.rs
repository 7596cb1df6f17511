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
/// the type's name.
pub fn module_for_definition(def: &str) -> (ModuleId, String) {
    let parts: Vec<&str> = def.split('.').collect();
    let Some((name, pkg)) = parts.split_last() else {
        return (ModuleId(vec!["other".into()]), def.to_owned());
    };
    let module = match pkg {
        [.., p, v] if is_version(v) => vec![sanitize_module(p), (*v).to_owned()],
        [.., p] => vec![sanitize_module(p)],
        [] => vec!["other".into()],
    };
    (ModuleId(module), (*name).to_owned())
}

/// A valid, non-keyword module name from a package or group label.
pub fn sanitize_module(s: &str) -> String {
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
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'g');
    }
    if is_keyword(&out) {
        out.push('_');
    }
    out
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
    }
}
