//! No secret of the test cluster's kubeconfig — its users' tokens and the
//! client key — appears in `Debug` output, error messages or logs (every
//! `tracing` event at TRACE, from kubegen and the HTTP stack) on any config
//! and auth path: each context's config and client, successful, forbidden,
//! missing and unauthorized requests, a watch, a failing exec plugin given
//! the token in its arguments and environment, exec plugins returning the
//! client key (with its certificate, and with one it does not match), the
//! key read from files (the same two ways), and http, https and socks5
//! proxy URLs carrying it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kubegen_e2e::{ConfigMap, Namespace, config, kubeconfig};
use kubegen_runtime::auth::{ExecAuth, InteractiveMode};
use kubegen_runtime::{Client, GetOptions, ListOptions, RestClient};
use secrecy::ExposeSecret;

/// Collects every log line.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The kubeconfig's secrets, as they could leak: token values, the key's
/// base64 field and each base64 line of the PEM inside it.
fn secrets() -> Vec<String> {
    use base64::Engine as _;
    let kc = kubeconfig();
    let mut out = Vec::new();
    for u in &kc.users {
        if let Some(t) = &u.user.token {
            out.push(t.expose_secret().to_owned());
        }
        if let Some(k) = &u.user.client_key_data {
            let field = k.expose_secret().to_owned();
            let pem = base64::engine::general_purpose::STANDARD
                .decode(field.trim())
                .expect("client-key-data is base64");
            let pem = String::from_utf8(pem).expect("PEM text");
            out.extend(
                pem.lines()
                    .filter(|l| !l.starts_with("-----") && l.len() > 16)
                    .map(str::to_owned),
            );
            out.push(field);
        }
    }
    assert!(
        out.len() >= 3,
        "the test cluster has two tokens and a key: {}",
        out.len()
    );
    out
}

/// The `cert` user's certificate and key, PEM.
fn cert_user_pem() -> (String, String) {
    use base64::Engine as _;
    let kc = kubeconfig();
    let user = &kc.user("cert").expect("the cert user").user;
    let decode = |b64: &str| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .unwrap(),
        )
        .unwrap()
    };
    (
        decode(user.client_certificate_data.as_deref().unwrap()),
        decode(user.client_key_data.as_ref().unwrap().expose_secret()),
    )
}

async fn exercise(rest: RestClient, shown: &mut String) {
    let namespaces = Client::<Namespace>::cluster(rest.clone());
    match namespaces.list(&ListOptions::default().limit(1)).await {
        Ok(list) => shown.push_str(&format!("{:?}", list.metadata)),
        Err(e) => shown.push_str(&format!("{e}\n{e:?}\n")),
    }
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), "default");
    if let Err(e) = cms
        .get("kubegen-no-such-object", &GetOptions::default())
        .await
    {
        shown.push_str(&format!("{e}\n{e:?}\n"));
    }
    match cms.watch(&ListOptions::default().timeout_seconds(1)).await {
        Ok(mut w) => {
            while let Some(ev) = w.next().await {
                if let Err(e) = ev {
                    shown.push_str(&format!("{e:?}\n"));
                }
            }
        }
        Err(e) => shown.push_str(&format!("{e}\n{e:?}\n")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_debug_errors_or_logs() {
    let logs = Capture::default();
    let sink = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish(),
    )
    .expect("the only subscriber of this test binary");
    let secrets = secrets();
    let admin_token = secrets[0].clone();
    let mut shown = format!("{:?}\n", kubeconfig());

    for context in ["admin", "limited", "cert"] {
        let cfg = config(context);
        shown.push_str(&format!("{cfg:?}\n"));
        let rest = RestClient::new(cfg).expect("client");
        shown.push_str(&format!("{rest:?}\n"));
        exercise(rest, &mut shown).await;
    }

    // A token the server does not know (401), close to a real one.
    let mut cfg = config("admin");
    cfg.auth.token = Some(format!("{admin_token}x").into());
    exercise(RestClient::new(cfg).expect("client"), &mut shown).await;

    // An exec plugin handed the token in its arguments and environment, failing.
    let mut cfg = config("admin");
    cfg.auth.token = None;
    cfg.auth.exec = Some(ExecAuth {
        api_version: "client.authentication.k8s.io/v1".into(),
        command: "sh".into(),
        // The token as an (unused) argument; stderr is the test's own.
        args: vec![
            "-c".into(),
            "exit 1".into(),
            "plugin".into(),
            admin_token.clone(),
        ],
        env: vec![("PLUGIN_SECRET".into(), admin_token.clone().into())],
        interactive_mode: InteractiveMode::Never,
        ..Default::default()
    });
    shown.push_str(&format!("{cfg:?}\n"));
    exercise(RestClient::new(cfg).expect("client"), &mut shown).await;

    // The client key from an exec plugin and from files, with its own
    // certificate (works) and with the CA's (refused).
    let (cert_pem, key_pem) = cert_user_pem();
    let ca_pem = config("cert").root_cert_pem.expect("the cluster CA");
    let ca_pem = String::from_utf8(ca_pem).unwrap();
    let dir = std::env::temp_dir().join(format!("kubegen-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, cert) in [("good", &cert_pem), ("mismatched", &ca_pem)] {
        let out = dir.join(format!("{name}.json"));
        let credential = serde_json::json!({
            "apiVersion": "client.authentication.k8s.io/v1",
            "kind": "ExecCredential",
            "status": {"clientCertificateData": cert, "clientKeyData": key_pem},
        });
        std::fs::write(&out, credential.to_string()).unwrap();
        let mut cfg = config("admin");
        cfg.auth.token = None;
        cfg.auth.exec = Some(ExecAuth {
            api_version: "client.authentication.k8s.io/v1".into(),
            command: "cat".into(),
            args: vec![out.to_string_lossy().into_owned()],
            interactive_mode: InteractiveMode::Never,
            ..Default::default()
        });
        exercise(RestClient::new(cfg).expect("client"), &mut shown).await;

        let (crt, key) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&crt, cert).unwrap();
        std::fs::write(&key, &key_pem).unwrap();
        let mut cfg = config("cert");
        if let Some(c) = cfg.auth.client_certificate.as_mut() {
            c.files = Some((crt, key));
        }
        shown.push_str(&format!("{cfg:?}\n"));
        match RestClient::new(cfg) {
            Ok(rest) => exercise(rest, &mut shown).await,
            Err(e) => shown.push_str(&format!("{e}\n{e:?}\n")),
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        shown.contains("do not go together"),
        "the mismatched pair was refused"
    );

    // Proxy URLs carrying the token as their password, unreachable.
    for scheme in ["http", "https", "socks5"] {
        let mut cfg = config("admin");
        cfg.proxy_url = Some(
            format!("{scheme}://user:{admin_token}@127.0.0.1:1")
                .parse()
                .unwrap(),
        );
        cfg.max_retries = 0;
        cfg.connect_timeout = Some(Duration::from_secs(2));
        shown.push_str(&format!("{cfg:?}\n"));
        exercise(RestClient::new(cfg).expect("client"), &mut shown).await;
    }

    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("kube_request"),
        "request spans were logged (else this test proves nothing)"
    );
    assert!(
        shown.contains("Forbidden") || shown.contains("forbidden"),
        "the limited user's refusal was seen"
    );
    assert!(
        shown.contains("Unauthorized"),
        "the wrong token's 401 was seen"
    );
    for (i, secret) in secrets.iter().enumerate() {
        assert!(
            !shown.contains(secret.as_str()),
            "secret #{i} in Debug or error output"
        );
        assert!(!logs.contains(secret.as_str()), "secret #{i} in the logs");
    }
}
