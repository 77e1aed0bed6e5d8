//! Byte strings in the compiled-rule cache (see `cache`).

/// Reads a byte string and makes a value of it.
pub(crate) fn bytes<'de, D, T>(deserializer: D, make: impl FnOnce(&[u8]) -> Result<T, String>) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Bytes<F>(F);
    impl<T, F: FnOnce(&[u8]) -> Result<T, String>> serde::de::Visitor<'_> for Bytes<F> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a byte string")
        }
        fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<T, E> {
            (self.0)(bytes).map_err(E::custom)
        }
    }
    deserializer.deserialize_bytes(Bytes(make))
}

/// Bytes written as a byte string (serde writes `&[u8]` as a sequence of
/// numbers otherwise).
pub(crate) struct ByteStr<'a>(pub(crate) &'a [u8]);

impl serde::Serialize for ByteStr<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// A loaded compiled-rule file, shared by the values that are read from
/// their stored bytes on first use (rules, automata).
pub type StoredFile = std::sync::Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Stored bytes of a loaded value: a span of its file, which every such
/// value shares rather than holding a copy (a copy of every rule and
/// automaton was most of the memory a start-up from the cache wrote to).
#[derive(Clone)]
pub(crate) struct Span {
    file: StoredFile,
    start: usize,
    end: usize,
}

impl Span {
    /// The span of `file` that `part` is (`None` if `part` is not within
    /// it).
    pub(crate) fn within(file: &StoredFile, part: &[u8]) -> Option<Span> {
        let whole = (**file).as_ref();
        let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
        let end = start.checked_add(part.len())?;
        (end <= whole.len()).then(|| Span { file: file.clone(), start, end })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &(*self.file).as_ref()[self.start..self.end]
    }
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "Span({}..{})", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_is_only_taken_of_bytes_within_the_file() {
        let file: StoredFile = std::sync::Arc::new(b"ferret rules".to_vec());
        let bytes = (*file).as_ref();
        assert_eq!(Span::within(&file, &bytes[7..]).unwrap().bytes(), b"rules");
        assert_eq!(Span::within(&file, &bytes[..0]).unwrap().bytes(), b"");
        let elsewhere = b"rules".to_vec();
        assert!(Span::within(&file, &elsewhere).is_none());
    }
}
