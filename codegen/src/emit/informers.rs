//! Informers and listers, like client-go's informer-gen and lister-gen, for
//! every resource the server lets clients list and watch.
//!
//! All behaviour lives in the runtime (`InformerFactory`, `ResourceInformer`,
//! `Lister`); per resource the generator writes two aliases and one accessor,
//! and for namespaced kinds a one-method extension trait so
//! `lister.pods("default")` reads as in client-go:
//!
//! ```text
//! let factory = SharedInformerFactory::new(cs, resync);
//! let pods = factory.core().v1().pods();        // PodInformer
//! let lister: PodLister = pods.lister();
//! lister.pods("default").get("web-0")?;         // via PodListerExt
//! ```

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::names::{ident, resource_methods};
use crate::model::{Model, ModuleId, Resource, Verb};

/// Resources of a module that get an informer: listable and watchable.
fn informable<'m>(model: &'m Model, module: &ModuleId) -> Vec<&'m Resource> {
    model
        .resources_in(module)
        .filter(|r| {
            r.type_id.is_some() && r.verbs.contains(&Verb::List) && r.verbs.contains(&Verb::Watch)
        })
        .collect()
}

/// Whether the module gets an `informers.rs`.
pub(crate) fn has_informers(model: &Model, module: &ModuleId) -> bool {
    !informable(model, module).is_empty()
}

/// `AppsV1Informers` for `apps/v1`.
fn version_struct(module: &ModuleId) -> Ident {
    let name: String = module
        .0
        .iter()
        .map(|s| crate::model::pascal_case(s))
        .collect();
    ident(&format!("{}Informers", name))
}

/// `AppsInformers` for the `apps` package.
fn group_struct(pkg: &str) -> String {
    format!("{}Informers", crate::model::pascal_case(pkg))
}

/// The methods `SharedInformerFactory` has besides the package accessors.
const FACTORY_METHODS: &[&str] = &[
    "new",
    "with_options",
    "start",
    "wait_for_cache_sync",
    "shutdown",
    "factory",
];

/// `src/<pkg>/<ver>/informers.rs`.
pub(crate) fn emit_version_informers(model: &Model, module: &ModuleId) -> TokenStream {
    let st = version_struct(module);
    let gv = module.0.join("/");
    let mut accessors = Vec::new();
    let mut items = Vec::new();
    let typed: Vec<_> = informable(model, module)
        .into_iter()
        .filter_map(|r| Some((r, r.type_id.as_ref().and_then(|id| model.types.get(id))?)))
        .collect();
    let rs: Vec<_> = typed.iter().map(|(r, _)| *r).collect();
    for ((r, t), m) in typed.iter().zip(resource_methods(&rs)) {
        let method = ident(&m);
        let ty = ident(&t.name);
        let informer = ident(&format!("{}Informer", t.name));
        let lister = ident(&format!("{}Lister", t.name));
        let plural = &r.plural;
        let doc = format!(" The shared informer of `{plural}`: the same one on every call.");
        // `#[inline]`: compiled only in programs that ask for the informer, not
        // here for every kind (each pulls in the list/watch and decode code).
        accessors.push(quote! {
            #[doc = #doc]
            #[inline]
            pub fn #method(&self) -> #informer { self.0.resource_informer::<super::#ty>() }
        });
        let informer_doc = format!(" Shared informer of `{gv}` `{}`.", r.kind);
        let lister_doc = format!(" Lister of `{gv}` `{}` over an informer's cache.", r.kind);
        items.push(quote! {
            #[doc = #informer_doc]
            pub type #informer = kubegen_cache::ResourceInformer<super::#ty>;
            #[doc = #lister_doc]
            pub type #lister = kubegen_cache::Lister<super::#ty>;
        });
        if r.namespaced {
            let ext = ident(&format!("{}ListerExt", t.name));
            let doc = format!(
                " `lister.{m}(namespace)`: the `{plural}` of one namespace, as client-go's lister."
            );
            items.push(quote! {
                #[doc = #doc]
                pub trait #ext {
                    #[doc = #doc]
                    fn #method(&self, namespace: &str) -> kubegen_cache::NamespaceLister<super::#ty>;
                }
                impl #ext for #lister {
                    fn #method(&self, namespace: &str) -> kubegen_cache::NamespaceLister<super::#ty> {
                        self.namespaced(namespace)
                    }
                }
            });
        }
    }
    let doc = format!(" Shared informers of `{gv}`, from `SharedInformerFactory`.");
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy)]
        pub struct #st<'a>(&'a kubegen_cache::InformerFactory);

        impl<'a> #st<'a> {
            /// Informers of this group/version over `factory`.
            pub fn new(factory: &'a kubegen_cache::InformerFactory) -> Self { Self(factory) }

            #( #accessors )*
        }

        #( #items )*
    }
}

