//! Property tests (fuzzing) of the runtime's parsers of untrusted input: the
//! label-selector parser, the kubeconfig loader (and the `Config`/client
//! built from it), and the `fieldsV1` / `managedFields` parser. Whatever the
//! input, they must not panic, hang or overflow the stack, and a refusal must
//! be an `Err` that names the place at fault. (The watch-event decoder is
//! fuzzed in `src/client/watch_props.rs`, as its decoder is crate-private.)
//!
//! Selectors: arbitrary text and token soup never panic, errors point inside
//! the input, and whatever parses prints to a canonical form that parses back
//! to the same selector; generated valid selectors, written with assorted
//! spacing, operator spellings and value orders, parse to the selector built
//! from their parts.
//!
//! Kubeconfig: arbitrary YAML-ish text, alias bombs and deep nesting never
//! panic or hang (flow nesting is kept to 2000 levels: deeper is quadratic
//! in the YAML scanner, see `alias_bombs_and_deep_nesting_...`); structurally valid kubeconfigs with hostile values (bad
//! base64 and PEM, dangling references, bad URLs, header-breaking strings)
//! always parse, and `Config::from_custom_kubeconfig` and `RestClient::new`
//! either succeed or fail naming the kubeconfig entry or field, never showing
//! a secret; a value of the wrong type is an error naming its YAML path.
//!
//! Managed fields: arbitrary `fieldsV1` tries parse exactly when every node
//! is an object and every key a valid path element (an error starts with
//! where the trie came from), re-encode to the same set, and obey the set laws;
//! `extract` of arbitrary objects and `managedFields` never panics.
//!
//! The case counts are sized for a debug build in CI (`make test`); set
//! `PROPTEST_CASES` for a longer run, e.g.
//!
//! ```text
//! PROPTEST_CASES=50000 cargo test --release -p kubegen-runtime --test fuzz_props
//! ```

use base64::Engine as _;
use kubegen_runtime::config::Kubeconfig;
use kubegen_runtime::managed_fields::{self, FieldSet};
use kubegen_runtime::meta::FieldsV1;
use kubegen_runtime::selector::{Operator, Requirement, Selector};
use kubegen_runtime::{Config, Error, RestClient};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

/// `PROPTEST_CASES` when set, else `default` (sized for a debug build in CI).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// =====================================================================
// Label selectors
// =====================================================================

fn arb_label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        4 => "[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?",
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    let name = "[A-Za-z0-9]([A-Za-z0-9_.-]{0,20}[A-Za-z0-9])?";
    let prefix = "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?){0,3}";
    (prop::option::of(prefix), name).prop_map(|(p, n)| match p {
        Some(p) => format!("{p}/{n}"),
        None => n,
    })
}

/// An integer operand of `>`/`<`, as Go's strconv would accept it.
fn arb_int() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "[+-]?0{0,3}[0-9]{1,15}",
    ]
}

/// A requirement as parts, before rendering.
#[derive(Clone, Debug)]
struct Req {
    key: String,
    op: Operator,
    values: Vec<String>,
}

fn arb_req() -> impl Strategy<Value = Req> {
    let one = |op: Operator| {
        (arb_key(), arb_label_value()).prop_map(move |(key, v)| Req {
            key,
            op,
            values: vec![v],
        })
    };
    let set = |op: Operator| {
        (
            arb_key(),
            prop::collection::vec(arb_label_value(), 1..5).prop_shuffle(),
        )
            .prop_map(move |(key, values)| Req { key, op, values })
    };
    let none = |op: Operator| {
        arb_key().prop_map(move |key| Req {
            key,
            op,
            values: Vec::new(),
        })
    };
    let int = |op: Operator| {
        (arb_key(), arb_int()).prop_map(move |(key, v)| Req {
            key,
            op,
            values: vec![v],
        })
    };
    prop_oneof![
        one(Operator::Equals),
        one(Operator::NotEquals),
        set(Operator::In),
        set(Operator::NotIn),
        none(Operator::Exists),
        none(Operator::DoesNotExist),
        int(Operator::GreaterThan),
        int(Operator::LessThan),
    ]
}

/// Writes requirements the way a person might: spacing where the grammar
/// allows it, `=` or `==`, set values in any order.
struct Writer {
    ws: Vec<&'static str>,
    n: usize,
    double_eq: bool,
}

