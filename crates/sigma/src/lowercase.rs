//! Lowercasing event values, as the rule side lowercases its values
//! (`str::to_lowercase`), at the speed the prefilter needs: every value an
//! event's rules may search is lowercased once per event, which made
//! lowercasing a seventh of the matching instructions when values went
//! one call each and each call byte by byte.

/// Appends `text` lowercased to `buf`: ASCII text (nearly all of it in
/// logs) is copied, then folded eight bytes at a time.
pub(crate) fn push_lowercase(buf: &mut String, text: &str) {
    let start = buf.len();
    buf.push_str(text);
    if !fold_ascii_from(buf, start) {
        buf.truncate(start);
        buf.push_str(&text.to_lowercase());
    }
}

/// Lowercases `buf[from..]` in place if it is all ASCII (true); leaves it
/// as it is otherwise (false).
pub(crate) fn fold_ascii_from(buf: &mut String, from: usize) -> bool {
    if !buf.as_bytes()[from..].is_ascii() {
        return false;
    }
    // SAFETY: the bytes folded are ASCII and stay ASCII: the string stays
    // valid UTF-8.
    let bytes = &mut unsafe { buf.as_mut_vec() }[from..];
    let mut chunks = bytes.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes((&*chunk).try_into().expect("chunks of eight"));
        chunk.copy_from_slice(&fold_ascii_word(word).to_le_bytes());
    }
    chunks.into_remainder().make_ascii_lowercase();
    true
}

/// Lowercases eight ASCII bytes at once: 0x20 is added to each byte in
/// `A..=Z`. Adding to a byte below 0x80 cannot carry into the next one.
fn fold_ascii_word(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    // High bit set where the byte is at least 'A', and where it is past 'Z'.
    let from_a = word + ONES * (0x80 - u64::from(b'A'));
    let past_z = word + ONES * (0x80 - u64::from(b'Z') - 1);
    let upper = from_a & !past_z & HIGH;
    word | (upper >> 2)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn lowered(text: &str) -> String {
        let mut buf = String::from("kept|");
        push_lowercase(&mut buf, text);
        buf
    }

    #[test]
    fn every_ascii_byte_folds_as_the_standard_library_folds_it() {
        let all: String = (0u8..128).map(char::from).collect();
        for start in 0..8 {
            assert_eq!(lowered(&all[start..]), format!("kept|{}", all[start..].to_lowercase()));
        }
    }

    #[test]
    fn folding_in_place_stops_at_non_ascii() {
        let mut buf = String::from("KEEP|Sekurlsa::LogonPasswords\0MIMIKATZ.EXE");
        assert!(fold_ascii_from(&mut buf, 5));
        assert_eq!(buf, "KEEP|sekurlsa::logonpasswords\0mimikatz.exe");
        let mut kelvin = String::from("KEEP|\u{212A}ERBEROS::");
        assert!(!fold_ascii_from(&mut kelvin, 5));
        assert_eq!(kelvin, "KEEP|\u{212A}ERBEROS::", "left alone for the caller to lowercase");
    }

    proptest! {
        #[test]
        fn agrees_with_to_lowercase(text in any::<String>(), ascii in "[ -~]{0,40}") {
            prop_assert_eq!(lowered(&text), format!("kept|{}", text.to_lowercase()));
            prop_assert_eq!(lowered(&ascii), format!("kept|{}", ascii.to_lowercase()));
            let mut folded = format!("KEPT|{ascii}");
            prop_assert!(fold_ascii_from(&mut folded, 5));
            prop_assert_eq!(folded, format!("KEPT|{}", ascii.to_lowercase()));
        }
    }
}