/// `src/informers.rs`: the `SharedInformerFactory` and one struct per package.
pub(crate) fn emit_factory(model: &Model) -> TokenStream {
    let mut packages: std::collections::BTreeMap<String, Vec<ModuleId>> = Default::default();
    for module in model.modules() {
        if module.0.len() == 2 && has_informers(model, &module) {
            packages
                .entry(module.0[0].clone())
                .or_default()
                .push(module.clone());
        }
    }
    let mut group_accessors = Vec::new();
    let mut group_structs = Vec::new();
    // `a_1` and `a1` both give `A1Informers`: the later package gets a number.
    let mut struct_names = std::collections::BTreeSet::new();
    for (pkg, modules) in &packages {
        let cfg = super::cfg_any_feature(modules.iter().map(ModuleId::feature));
        // The factory's own methods keep their names.
        let accessor = if FACTORY_METHODS.contains(&pkg.as_str()) {
            format!("{pkg}_")
        } else {
            pkg.clone()
        };
        let accessor = ident(&accessor);
        let pkg_ident = ident(pkg);
        let base = group_struct(pkg);
        let mut group = base.clone();
        let mut n = 2;
        while !struct_names.insert(group.clone()) {
            group = format!("{base}{n}");
            n += 1;
        }
        let group = ident(&group);
        let doc = format!(" Informers of the `{pkg}` API package.");
        group_accessors.push(quote! {
            #[doc = #doc]
            #cfg
            pub fn #accessor(&self) -> #group<'_> { #group(&self.factory) }
        });
        let versions = modules.iter().map(|m| {
            let v = ident(&m.0[1]);
            let feature = m.feature();
            let st = version_struct(m);
            let doc = format!(" `{}` (feature `{feature}`).", m.0.join("/"));
            quote! {
                #[doc = #doc]
                #[cfg(feature = #feature)]
                pub fn #v(&self) -> crate::#pkg_ident::#v::#st<'a> { crate::#pkg_ident::#v::#st::new(self.0) }
            }
        });
        group_structs.push(quote! {
            #[doc = #doc]
            #cfg
            #[derive(Clone, Copy)]
            pub struct #group<'a>(&'a kubegen_cache::InformerFactory);

            #cfg
            impl<'a> #group<'a> { #( #versions )* }
        });
    }
    quote! {
        //! `SharedInformerFactory`: one shared informer (one watch, one cache)
        //! per kind for a whole program, as client-go's informer-gen factory.

        /// Shared informers for every group/version of this crate:
        /// `factory.apps().v1().deployments()`. Informers requested before
        /// [`start`](Self::start) run when it is called.
        #[derive(Clone, Debug)]
        pub struct SharedInformerFactory {
            factory: kubegen_cache::InformerFactory,
        }

        impl SharedInformerFactory {
            /// Informers over `clientset`'s connection in all namespaces,
            /// resynced every `default_resync` (zero: never).
            pub fn new(clientset: crate::Clientset, default_resync: std::time::Duration) -> Self {
                Self::with_options(clientset, default_resync, Default::default())
            }

            /// With client-go's factory options: one namespace, tweaked list
            /// options, per-kind resync and transform.
            pub fn with_options(
                clientset: crate::Clientset,
                default_resync: std::time::Duration,
                options: kubegen_cache::FactoryOptions,
            ) -> Self {
                let factory = kubegen_cache::InformerFactory::with_options(
                    clientset.rest().clone(), default_resync, options);
                Self { factory }
            }

            /// Start every informer requested so far (within a Tokio runtime).
            pub fn start(&self) { self.factory.start() }

            /// Wait until every started informer has synced; false if one stopped first.
            pub async fn wait_for_cache_sync(&self) -> bool { self.factory.wait_for_cache_sync().await }

            /// Stop every informer and wait for them to finish.
            pub async fn shutdown(&self) { self.factory.shutdown().await }

            /// The runtime factory underneath (dynamic informers, kinds of other crates).
            pub fn factory(&self) -> &kubegen_cache::InformerFactory { &self.factory }

            #( #group_accessors )*
        }

        #( #group_structs )*
    }
}
