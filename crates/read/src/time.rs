//! Timestamp parsing shared by the structured readers.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Reads the timestamp forms that log sources write: RFC 3339
/// (`2026-11-28T03:14:07.5Z`, with an offset), the same with a space instead
/// of `T`, and zone-less date-times (`2020-10-19 12:28:44.333`), which are
/// taken as UTC because every Windows and cloud source we know writes UTC
/// there. Epoch seconds and milliseconds are read by [`parse_epoch`].
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if text.len() < 10 || !text.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    // `2026-11-28 03:14:07Z` / `+00:00`: RFC 3339 with a space.
    if text.as_bytes().get(10) == Some(&b' ') {
        let with_t = format!("{}T{}", &text[..10], &text[11..]);
        if let Ok(ts) = with_t.parse::<Timestamp>() {
            return Some(ts);
        }
    }
    let civil = text.parse::<DateTime>().ok()?;
    TimeZone::UTC.to_timestamp(civil).ok()
}

/// Epoch seconds (`1701234567`, `1701234567.25`) or milliseconds
/// (13 digits) as written by cloud and agent logs.
pub fn parse_epoch(text: &str) -> Option<Timestamp> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i64 = int.parse().ok()?;
    match int.len() {
        9..=10 => {
            let nanos = format!("{frac:0<9}")[..9].parse::<i32>().ok()?;
            Timestamp::new(value, nanos).ok()
        }
        12..=13 => Timestamp::from_millisecond(value).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_forms() {
        let want = "2020-10-19T12:28:44.333Z";
        for text in [
            "2020-10-19T12:28:44.333Z",
            "2020-10-19 12:28:44.333",
            "2020-10-19T12:28:44.333",
            "2020-10-19T14:28:44.333+02:00",
            "2020-10-19 12:28:44.333Z",
        ] {
            assert_eq!(parse_timestamp(text).map(|t| t.to_string()).as_deref(), Some(want), "{text}");
        }
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2020-13-45 00:00:00"), None);
    }

    #[test]
    fn epochs() {
        assert_eq!(parse_epoch("1603110524").unwrap().to_string(), "2020-10-19T12:28:44Z");
        assert_eq!(parse_epoch("1603110524.333").unwrap().to_string(), "2020-10-19T12:28:44.333Z");
        assert_eq!(parse_epoch("1603110524333").unwrap().to_string(), "2020-10-19T12:28:44.333Z");
        assert_eq!(parse_epoch("42"), None);
    }
}
