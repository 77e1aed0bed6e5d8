//! Field-name interning.
//!
//! Field names repeat in every record (`EventID`, `Image`, `user.name`...),
//! so events store a 4-byte [`Field`] symbol instead of a string. One
//! [`FieldNames`] is shared (behind an `Arc`) by the readers and the rule
//! compiler of a run, so a rule's field and an event's field are the same
//! symbol. Each reader keeps a [`FieldCache`] in front of it so the shared
//! map is only consulted the first time a reader meets a name.

use std::sync::Arc;

use lasso::{Spur, ThreadedRodeo};

/// An interned field name. Compare and hash it like an integer; resolve it
/// through the [`FieldNames`] that produced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Field(Spur);

/// A field is stored as its index: only meaningful with the names it was
/// interned in, which whoever stores it must store too (the compiled-rule
/// cache stores the whole table and checks it on loading).
impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.index() as u32)
    }
}

impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Field, D::Error> {
        let index = u32::deserialize(deserializer)?;
        lasso::Key::try_from_usize(index as usize)
            .map(Field)
            .ok_or_else(|| serde::de::Error::custom(format!("field index {index} out of range")))
    }
}

impl Field {
    /// A dense index (0, 1, 2... in interning order), for per-event tables
    /// indexed by field.
    pub fn index(self) -> usize {
        lasso::Key::into_usize(self.0)
    }
}

/// The shared, thread-safe field-name interner of one run.
#[derive(Debug, Default)]
pub struct FieldNames {
    rodeo: ThreadedRodeo,
}

impl FieldNames {
    /// A new, empty interner, ready to share between threads.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The symbol for `name`, creating it if needed.
    pub fn intern(&self, name: &str) -> Field {
        Field(self.rodeo.get_or_intern(name))
    }

    /// The symbol for `name` if any event or rule has used it.
    pub fn get(&self, name: &str) -> Option<Field> {
        self.rodeo.get(name).map(Field)
    }

    /// How many names are interned; every [`Field::index`] is below it.
    pub fn len(&self) -> usize {
        self.rodeo.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rodeo.is_empty()
    }

    /// The text of a symbol.
    pub fn resolve(&self, field: Field) -> &str {
        self.rodeo.resolve(&field.0)
    }

    /// Every name, in interning order (index 0 first).
    pub fn in_order(&self) -> Vec<String> {
        let mut names: Vec<(usize, &str)> =
            self.rodeo.iter().map(|(key, name)| (lasso::Key::into_usize(key), name)).collect();
        names.sort_unstable();
        names.into_iter().map(|(_, name)| name.to_owned()).collect()
    }

    /// Interns `names` so that `names[i]` gets index `i`, as when they were
    /// stored with [`FieldNames::in_order`]: true if they did (this
    /// interner held nothing else, or the same names first).
    pub fn restore(&self, names: &[String]) -> bool {
        names.iter().enumerate().all(|(index, name)| self.intern(name).index() == index)
    }
}

/// A per-reader cache in front of [`FieldNames`]: lookups of names this
/// reader has already seen touch no shared state.
#[derive(Debug)]
pub struct FieldCache {
    names: Arc<FieldNames>,
    /// Looked up for every field of every event: foldhash.
    local: foldhash::HashMap<Box<str>, Field>,
}

impl FieldCache {
    pub fn new(names: Arc<FieldNames>) -> Self {
        Self { names, local: Default::default() }
    }

    /// The symbol for `name`.
    pub fn intern(&mut self, name: &str) -> Field {
        if let Some(field) = self.local.get(name) {
            return *field;
        }
        let field = self.names.intern(name);
        self.local.insert(name.into(), field);
        field
    }

    /// The symbol for `name` if any event or rule has used it, without
    /// interning it (a name found is remembered, a name missing asked for
    /// again).
    pub fn get(&mut self, name: &str) -> Option<Field> {
        if let Some(field) = self.local.get(name) {
            return Some(*field);
        }
        let field = self.names.get(name)?;
        self.local.insert(name.into(), field);
        Some(field)
    }

    /// The shared interner behind this cache.
    pub fn names(&self) -> &Arc<FieldNames> {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_and_shared_interner_agree() {
        let names = FieldNames::new();
        let mut a = FieldCache::new(names.clone());
        let mut b = FieldCache::new(names.clone());
        let image = a.intern("Image");
        assert_eq!(b.intern("Image"), image);
        assert_ne!(a.intern("image"), image, "field names are case-sensitive");
        assert_eq!(names.resolve(image), "Image");
        assert_eq!(names.get("Image"), Some(image));
        assert_eq!(names.get("Nope"), None);
        assert_eq!(a.get("Nope"), None, "looking a name up does not intern it");
        assert_eq!(names.get("Nope"), None);
        assert_eq!(b.get("image"), names.get("image"));
    }
}
