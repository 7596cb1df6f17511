use kubegen_runtime::CustomResource;

#[derive(CustomResource, Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[kubegen(version = "v1", kind = "Foo", namespaced)]
pub struct FooSpec {
    pub x: i32,
}

fn main() {}
