use kubegen_runtime::CustomResource;

#[derive(CustomResource, Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[kubegen(group = "example.com", version = "v1", kind = "Foo")]
pub struct FooSpec {
    #[kubegen(list_type = "set")]
    pub names: Vec<String>,
}

fn main() {}
