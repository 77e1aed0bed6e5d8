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
