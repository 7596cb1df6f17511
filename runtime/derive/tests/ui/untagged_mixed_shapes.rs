#[kubegen_runtime::schema]
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Target {
    Name(String),
    Spec { replicas: i32 },
}

fn main() {}
