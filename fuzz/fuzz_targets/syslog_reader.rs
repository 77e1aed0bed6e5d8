//! Any bytes through format sniffing and the syslog reader (RFC 3164, RFC
//! 5424, RFC 3339 stamps, auth.log semantics): no panic, and every error
//! names its source and line.
#![no_main]

use ferret_model::FieldNames;
use ferret_read::sniff::sniff;
use ferret_read::syslog::{SyslogReader, looks_like_syslog};
use ferret_read::{ReadOptions, SourceContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sniff(data);
    if let Ok(text) = std::str::from_utf8(data) {
        text.lines().for_each(|line| {
            let _ = looks_like_syslog(line);
        });
    }
    // Without an assumed year the reader infers it (from "now" here).
    for assume_year in [Some(2024), None] {
        let options = ReadOptions { assume_year, max_line_bytes: 1024, ..ReadOptions::default() };
        let ctx = SourceContext::new("fuzz.log", FieldNames::new(), options);
        for result in SyslogReader::new(data, ctx) {
            match result {
                Ok(event) => assert_eq!(&*event.provenance.source, "fuzz.log"),
                Err(error) => {
                    assert_eq!(&*error.source, "fuzz.log");
                    assert!(error.location.is_some(), "{error}");
                }
            }
        }
    }
});