impl Writer {
    fn ws(&mut self) -> &'static str {
        self.n += 1;
        self.ws[self.n % self.ws.len()]
    }

    /// Whitespace that cannot be empty (between a key and `in`).
    fn ws1(&mut self) -> &'static str {
        match self.ws() {
            "" => " ",
            w => w,
        }
    }

    fn req(&mut self, r: &Req) -> String {
        let (k, first) = (&r.key, r.values.first().map(String::as_str).unwrap_or(""));
        match r.op {
            Operator::Equals => {
                let eq = if self.double_eq { "==" } else { "=" };
                format!("{k}{}{eq}{}{first}", self.ws(), self.ws())
            }
            Operator::NotEquals => format!("{k}{}!={}{first}", self.ws(), self.ws()),
            Operator::GreaterThan => format!("{k}{}>{}{first}", self.ws(), self.ws()),
            Operator::LessThan => format!("{k}{}<{}{first}", self.ws(), self.ws()),
            Operator::Exists => k.clone(),
            Operator::DoesNotExist => format!("!{}{k}", self.ws()),
            Operator::In | Operator::NotIn => {
                let word = if r.op == Operator::In { "in" } else { "notin" };
                let mut s = format!("{k}{}{word}{}({}", self.ws1(), self.ws(), self.ws());
                for (i, v) in r.values.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                        s.push_str(self.ws());
                    }
                    s.push_str(v);
                    s.push_str(self.ws());
                }
                s.push(')');
                s
            }
        }
    }
}

fn arb_ws() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(vec!["", "", " ", "  ", "\t"]), 1..6)
}

/// Text that is mostly selector tokens, so the parser gets past its first step.
fn arb_selector_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "a",
        "b.c",
        "x-1",
        "k8s.io/app",
        "A/b",
        "in",
        "notin",
        "=",
        "==",
        "!=",
        "!",
        "<",
        ">",
        ",",
        "(",
        ")",
        " ",
        "\t",
        "\u{a0}",
        "\u{3000}",
        "-1",
        "+7",
        "99999999999999999999",
        "é",
        "",
        "_",
        ".",
        "/",
        "//",
        "\n",
        "\0",
        "😀",
    ]);
    prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
}

fn check_selector_error(input: &str, e: &kubegen_runtime::selector::SelectorError) {
    assert!(
        e.position <= input.len() && input.is_char_boundary(e.position),
        "{input:?}: position {} outside the input: {e}",
        e.position
    );
    assert!(!e.message.is_empty(), "{input:?}: empty message");
    assert!(
        e.to_string().contains(&format!("byte {}", e.position)),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1024), ..ProptestConfig::default() })]

    #[test]
    fn selector_text_never_panics_and_what_parses_round_trips(
        input in prop_oneof!["(?s).{0,64}", arb_selector_soup()],
    ) {
        match Selector::parse(&input) {
            Err(e) => check_selector_error(&input, &e),
            Ok(sel) => {
                let canonical = sel.to_string();
                let again = Selector::parse(&canonical).unwrap_or_else(|e| {
                    panic!("{input:?} parsed, but its canonical form {canonical:?} does not: {e}")
                });
                prop_assert_eq!(&again, &sel, "{:?} -> {:?}", input, canonical);
                prop_assert_eq!(again.to_string(), canonical);
            }
        }
    }

    #[test]
    fn generated_selectors_parse_to_their_parts_and_round_trip(
        reqs in prop::collection::vec(arb_req(), 0..6),
        ws in arb_ws(),
        double_eq in any::<bool>(),
        sep_ws in arb_ws(),
    ) {
        let mut want = Selector::everything();
        for r in &reqs {
            let req = Requirement::new(r.key.as_str(), r.op, r.values.iter().map(String::as_str))
                .unwrap_or_else(|e| panic!("generated requirement {r:?} is invalid: {e}"));
            want = want.and(req);
        }
        let mut w = Writer { ws, n: 0, double_eq };
        let mut seps = Writer { ws: sep_ws, n: 0, double_eq };
        let text = reqs
            .iter()
            .map(|r| w.req(r))
            .collect::<Vec<_>>()
            .join(&format!("{},{}", seps.ws(), seps.ws()));
        let parsed = Selector::parse(&text)
            .unwrap_or_else(|e| panic!("{text:?} (from {reqs:?}) does not parse: {e}"));
        prop_assert_eq!(&parsed, &want, "{:?}", text);
        let canonical = want.to_string();
        let again = Selector::parse(&canonical)
            .unwrap_or_else(|e| panic!("canonical {canonical:?} (of {text:?}) does not parse: {e}"));
        prop_assert_eq!(&again, &want, "{:?}", canonical);
    }
}

// =====================================================================
// Kubeconfig
// =====================================================================

/// In secret fields only: no error or `Debug` output may show it.
const SECRET: &str = "hunter2-s3cr3t";

