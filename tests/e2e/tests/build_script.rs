//! The build-script example (`examples/crds-in-build-script`) against the
//! real cluster: the CRD beside its code installed, and the types and
//! clientset its build.rs generated doing create, get, status and list.

use crds_in_build_script::Clientset;
use crds_in_build_script::example::v1::{Backup, BackupSpec, BackupStatus};
use kubegen_e2e::{admin, apply_crd, drop_namespace, test_namespace};
use kubegen_runtime::{CreateOptions, GetOptions, ListOptions, UpdateOptions};

#[tokio::test]
async fn types_generated_in_a_build_script_talk_to_the_cluster() {
    let rest = admin();
    let manifest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/crds-in-build-script/crds/backup.yaml"
    );
    let crd: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    apply_crd(
        &rest,
        "backups.example.kubegen.dev",
        &crd,
        "kubegen-e2e-build-script",
    )
    .await;
    let ns = test_namespace(&rest, "build-script").await;
    let backups = Clientset::from_rest(rest.clone()).example_v1().backups(&ns);

    let mut nightly = Backup::default();
    nightly.metadata.name = Some("nightly".into());
    nightly.spec = Some(BackupSpec {
        volume: "data".into(),
        schedule: "0 3 * * *".into(),
        keep: Some(7),
    });
    backups
        .create(&nightly, &CreateOptions::default())
        .await
        .unwrap();
    let mut stored = backups
        .get("nightly", &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(stored.spec.as_ref().unwrap().keep, Some(7));
    stored.status = Some(BackupStatus {
        last_copy: Some("2026-12-03T03:00:00Z".parse().unwrap()),
    });
    let updated = backups
        .update_status(&stored, &UpdateOptions::default())
        .await
        .unwrap();
    assert!(updated.status.and_then(|s| s.last_copy).is_some());
    // The schema's minimum is the server's to enforce: keep 0 is refused.
    let mut none_kept = nightly.clone();
    none_kept.metadata.name = Some("none-kept".into());
    none_kept.spec.as_mut().unwrap().keep = Some(0);
    let refused = backups
        .create(&none_kept, &CreateOptions::default())
        .await
        .unwrap_err();
    assert!(refused.is_invalid(), "{refused}");
    let names: Vec<_> = backups
        .list(&ListOptions::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|b| b.metadata.name)
        .collect();
    assert_eq!(names, ["nightly"]);
    drop_namespace(&rest, &ns).await;
}
