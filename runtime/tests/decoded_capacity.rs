//! Decoded objects keep no spare list capacity: serde grows a `Vec` to four
//! slots on its first element, and an informer holds every object it decoded
//! for as long as it runs (bench b: 4.6 KB of a cached Pod's 20 KB).

use kubegen_api::core::v1::Pod;

#[test]
fn lists_of_a_decoded_pod_have_no_spare_capacity() {
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-0",
            "finalizers": ["example.com/cleanup"],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "u"}],
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1"}],
        },
        "spec": {
            "containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "emptyDir": {}}],
        },
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }))
    .unwrap();
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref().unwrap();
    let container = &spec.containers[0];
    let capacities = [
        (
            "metadata.finalizers",
            meta.finalizers.as_ref().unwrap().capacity(),
        ),
        (
            "metadata.ownerReferences",
            meta.owner_references.as_ref().unwrap().capacity(),
        ),
        (
            "metadata.managedFields",
            meta.managed_fields.as_ref().unwrap().capacity(),
        ),
        ("spec.containers", spec.containers.capacity()),
        (
            "spec.containers[0].ports",
            container.ports.as_ref().unwrap().capacity(),
        ),
        (
            "spec.containers[0].volumeMounts",
            container.volume_mounts.as_ref().unwrap().capacity(),
        ),
        ("spec.volumes", spec.volumes.as_ref().unwrap().capacity()),
        (
            "status.conditions",
            pod.status
                .as_ref()
                .unwrap()
                .conditions
                .as_ref()
                .unwrap()
                .capacity(),
        ),
    ];
    for (path, capacity) in capacities {
        assert_eq!(capacity, 1, "{path}: capacity {capacity} for one element");
    }
}
