//! Ready-made transforms for [`InformerBuilder::transform`] and
//! [`FactoryOptions::transform`]: what a controller usually leaves out of its
//! cache. bench/README.md gives what each saves per cached Pod.
//!
//! [`InformerBuilder::transform`]: crate::InformerBuilder::transform
//! [`FactoryOptions::transform`]: crate::FactoryOptions::transform

use kubegen_core::Object;

/// Drops `metadata.managedFields` (controller-runtime's
/// `TransformStripManagedFields`). Few controllers read them, and they are
/// about 40% of a typical object's JSON. Objects from this cache must then not
/// be sent back with an update that expects them (an apply is unaffected:
/// the server keeps its own record).
pub fn strip_managed_fields<K: Object>(mut obj: K) -> K {
    obj.metadata_mut().managed_fields = None;
    obj
}

/// Keeps only `metadata`: every other field is reset to its default. For a
/// controller that only needs names, labels, owners and resource versions of
/// a kind; the objects in this cache are then not the server's objects and
/// must never be written back.
pub fn metadata_only<K: Object + Default>(mut obj: K) -> K {
    let metadata = std::mem::take(obj.metadata_mut());
    let mut projected = K::default();
    *projected.metadata_mut() = metadata;
    projected
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TestObj, obj};
    use kubegen_core::meta::ManagedFieldsEntry;

    #[test]
    fn strip_managed_fields_keeps_the_rest() {
        let mut o = std::sync::Arc::unwrap_or_clone(obj("ns", "a", 7));
        o.metadata.managed_fields = Some(vec![ManagedFieldsEntry::default()]);
        let stripped = strip_managed_fields(o.clone());
        assert_eq!(stripped.metadata.managed_fields, None);
        assert_eq!(stripped.value, 7);
        assert_eq!(stripped.metadata.name, o.metadata.name);
    }

    #[test]
    fn metadata_only_resets_everything_but_metadata() {
        let o: TestObj = std::sync::Arc::unwrap_or_clone(obj("ns", "a", 7));
        let projected = metadata_only(o.clone());
        assert_eq!(projected.metadata, o.metadata);
        assert_eq!(projected.value, 0);
    }
}