const NAMES: &[&str] = &["a", "b", "prod", ""];

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// PEM-looking text: right or wrong labels, garbage or base64 bodies.
fn arb_pem() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "CERTIFICATE",
            "PRIVATE KEY",
            "RSA PRIVATE KEY",
            "EC PRIVATE KEY",
            "X509 CRL",
            "",
        ]),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..96).prop_map(|b| b64(&b)),
            "(?s).{0,64}",
        ],
        any::<bool>(),
    )
        .prop_map(|(label, body, end)| {
            let mut s = format!("-----BEGIN {label}-----\n{body}\n");
            if end {
                s.push_str(&format!("-----END {label}-----\n"));
            }
            s
        })
}

/// The value of a `*-data` field: base64 that is or is not valid, of PEM or
/// of anything.
fn arb_data() -> impl Strategy<Value = String> {
    prop_oneof![
        arb_pem().prop_map(|p| b64(p.as_bytes())),
        // Valid base64 wrapped over lines, as some tools write it.
        arb_pem().prop_map(|p| {
            let e = b64(p.as_bytes());
            e.as_bytes()
                .chunks(20)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("\n ")
        }),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| b64(&b)),
        prop::sample::select(vec!["", "%%%", "abc", "a=b=", "====", "QUJD\u{0}", "é"])
            .prop_map(str::to_owned),
        "(?s).{0,32}",
    ]
}

fn arb_str() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9.-]{0,12}",
        "(?s).{0,16}",
        prop::sample::select(vec![
            "", "\n", "a\r\nb", "\u{7f}", "ok", "null", "~", "true"
        ])
        .prop_map(str::to_owned),
    ]
}

fn arb_secret() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{0,8}".prop_map(|s| format!("{SECRET}{s}")),
        "(?s).{0,6}".prop_map(|s| format!("{SECRET}{s}")),
    ]
}

fn arb_name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(str::to_owned)
}

/// Maybe set `key` in `map`.
fn put(map: &mut serde_json::Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        map.insert(key.to_owned(), v);
    }
}

/// A path that does not exist: file references must fail cleanly (random
/// paths are not generated, so no test reads a device or a large file).
const MISSING: &str = "/nonexistent/kubegen-fuzz/file";

fn arb_cluster() -> impl Strategy<Value = Value> {
    (
        arb_name(),
        prop::option::weighted(
            0.9,
            prop_oneof![
                6 => prop::sample::select(vec![
                    "https://127.0.0.1:6443",
                    "http://localhost:8080",
                    "https://k8s.example.com/prefix",
                    "https://[::1]:6443",
                ])
                .prop_map(str::to_owned),
                2 => prop::sample::select(vec![
                    "",
                    "not a url",
                    "https://[::1",
                    "://",
                    "https://h:99999",
                    "https://h/p?x#y",
                    "ftp://x",
                    "ok",
                ])
                .prop_map(str::to_owned),
                1 => arb_str(),
            ],
        ),
        prop::option::weighted(0.3, arb_data()),
        prop::option::weighted(0.1, prop::sample::select(vec!["", MISSING])),
        prop::option::weighted(0.3, any::<bool>()),
        prop::option::weighted(
            0.3,
            prop_oneof![
                prop::sample::select(vec!["kubernetes", "", "bad name!", "1.2.3.4", "é.example"])
                    .prop_map(str::to_owned),
                arb_str(),
            ],
        ),
        prop::option::weighted(
            0.3,
            prop_oneof![
                prop::sample::select(vec![
                    "http://proxy:3128",
                    "http://u:p@proxy:3128",
                    "https://proxy",
                    "socks5://proxy:1080",
                    "not a url",
                    "",
                ])
                .prop_map(str::to_owned),
                arb_str(),
            ],
        ),
    )
        .prop_map(|(name, server, ca_data, ca, insecure, tls_name, proxy)| {
            let mut c = serde_json::Map::new();
            put(&mut c, "server", server.map(Value::from));
            put(
                &mut c,
                "certificate-authority-data",
                ca_data.map(Value::from),
            );
            put(&mut c, "certificate-authority", ca.map(Value::from));
            put(
                &mut c,
                "insecure-skip-tls-verify",
                insecure.map(Value::from),
            );
            put(&mut c, "tls-server-name", tls_name.map(Value::from));
            put(&mut c, "proxy-url", proxy.map(Value::from));
            json!({"name": name, "cluster": c})
        })
}

