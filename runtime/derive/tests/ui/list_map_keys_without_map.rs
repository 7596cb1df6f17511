#[kubegen_runtime::schema]
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Ports {
    #[kubegen(list_type = "atomic", list_map_keys = ["name"])]
    pub ports: Vec<Port>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Port {
    pub name: String,
}

fn main() {}
