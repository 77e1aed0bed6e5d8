//! Lowercasing event values, as the rule side lowercases its values
//! (`str::to_lowercase`), at the speed the prefilter needs: every value an
//! event's rules may search is lowercased once per event, which made
//! lowercasing a seventh of the matching instructions when values went
//! one call each and each call byte by byte.

/// Appends `text` lowercased to `buf`: ASCII text (nearly all of it in
/// logs) is copied, then folded in place.
pub(crate) fn push_lowercase(buf: &mut String, text: &str) {
    if text.is_ascii() {
        let start = buf.len();
        buf.push_str(text);
        buf[start..].make_ascii_lowercase();
    } else {
        buf.push_str(&text.to_lowercase());
    }
}

/// Lowercases `text` in place if it is all ASCII (true); leaves it as it
/// is otherwise (false), for `to_lowercase` to fold: beyond ASCII,
/// lowercasing can change a character's length (`İ`) or give an ASCII
/// letter (the Kelvin sign gives `k`).
pub(crate) fn fold_ascii(text: &mut str) -> bool {
    if !text.is_ascii() {
        return false;
    }
    // The standard library's loop over the bytes: a hand-written
    // eight-bytes-at-a-time fold (and its `unsafe`) saved no instructions.
    text.make_ascii_lowercase();
    true
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
        assert!(fold_ascii(&mut buf[5..]));
        assert_eq!(buf, "KEEP|sekurlsa::logonpasswords\0mimikatz.exe");
        let mut kelvin = String::from("KEEP|\u{212A}ERBEROS::");
        assert!(!fold_ascii(&mut kelvin[5..]));
        assert_eq!(kelvin, "KEEP|\u{212A}ERBEROS::", "left alone for the caller to lowercase");
    }

    proptest! {
        #[test]
        fn agrees_with_to_lowercase(text in any::<String>(), ascii in "[ -~]{0,40}") {
            prop_assert_eq!(lowered(&text), format!("kept|{}", text.to_lowercase()));
            prop_assert_eq!(lowered(&ascii), format!("kept|{}", ascii.to_lowercase()));
            let mut folded = format!("KEPT|{ascii}");
            prop_assert!(fold_ascii(&mut folded[5..]));
            prop_assert_eq!(folded, format!("KEPT|{}", ascii.to_lowercase()));
        }
    }
}