fn arb_exec() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop::sample::select(vec![
            "client.authentication.k8s.io/v1",
            "client.authentication.k8s.io/v1beta1",
            "",
            "v0",
        ])),
        prop::collection::vec(arb_str(), 0..3),
        prop::collection::vec((arb_str(), arb_secret()), 0..3),
        prop::option::of(prop::sample::select(vec![
            "",
            "Never",
            "IfAvailable",
            "Always",
            "Sometimes",
        ])),
        any::<bool>(),
    )
        .prop_map(|(api, args, env, mode, info)| {
            let mut e = serde_json::Map::new();
            // Never run: building a client only records the plugin.
            e.insert("command".into(), json!("kubegen-fuzz-no-such-plugin"));
            put(&mut e, "apiVersion", api.map(Value::from));
            e.insert("args".into(), json!(args));
            let env: Vec<Value> = env
                .into_iter()
                .map(|(n, v)| json!({"name": n, "value": v}))
                .collect();
            e.insert("env".into(), Value::Array(env));
            put(&mut e, "interactiveMode", mode.map(Value::from));
            e.insert("provideClusterInfo".into(), json!(info));
            Value::Object(e)
        })
}

fn arb_user() -> impl Strategy<Value = Value> {
    (
        (
            arb_name(),
            prop::option::weighted(0.4, arb_data()),
            prop::option::weighted(
                0.4,
                prop_oneof![
                    arb_secret().prop_map(|s| b64(s.as_bytes())),
                    arb_secret().prop_map(|s| b64(format!(
                        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                        b64(s.as_bytes())
                    )
                    .as_bytes())),
                    arb_secret(),
                ],
            ),
            prop::option::weighted(0.1, prop::sample::select(vec!["", MISSING])),
            prop::option::weighted(0.1, prop::sample::select(vec!["", MISSING])),
        ),
        (
            prop::option::weighted(0.3, arb_secret()),
            prop::option::weighted(0.1, prop::sample::select(vec!["", MISSING])),
            prop::option::weighted(0.2, arb_str()),
            prop::option::weighted(0.3, arb_secret()),
        ),
        (
            prop::option::weighted(0.2, arb_str()),
            prop::option::weighted(0.2, arb_str()),
            prop::option::weighted(0.2, prop::collection::vec(arb_str(), 0..3)),
            prop::option::weighted(
                0.2,
                prop::collection::btree_map(
                    arb_str(),
                    prop::collection::vec(arb_str(), 0..2),
                    0..2,
                ),
            ),
        ),
        prop::option::weighted(0.3, arb_exec()),
        prop::option::of(prop::sample::select(vec![
            "gcp", "azure", "oidc", "other", "",
        ])),
    )
        .prop_map(
            |(
                (name, cert_data, key_data, cert, key),
                (token, token_file, username, password),
                (imp, imp_uid, imp_groups, imp_extra),
                exec,
                provider,
            )| {
                let mut u = serde_json::Map::new();
                put(
                    &mut u,
                    "client-certificate-data",
                    cert_data.map(Value::from),
                );
                put(&mut u, "client-key-data", key_data.map(Value::from));
                put(&mut u, "client-certificate", cert.map(Value::from));
                put(&mut u, "client-key", key.map(Value::from));
                put(&mut u, "token", token.map(Value::from));
                put(&mut u, "tokenFile", token_file.map(Value::from));
                put(&mut u, "username", username.map(Value::from));
                put(&mut u, "password", password.map(Value::from));
                put(&mut u, "as", imp.map(Value::from));
                put(&mut u, "as-uid", imp_uid.map(Value::from));
                put(&mut u, "as-groups", imp_groups.map(|g| json!(g)));
                put(&mut u, "as-user-extra", imp_extra.map(|x| json!(x)));
                put(&mut u, "exec", exec);
                put(
                    &mut u,
                    "auth-provider",
                    provider.map(|p| json!({"name": p, "config": {"access-token": SECRET}})),
                );
                json!({"name": name, "user": u})
            },
        )
}

/// A context's name, cluster and user (a position in the generated list,
/// or a name that may dangle) and namespace.
type ContextParts = (
    String,
    Result<Index, String>,
    Result<Index, String>,
    Option<String>,
);

/// A context: mostly naming a cluster and a user that exist (by position
/// in the generated lists), sometimes dangling.
fn arb_context() -> impl Strategy<Value = ContextParts> {
    let reference = || {
        prop_oneof![
            6 => any::<Index>().prop_map(Ok),
            1 => arb_name().prop_map(Err),
        ]
    };
    (
        arb_name(),
        reference(),
        reference(),
        prop::option::weighted(0.3, arb_str()),
    )
}

