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

/// Appends `text` to `buf` so that folding the ASCII capitals of the
/// buffer afterwards (`str::make_ascii_lowercase`, one pass over many
/// values) leaves it lowercased: ASCII text is copied as it is, other text
/// lowercased now. Lowercased text has no ASCII capitals, so the fold
/// leaves it alone; lowercasing beyond ASCII can change a character's
/// length (`İ`) or give an ASCII letter (the Kelvin sign gives `k`).
pub(crate) fn push_to_fold(buf: &mut String, text: &str) {
    if text.is_ascii() {
        buf.push_str(text);
    } else {
        buf.push_str(&text.to_lowercase());
    }
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

    /// Values pushed with `push_to_fold`, then the buffer folded past
    /// `KEPT|`, as the prefilter's buffer is.
    fn folded(values: &[&str]) -> String {
        let mut buf = String::from("KEPT|");
        for value in values {
            push_to_fold(&mut buf, value);
            buf.push('\0');
        }
        buf[5..].make_ascii_lowercase();
        buf
    }

    #[test]
    fn values_beyond_ascii_are_lowercased_before_the_fold() {
        assert_eq!(
            folded(&["Sekurlsa::LogonPasswords", "Microsoft\u{AE} Windows\u{AE}", "\u{212A}ERBEROS::", "\u{130}X"]),
            "KEPT|sekurlsa::logonpasswords\0microsoft\u{AE} windows\u{AE}\0kerberos::\0i\u{307}x\0"
        );
    }

    proptest! {
        #[test]
        fn agrees_with_to_lowercase(text in any::<String>(), ascii in "[ -~]{0,40}") {
            prop_assert_eq!(lowered(&text), format!("kept|{}", text.to_lowercase()));
            prop_assert_eq!(lowered(&ascii), format!("kept|{}", ascii.to_lowercase()));
            prop_assert_eq!(
                folded(&[&text, &ascii]),
                format!("KEPT|{}\0{}\0", text.to_lowercase(), ascii.to_lowercase())
            );
        }
    }
}
