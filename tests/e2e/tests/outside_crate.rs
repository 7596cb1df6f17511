//! A new user's path, outside this workspace: a CRD manifest in a directory
//! of their own, a crate generated from it with the generator's defaults
//! (its runtime dependency is the kubegen checkout the generator was built
//! from, as `kubegen generate` picks by default), and a program of their own
//! on top that creates and lists the custom objects on the real cluster.
//!
//! - `a_crate_generated_outside_the_workspace_builds_and_talks_to_the_cluster`:
//!   the generated Cargo.toml names the checkout by path and its README names
//!   the input relative to the crate; `cargo run` of the program (a workspace
//!   of its own under the system's temporary directory) prints the object it
//!   created, and the server has it.
//!
//! The program's dependencies build in `target/outside-crate` of this
//! workspace, so a second run is warm.

use kubegen_e2e::outside::{cargo_run, workspace_root};
use kubegen_e2e::{admin, apply_crd, drop_namespace, kubeconfig_path, test_namespace, unique};

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.outside.kubegen.test
spec:
  group: outside.kubegen.test
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, description: How big.}
              color: {type: string}
"#;

const MAIN_RS: &str = r#"use gadgets::outside::v1::{Gadget, GadgetSpec};
use kubegen_client::Config;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (kubeconfig, namespace) = (args.next().unwrap(), args.next().unwrap());
    let config = Config::from_kubeconfig(&kubeconfig, Some("admin"))?;
    let gadgets = gadgets::Clientset::new(config)?.outside_v1().gadgets(&namespace);
    let mut gadget = Gadget::default();
    gadget.metadata.name = Some("from-outside".into());
    gadget.spec = Some(GadgetSpec { size: 3, color: Some("teal".into()) });
    gadgets.create(&gadget, &Default::default()).await?;
    for g in gadgets.list(&Default::default()).await?.items {
        let spec = g.spec.unwrap();
        println!("{} {} {}", g.metadata.name.unwrap(), spec.size, spec.color.unwrap());
    }
    Ok(())
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crate_generated_outside_the_workspace_builds_and_talks_to_the_cluster() {
    let home = std::env::temp_dir().join(unique("kubegen-outside"));
    let (crds, generated, app) = (home.join("crds"), home.join("gadgets"), home.join("app"));
    std::fs::create_dir_all(&crds).unwrap();
    std::fs::write(crds.join("gadget.yaml"), CRD).unwrap();

    // The generator with a user's defaults: only inputs and output given.
    let checkout = kubegen::built_from_checkout().expect("the generator was built from a checkout");
    assert_eq!(checkout, workspace_root());
    kubegen::generate(&kubegen::GenerateOptions {
        crds: vec![crds.clone()],
        out: generated.clone(),
        crate_name: Some("gadgets".into()),
        kubegen_path: kubegen::built_from_checkout(),
        progress: false,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("generate: {e}"));
    let manifest = std::fs::read_to_string(generated.join("Cargo.toml")).unwrap();
    let core = checkout.join("runtime/core");
    assert!(
        manifest.contains(&format!("kubegen-core = {{ path = {:?} }}", core)),
        "{manifest}"
    );
    let readme = std::fs::read_to_string(generated.join("README.md")).unwrap();
    assert!(readme.contains("from ../crds."), "{readme}");

    let rest = admin();
    apply_crd(
        &rest,
        "gadgets.outside.kubegen.test",
        &serde_yaml_ng_value(CRD),
        "kubegen-e2e-outside",
    )
    .await;
    let ns = test_namespace(&rest, "outside").await;
    let run = cargo_run(
        &app,
        r#"gadgets = { path = "../gadgets" }"#,
        MAIN_RS,
        &[kubeconfig_path().as_os_str(), ns.as_ref()],
    );
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    let on_server = kubegen_runtime::Client::<kubegen_runtime::DynamicObject>::new_with(
        rest.clone(),
        kubegen_runtime::ApiResource {
            group: "outside.kubegen.test".into(),
            version: "v1".into(),
            kind: "Gadget".into(),
            plural: "gadgets".into(),
            scope: kubegen_runtime::Scope::Namespaced,
        },
        Some(ns.clone()),
    )
    .get("from-outside", &Default::default())
    .await;
    drop_namespace(&rest, &ns).await;
    let _ = std::fs::remove_dir_all(&home);
    assert!(run.status.success(), "cargo run failed:\n{stderr}");
    assert_eq!(stdout.trim(), "from-outside 3 teal", "{stderr}");
    let gadget = on_server.unwrap();
    assert_eq!(gadget.data["spec"]["size"], 3);
}

fn serde_yaml_ng_value(yaml: &str) -> serde_json::Value {
    serde_yaml_ng::from_str(yaml).unwrap()
}