fn arb_kubeconfig() -> impl Strategy<Value = Value> {
    (
        // (Empty lists come from the text and wrong-type properties.)
        prop::collection::vec(arb_cluster(), 1..3),
        prop::collection::vec(arb_user(), 0..3),
        prop::collection::vec(arb_context(), 1..3),
        prop_oneof![
            4 => Just(None),
            1 => arb_name().prop_map(Some),
        ],
    )
        .prop_map(|(clusters, users, contexts, current)| {
            let resolve = |r: &Result<Index, String>, list: &[Value]| match r {
                Ok(i) if !list.is_empty() => list[i.index(list.len())]["name"].clone(),
                Ok(_) => json!("missing"),
                Err(name) => json!(name),
            };
            let contexts: Vec<Value> = contexts
                .iter()
                .map(|(name, cluster, user, ns)| {
                    let mut c = serde_json::Map::new();
                    c.insert("cluster".into(), resolve(cluster, &clusters));
                    c.insert("user".into(), resolve(user, &users));
                    put(&mut c, "namespace", ns.clone().map(Value::from));
                    json!({"name": name, "context": c})
                })
                .collect();
            // The current context is the first one, unless told otherwise.
            let current = current.or_else(|| {
                contexts
                    .first()
                    .and_then(|c| c["name"].as_str().map(str::to_owned))
            });
            let mut kc = json!({
                "apiVersion": "v1", "kind": "Config", "preferences": {},
                "clusters": clusters, "users": users, "contexts": contexts,
            });
            if let Some(c) = current {
                kc["current-context"] = json!(c);
            }
            kc
        })
}

/// The kubeconfig as YAML (block style) or JSON (which YAML also reads).
fn to_text(kc: &Value, as_json: bool) -> String {
    if as_json {
        // JSON lets DEL, C1 controls and U+FFFE/U+FFFF stand unescaped in a
        // string; a YAML reader refuses them (so does kubectl's), so escape them.
        serde_json::to_string_pretty(kc)
            .unwrap()
            .chars()
            .map(|c| match c {
                '\u{7f}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' => {
                    format!("\\u{:04x}", c as u32)
                }
                c => c.to_string(),
            })
            .collect()
    } else {
        serde_yaml_ng::to_string(kc).unwrap()
    }
}

/// A `Config` error must say which kubeconfig entry is at fault.
fn check_config_error(e: &Error) {
    let Error::Config(m) = e else {
        panic!("not a config error: {e:?}")
    };
    assert!(m.contains("kubeconfig"), "{m}");
    assert!(
        ["context", "cluster ", "user "]
            .iter()
            .any(|w| m.contains(w)),
        "names no entry: {m}"
    );
    assert!(!m.contains(SECRET), "shows a secret: {m}");
}

/// A client-build error must name the setting at fault.
fn check_client_error(e: &Error) {
    let m = e.to_string();
    assert!(!m.contains(SECRET), "shows a secret: {m}");
    let places = [
        "cluster URL",
        "certificate authority",
        "client certificate",
        "client key",
        "proxy-url",
        "tls-server-name",
        "token",
        "basic auth",
        "impersonation",
        "TLS",
    ];
    assert!(
        places.iter().any(|p| m.contains(p)),
        "names no setting: {m}"
    );
}

/// Everything a loaded kubeconfig leads to, for every context choice.
fn exercise(kc: &Kubeconfig) {
    let dump = format!("{kc:?}");
    assert!(!dump.contains(SECRET), "Debug shows a secret: {dump}");
    // The current context, each named one, and one that does not exist.
    let names = kc.contexts.iter().map(|c| Some(c.name.as_str()));
    let choices = [None, Some("no-such-context")].into_iter().chain(names);
    for ctx in choices {
        match Config::from_custom_kubeconfig(kc, ctx) {
            Err(e) => check_config_error(&e),
            Ok(cfg) => {
                let dump = format!("{cfg:?}");
                assert!(!dump.contains(SECRET), "Debug shows a secret: {dump}");
                if let Err(e) = RestClient::new(cfg) {
                    check_client_error(&e);
                }
            }
        }
    }
}

/// YAML-ish text: kubeconfig keys, YAML syntax (anchors, tags, flow and
/// block collections, documents) and junk.
fn arb_yaml_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "clusters:",
        "users:",
        "contexts:",
        "current-context:",
        "name: a",
        "cluster:",
        "user:",
        "context:",
        "server: https://x",
        "certificate-authority-data: %%",
        "client-key-data: QUJD",
        "token: t",
        "exec:",
        "command: x",
        "env:",
        "args:",
        "as-groups:",
        "insecure-skip-tls-verify: maybe",
        "- ",
        "  ",
        "\n",
        "\t",
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "&a ",
        "*a",
        "*b",
        "!!binary ",
        "!!str ",
        "!!int ",
        "!custom ",
        "~",
        "null",
        "'",
        "\"",
        "#",
        "---",
        "...",
        "? ",
        "|",
        ">",
        "<<: *a",
        "%YAML 1.2",
        "\u{feff}",
        "\0",
        "é",
        "1e999",
        "0x1F",
        ".inf",
    ]);
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

