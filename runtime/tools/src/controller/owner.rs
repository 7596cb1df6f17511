//! Owner references: who controls an object (apimachinery's `metav1`
//! helpers `GetControllerOf`, `IsControlledBy`, `NewControllerRef`).

use kubegen_core::meta::{ObjectMeta, OwnerReference};
use kubegen_core::resource::{Object, Resource};

/// The owner reference marked `controller: true`, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_deref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// Whether `owner` (by uid) is the controller of `object`.
pub fn is_controlled_by(object: &ObjectMeta, owner: &ObjectMeta) -> bool {
    match (controller_of(object), owner.uid.as_deref()) {
        (Some(r), Some(uid)) => r.uid == uid,
        _ => false,
    }
}

/// A controller owner reference to `owner`: the garbage collector deletes
/// the owned object with it, and its foreground deletion waits for the
/// owned object. `None` when `owner` has no name or uid yet (it was never
/// stored by a server).
pub fn controller_reference<K: Object + Resource>(owner: &K) -> Option<OwnerReference> {
    let meta = owner.metadata();
    Some(OwnerReference {
        api_version: K::API_VERSION.into(),
        kind: K::KIND.into(),
        name: meta.name.clone().filter(|n| !n.is_empty())?,
        uid: meta.uid.clone().filter(|u| !u.is_empty())?,
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}

/// Whether `reference` names an object of kind `K` (group and kind; the
/// version may differ, as the garbage collector reads it).
pub fn refers_to<K: Resource>(reference: &OwnerReference) -> bool {
    let group = reference
        .api_version
        .rsplit_once('/')
        .map_or("", |(group, _)| group);
    group == K::GROUP && reference.kind == K::KIND
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubegen_api::core::v1::{ConfigMap, Secret};

    fn named(name: &str, uid: Option<&str>) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                uid: uid.map(Into::into),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_controller_reference_names_its_owner_and_is_found_again() {
        let owner = named("web", Some("u-1"));
        let r = controller_reference(&owner).unwrap();
        assert_eq!(
            (r.api_version.as_str(), r.kind.as_str()),
            ("v1", "ConfigMap")
        );
        assert!(refers_to::<ConfigMap>(&r));
        assert!(!refers_to::<Secret>(&r));
        let mut not_controller = r.clone();
        not_controller.controller = None;
        let owned = ObjectMeta {
            owner_references: Some(vec![not_controller, r]),
            ..Default::default()
        };
        assert_eq!(controller_of(&owned).unwrap().uid, "u-1");
        assert!(is_controlled_by(&owned, &owner.metadata));
        assert!(!is_controlled_by(
            &owned,
            &named("web", Some("u-2")).metadata
        ));
        // Never stored: no uid to point at.
        assert!(controller_reference(&named("web", None)).is_none());
    }
}
