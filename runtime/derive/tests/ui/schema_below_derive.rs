#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[kubegen_runtime::schema]
pub struct Ports {
    #[kubegen(list_type = "set")]
    pub names: Vec<String>,
}

fn main() {}