/// A value of the wrong type at a known field, and that field's YAML path.
fn mutate(kc: &mut Value, which: usize) -> String {
    // Make sure the first entries exist (with an exec plugin and one env var).
    kc["clusters"] = json!([{"name": "a", "cluster": {"server": "https://x"}}]);
    kc["users"] = json!([{"name": "a", "user": {"exec": {
        "command": "x", "apiVersion": "client.authentication.k8s.io/v1",
        "env": [{"name": "N", "value": "v"}],
    }}}]);
    kc["contexts"] = json!([{"name": "a", "context": {"cluster": "a", "user": "a"}}]);
    let bad_seq = json!([1, 2]);
    let bad_map = json!({"k": "v"});
    let (path, at, v): (&str, &str, Value) = match which % 12 {
        0 => (
            "clusters[0].cluster.server",
            "/clusters/0/cluster/server",
            bad_seq,
        ),
        1 => (
            "clusters[0].cluster.insecure-skip-tls-verify",
            "/clusters/0/cluster/insecure-skip-tls-verify",
            json!("maybe"),
        ),
        2 => ("clusters[0].name", "/clusters/0/name", bad_map),
        3 => (
            "users[0].user.as-groups",
            "/users/0/user/as-groups",
            json!("devs"),
        ),
        4 => (
            "users[0].user.exec.args",
            "/users/0/user/exec/args",
            bad_map,
        ),
        5 => ("users[0].user.token", "/users/0/user/token", bad_map),
        6 => (
            "users[0].user.exec.env[0].value",
            "/users/0/user/exec/env/0/value",
            bad_seq,
        ),
        7 => (
            "contexts[0].context.namespace",
            "/contexts/0/context/namespace",
            bad_seq,
        ),
        8 => ("current-context", "/current-context", bad_map),
        9 => ("clusters", "/clusters", json!("x")),
        10 => (
            "users[0].user.exec.provideClusterInfo",
            "/users/0/user/exec/provideClusterInfo",
            json!("yes please"),
        ),
        // (Not a sequence: serde reads a struct from one, by position.)
        _ => ("contexts[0].context", "/contexts/0/context", json!("x")),
    };
    let (parent, key) = at.rsplit_once('/').unwrap();
    let slot = if parent.is_empty() {
        kc.as_object_mut().unwrap()
    } else {
        kc.pointer_mut(parent).unwrap().as_object_mut().unwrap()
    };
    slot.insert(key.to_owned(), v);
    path.to_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn kubeconfig_text_never_panics(
        text in prop_oneof!["(?s).{0,256}", arb_yaml_soup()],
    ) {
        match Kubeconfig::parse(&text) {
            Ok(kc) => exercise(&kc),
            Err(m) => prop_assert!(!m.is_empty()),
        }
    }

    #[test]
    fn valid_kubeconfigs_with_hostile_values_load_or_fail_naming_the_entry(
        kc in arb_kubeconfig(),
        as_json in any::<bool>(),
    ) {
        let text = to_text(&kc, as_json);
        let parsed = Kubeconfig::parse(&text)
            .unwrap_or_else(|e| panic!("a structurally valid kubeconfig is refused: {e}\n{text}"));
        prop_assert_eq!(parsed.clusters.len(), kc["clusters"].as_array().unwrap().len());
        prop_assert_eq!(parsed.users.len(), kc["users"].as_array().unwrap().len());
        exercise(&parsed);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_an_error_naming_its_path(
        mut kc in arb_kubeconfig(),
        which in 0usize..12,
        as_json in any::<bool>(),
    ) {
        let path = mutate(&mut kc, which);
        let text = to_text(&kc, as_json);
        match Kubeconfig::parse(&text) {
            Ok(_) => prop_assert!(false, "accepted a bad `{}`:\n{}", path, text),
            Err(m) => prop_assert!(m.contains(&format!("`{path}`")), "{} does not name `{}`", m, path),
        }
    }

    /// Flow nesting (`[[[`, `{a: {a:`) is kept to 2000 levels: the YAML
    /// scanner (libyaml's, in serde_yaml_ng) checks every open level at every
    /// token, so n levels cost O(n²) before serde's depth limit applies (100k
    /// levels: 14-35 s in release). Upstream: acatton/serde-yaml-ng#16;
    /// C libyaml and go-yaml cap the nesting instead.
    #[test]
    fn alias_bombs_and_deep_nesting_are_refused_quickly(
        kind in 0u8..5,
        n in 1usize..100_000,
        at in prop::sample::select(vec!["", "clusters: ", "extensions: ", "current-context: "]),
    ) {
        let text = match kind {
            // Billion laughs: level i holds ten aliases of level i-1.
            0 => {
                let levels = 2 + n % 12;
                let mut s = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
                for i in 1..levels {
                    let refs = vec![format!("*l{}", i - 1); 10].join(", ");
                    s.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
                }
                format!("{s}{at}*l{}\n", levels - 1)
            }
            1 => format!("{at}{}", "[".repeat(n % 2000)),
            2 => format!("{at}{}x{}", "[".repeat(n % 2000), "]".repeat(n % 2000)),
            3 => format!("{at}{}", "{a: ".repeat(n % 2000)),
            // Block sequences nested on one line: `- - - - x`.
            _ => format!("{at}\n{}x\n", "- ".repeat(n)),
        };
        let start = std::time::Instant::now();
        let parsed = Kubeconfig::parse(&text);
        prop_assert!(start.elapsed() < std::time::Duration::from_secs(5), "took {:?}", start.elapsed());
        if let Ok(kc) = parsed {
            exercise(&kc);
        }
    }
}

// =====================================================================
// Managed fields (fieldsV1)
// =====================================================================

/// Keys of a `fieldsV1` trie: every element kind, valid or not.
fn arb_element() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["spec", "replicas", "metadata", "labels", "a", "", "x.y", "é", "f:"])
            .prop_map(|n| format!("f:{n}")),
        2 => prop::sample::select(vec![
            r#"{"name":"web"}"#,
            r#"{"protocol":"TCP","containerPort":80}"#,
            r#"{"containerPort":80,"protocol":"TCP"}"#,
            r#"{}"#,
            "null",
            "1",
            r#"{"name":"#,
            "",
            "{",
        ])
        .prop_map(|k| format!("k:{k}")),
        2 => prop::sample::select(vec![r#""a""#, "1", "1.0", "null", r#"{"a":[1]}"#, "[", "", "nul"])
            .prop_map(|v| format!("v:{v}")),
        2 => prop::sample::select(vec!["0", "3", "007", "-1", "", "x", "99999999999999999999999", "+1"])
            .prop_map(|i| format!("i:{i}")),
        2 => Just(".".to_owned()),
        1 => prop::sample::select(vec!["", "f", "x:a", "ff:a", "k", "é:", "F:a", ".."])
            .prop_map(str::to_owned),
    ]
}

