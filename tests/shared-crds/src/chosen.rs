// Shared by build.rs (which generates the types) and the library (which
// names them): one CRD file per project of ../shared/crds, and the kind in it.

/// One CRD chosen from a project of the shared corpus.
#[derive(Clone, Copy, Debug)]
pub struct Chosen {
    /// Project folder under `shared/crds`.
    pub project: &'static str,
    /// CRD file, relative to `shared/crds`.
    pub file: &'static str,
    /// The kind used from that file (a file may hold several CRDs).
    pub kind: &'static str,
}

/// The chosen CRDs, one per project (19). Picked for field variety at a
/// moderate size: no conversion webhooks (the test cluster runs none), and
/// none that another e2e test installs and removes (Gateway API's Gateway).
pub const CHOSEN: &[Chosen] = &[
    Chosen {
        project: "argo-cd",
        file: "argo-cd/appproject-crd.yaml",
        kind: "AppProject",
    },
    Chosen {
        project: "argo-workflows",
        file: "argo-workflows/argoproj.io_workfloweventbindings.yaml",
        kind: "WorkflowEventBinding",
    },
    Chosen {
        project: "cert-manager",
        file: "cert-manager/cert-manager.io_certificates.yaml",
        kind: "Certificate",
    },
    Chosen {
        project: "cluster-api",
        file: "cluster-api/core/cluster.x-k8s.io_machinedrainrules.yaml",
        kind: "MachineDrainRule",
    },
    Chosen {
        project: "crossplane",
        file: "crossplane/apiextensions.crossplane.io_compositions.yaml",
        kind: "Composition",
    },
    Chosen {
        project: "external-secrets",
        file: "external-secrets/external-secrets.io_externalsecrets.yaml",
        kind: "ExternalSecret",
    },
    Chosen {
        project: "flux-helm-controller",
        file: "flux-helm-controller/helm.toolkit.fluxcd.io_helmreleases.yaml",
        kind: "HelmRelease",
    },
    Chosen {
        project: "flux-source-controller",
        file: "flux-source-controller/source.toolkit.fluxcd.io_gitrepositories.yaml",
        kind: "GitRepository",
    },
    Chosen {
        project: "gateway-api",
        file: "gateway-api/standard/gateway.networking.k8s.io_grpcroutes.yaml",
        kind: "GRPCRoute",
    },
    Chosen {
        project: "istio",
        file: "istio/crd-all.gen.yaml",
        kind: "ServiceEntry",
    },
    Chosen {
        project: "jobset",
        file: "jobset/jobset.x-k8s.io_jobsets.yaml",
        kind: "JobSet",
    },
    Chosen {
        project: "keda",
        file: "keda/keda.sh_scaledobjects.yaml",
        kind: "ScaledObject",
    },
    Chosen {
        project: "knative-serving",
        file: "knative-serving/route.yaml",
        kind: "Route",
    },
    Chosen {
        project: "kueue",
        file: "kueue/kueue.x-k8s.io_resourceflavors.yaml",
        kind: "ResourceFlavor",
    },
    Chosen {
        project: "kyverno",
        file: "kyverno/policyreport/wgpolicyk8s.io_policyreports.yaml",
        kind: "PolicyReport",
    },
    Chosen {
        project: "prometheus-operator",
        file: "prometheus-operator/monitoring.coreos.com_servicemonitors.yaml",
        kind: "ServiceMonitor",
    },
    Chosen {
        project: "sample-controller",
        file: "sample-controller/crd-status-subresource.yaml",
        kind: "Foo",
    },
    Chosen {
        project: "tekton-pipeline",
        file: "tekton-pipeline/300-verificationpolicy.yaml",
        kind: "VerificationPolicy",
    },
    Chosen {
        project: "velero",
        file: "velero/v1/velero.io_backups.yaml",
        kind: "Backup",
    },
];
