//! gen_authlog: time stamps.

use crate::*;

/// Formats microseconds since the epoch as `2026-11-28T02:47:30.690163+00:00`,
/// caching the date of the last day seen.
#[derive(Default)]
pub(crate) struct Clock {
    pub(crate) day: Option<i64>,
    pub(crate) date: String,
}

impl Clock {
    pub(crate) fn write(&mut self, out: &mut String, micros: i64) {
        let secs = micros.div_euclid(SECOND);
        let frac = micros.rem_euclid(SECOND);
        let day = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        if self.day != Some(day) {
            let (y, m, d) = civil_from_days(day);
            self.date.clear();
            _ = write!(self.date, "{y:04}-{m:02}-{d:02}T");
            self.day = Some(day);
        }
        out.push_str(&self.date);
        _ = write!(out, "{:02}:{:02}:{:02}.{frac:06}+00:00", sod / 3600, sod / 60 % 60, sod % 60);
    }

    pub(crate) fn string(&mut self, micros: i64) -> String {
        let mut s = String::with_capacity(32);
        self.write(&mut s, micros);
        s
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