fn arb_trie() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        8 => Just(json!({})),
        1 => Just(json!(null)),
        1 => Just(json!(1)),
        1 => Just(json!("x")),
        1 => Just(json!([])),
    ];
    leaf.prop_recursive(6, 64, 5, |inner| {
        prop::collection::btree_map(arb_element(), inner, 0..5)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    })
}

/// A trie of only valid nodes (so that it parses).
fn arb_valid_trie() -> impl Strategy<Value = Value> {
    arb_trie().prop_map(|v| sanitize(&v))
}

fn sanitize(v: &Value) -> Value {
    let Value::Object(m) = v else {
        return json!({});
    };
    Value::Object(
        m.iter()
            .filter(|(k, _)| valid_element(k))
            .map(|(k, c)| (k.clone(), sanitize(c)))
            .collect(),
    )
}

/// The oracle: what a `fieldsV1` key may be.
fn valid_element(k: &str) -> bool {
    if k == "." {
        return true;
    }
    let Some((prefix, rest)) = k.split_at_checked(2) else {
        return false;
    };
    match prefix {
        "f:" => true,
        "k:" | "v:" => serde_json::from_str::<Value>(rest).is_ok(),
        "i:" => rest.parse::<usize>().is_ok(),
        _ => false,
    }
}

/// The oracle: a trie parses when every node is an object with valid keys
/// (the value under `.` is not looked at).
fn valid_trie(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .all(|(k, c)| k == "." || (valid_element(k) && valid_trie(c))),
        _ => false,
    }
}

/// An object for `extract` to prune, shaped somewhat like the tries.
fn arb_object() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec!["web", "TCP", "a", ""]).prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "spec",
                    "replicas",
                    "metadata",
                    "labels",
                    "a",
                    "name",
                    "protocol",
                    "containerPort",
                    "x.y",
                ])
                .prop_map(str::to_owned),
                inner,
                0..4,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const AT: &str = "metadata.managedFields[0].fieldsV1";

