use kubegen_runtime::CustomResource;

// The scale subresource reads replicas from `.status`, but there is no status.
#[derive(CustomResource, Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[kubegen(group = "example.com", version = "v1", kind = "Foo")]
#[kubegen(scale(spec_replicas_path = ".spec.replicas", status_replicas_path = ".status.replicas"))]
pub struct FooSpec {
    pub replicas: i32,
}

fn main() {}
