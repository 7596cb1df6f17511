//! The generated half of the clientset: `Clientset` with one accessor per
//! group/version (`core_v1()`, `apps_v1()`), and per group/version a small
//! client with one accessor per resource (`pods(namespace)`, `nodes()`)
//! returning the runtime's typed `Client<K>`. Which verbs a `Client<K>`
//! offers is decided by `K`'s verb impls, so nothing here repeats per verb.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::names::{ident, resource_methods};
use crate::model::names_support::is_ident;
use crate::model::{Model, ModuleId};

/// `AppsV1Client` for `apps/v1`.
pub(crate) fn client_struct_ident(module: &ModuleId) -> Ident {
    let name: String = module
        .0
        .iter()
        .map(|s| crate::model::pascal_case(s))
        .collect();
    ident(&format!("{}Client", name))
}

/// `apps_v1` for `apps/v1` (with `_` appended should it be a keyword or one
/// of the clientset's own methods, `new`, `from_rest` or `rest`).
fn accessor_ident(module: &ModuleId) -> Ident {
    let mut name = module.feature();
    if !is_ident(&name) || matches!(name.as_str(), "new" | "from_rest" | "rest") {
        name.push('_');
    }
    ident(&name)
}

/// `src/<pkg>/<ver>/client.rs`.
pub(crate) fn emit_group_client(model: &Model, module: &ModuleId) -> TokenStream {
    let client = client_struct_ident(module);
    let gv = module.0.join("/");
    let mut methods = Vec::new();
    let typed: Vec<_> = model
        .resources_in(module)
        .filter_map(|r| Some((r, r.type_id.as_ref().and_then(|id| model.types.get(id))?)))
        .collect();
    let rs: Vec<_> = typed.iter().map(|(r, _)| *r).collect();
    for ((r, t), m) in typed.iter().zip(resource_methods(&rs)) {
        let m = ident(&m);
        let ty = ident(&t.name);
        let plural = &r.plural;
        if r.namespaced {
            let doc = format!(
                " `{plural}` in `namespace`; `\"\"` means all namespaces (list and watch only)."
            );
            methods.push(quote! {
                #[doc = #doc]
                pub fn #m(&self, namespace: &str) -> kubegen_client::Client<super::#ty> {
                    kubegen_client::Client::namespaced(self.rest.clone(), namespace)
                }
            });
        } else {
            let doc = format!(" `{plural}` (cluster-scoped).");
            methods.push(quote! {
                #[doc = #doc]
                pub fn #m(&self) -> kubegen_client::Client<super::#ty> {
                    kubegen_client::Client::cluster(self.rest.clone())
                }
            });
        }
    }
    let doc =
        format!(" Typed clients for the resources of `{gv}`, as client-go's typed group client.");
    quote! {
        #[doc = #doc]
        #[derive(Clone)]
        pub struct #client {
            rest: kubegen_client::RestClient,
        }

        impl #client {
            /// A group client over a shared HTTP handle.
            pub fn new(rest: kubegen_client::RestClient) -> Self {
                Self { rest }
            }

            /// The untyped HTTP handle underneath.
            pub fn rest(&self) -> &kubegen_client::RestClient {
                &self.rest
            }

            #( #methods )*
        }
    }
}

/// `src/clientset.rs`.
pub(crate) fn emit_clientset(model: &Model) -> TokenStream {
    let mut accessors = Vec::new();
    for module in model.modules() {
        if !model.resources_in(&module).any(|r| r.type_id.is_some()) {
            continue;
        }
        let feature = module.feature();
        let acc = accessor_ident(&module);
        let client = client_struct_ident(&module);
        let segs: Vec<Ident> = module.0.iter().map(|s| ident(s)).collect();
        let doc = format!(
            " Clients for `{}` (feature `{feature}`).",
            module.0.join("/")
        );
        accessors.push(quote! {
            #[doc = #doc]
            #[cfg(feature = #feature)]
            pub fn #acc(&self) -> crate:: #( #segs :: )* #client {
                crate:: #( #segs :: )* #client::new(self.rest.clone())
            }
        });
    }
    quote! {
        //! The clientset: one entry point to every group/version's typed clients.

        /// Typed clients for every group/version this crate was generated with,
        /// over one shared HTTP handle. Cheap to clone.
        #[derive(Clone)]
        pub struct Clientset {
            rest: kubegen_client::RestClient,
        }

        impl Clientset {
            /// Connects with `config` (see `kubegen_client::Config::infer`).
            pub fn new(config: kubegen_client::Config) -> kubegen_core::Result<Self> {
                Ok(Self::from_rest(kubegen_client::RestClient::new(config)?))
            }

            /// Wraps an existing HTTP handle.
            pub fn from_rest(rest: kubegen_client::RestClient) -> Self {
                Self { rest }
            }

            /// The untyped HTTP handle underneath.
            pub fn rest(&self) -> &kubegen_client::RestClient {
                &self.rest
            }

            #( #accessors )*
        }
    }
}