fn parse_set(v: &Value) -> Result<FieldSet, Error> {
    FieldSet::from_fields_v1(&FieldsV1::from_value(v), AT)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), ..ProptestConfig::default() })]

    #[test]
    fn fields_v1_parses_exactly_the_valid_tries_and_errors_name_the_node(trie in arb_trie()) {
        match parse_set(&trie) {
            Ok(set) => {
                prop_assert!(valid_trie(&trie), "accepted an invalid trie {}", trie);
                // Re-encoding gives the same set.
                let again = FieldSet::from_fields_v1(&set.to_fields_v1(), AT).unwrap();
                prop_assert_eq!(&again, &set);
                let _ = set.to_string();
                for p in set.paths() {
                    prop_assert!(set.contains(&p));
                }
            }
            Err(Error::InvalidRequest(m)) => {
                prop_assert!(!valid_trie(&trie), "refused a valid trie {}: {}", trie, m);
                prop_assert!(m.starts_with(AT), "{}", m);
            }
            Err(other) => prop_assert!(false, "not InvalidRequest: {other:?}"),
        }
    }

    #[test]
    fn field_sets_obey_the_set_laws_and_extract_never_panics(
        a in arb_valid_trie(),
        b in arb_valid_trie(),
        object in arb_object(),
    ) {
        let a = parse_set(&a).unwrap();
        let b = parse_set(&b).unwrap();
        let u = a.union(&b);
        let d = a.difference(&b);
        for p in a.paths().iter().chain(&b.paths()) {
            prop_assert!(u.contains(p), "{:?} missing from the union", p);
        }
        for p in d.paths() {
            prop_assert!(a.contains(&p) && !b.contains(&p), "{:?} wrongly in a - b", p);
        }
        for p in a.paths() {
            if !b.contains(&p) {
                prop_assert!(d.contains(&p), "{:?} missing from a - b", p);
            }
        }
        prop_assert!(a.difference(&a).is_empty());
        prop_assert_eq!(a.union(&a), a.clone());
        let _ = a.extract(&object);
        let _ = u.extract(&object);
    }

    #[test]
    fn extract_with_arbitrary_managed_fields_never_panics(
        entries in prop::collection::vec(
            prop_oneof![
                4 => (
                    prop::sample::select(vec!["me", "other"]),
                    prop::sample::select(vec!["Apply", "Update", ""]),
                    prop::option::of(prop::sample::select(vec!["", "status", "scale"])),
                    arb_trie(),
                )
                    .prop_map(|(m, op, sub, trie)| {
                        let mut e = json!({"manager": m, "operation": op, "fieldsType": "FieldsV1", "fieldsV1": trie});
                        if let Some(s) = sub {
                            e["subresource"] = json!(s);
                        }
                        e
                    }),
                1 => Just(json!({"manager": "me", "operation": "Apply", "fieldsV1": "f:spec"})),
                1 => Just(json!({"manager": 7})),
                1 => Just(json!("entry")),
                1 => Just(json!({"manager": "me", "operation": "Apply", "time": "not a time"})),
            ],
            0..4,
        ),
        as_list in prop::bool::weighted(0.9),
        object in arb_object(),
        subresource in prop::sample::select(vec!["", "status"]),
    ) {
        let mut obj = match object {
            Value::Object(m) => Value::Object(m),
            other => json!({"spec": other}),
        };
        obj["metadata"] = json!({
            "name": "n",
            "namespace": "ns",
            "managedFields": if as_list { json!(entries) } else { json!({"not": "a list"}) },
        });
        match managed_fields::extract(&obj, "me", subresource) {
            Ok(v) => prop_assert_eq!(&v["metadata"]["name"], &json!("n")),
            Err(Error::InvalidRequest(m)) => prop_assert!(m.contains("managedFields"), "{}", m),
            Err(other) => prop_assert!(false, "not InvalidRequest: {other:?}"),
        }
    }

    #[test]
    fn deep_or_huge_fields_v1_text_is_an_error_not_a_stack_overflow(
        depth in prop_oneof![1usize..300, 300usize..100_000],
        open in prop::sample::select(vec![r#"{"f:a":"#, "[", r#"{"k:{\"a\":1}":"#]),
        closed in any::<bool>(),
        digits in 1usize..5000,
    ) {
        let close = if open == "[" { "]" } else { "}" };
        let mut inner = open.repeat(depth);
        if closed {
            inner.push_str("{}");
            inner.push_str(&close.repeat(depth));
        }
        let entry = format!(
            r#"{{"manager":"me","operation":"Apply","fieldsV1":{inner},"time":"2024-01-01T00:00:00Z"}}"#
        );
        if let Ok(e) = serde_json::from_str::<kubegen_runtime::meta::ManagedFieldsEntry>(&entry)
            && let Some(f) = &e.fields_v1
        {
            let _ = FieldSet::from_fields_v1(f, AT);
        }
        let huge = format!(r#"{{"i:{0}":{{}},"k:{{\"a\":{0}}}":{{}},"v:1e{0}":{{}}}}"#, "9".repeat(digits));
        let huge: Value = serde_json::from_str(&huge).unwrap();
        let _ = parse_set(&huge);
    }
}
