//! Any UTF-8 text as a Sigma rule file: compiling never panics, every
//! diagnostic names the file, and whatever compiles scans a few events of
//! each kind without panicking; correlations and baselines run over the
//! matches (the events repeated at increasing times) without panicking.
#![no_main]

use std::sync::{Arc, OnceLock};

use ferret_model::{Event, FieldNames, Location, Provenance, SourceKind, Timestamp, Value};
use ferret_sigma::{Correlator, Mappings, RuleSet, RuleSource, Scanner};
use libfuzzer_sys::fuzz_target;

fn mappings() -> &'static Mappings {
    static MAPPINGS: OnceLock<Mappings> = OnceLock::new();
    MAPPINGS.get_or_init(Mappings::builtin)
}

fn event(names: &FieldNames, kind: SourceKind, raw: Option<&str>, fields: &[(&str, Value)]) -> Event {
    let provenance = Provenance { source: Arc::from("fuzz.events"), location: Location::Line(1) };
    let mut event = Event::new(kind, provenance);
    event.raw = raw.map(Into::into);
    for (name, value) in fields {
        event.push(names.intern(name), value.clone());
    }
    event
}

/// A Windows process creation, a Windows system event, an auth.log line and
/// a generic JSON record: one event per routing family.
fn events(names: &FieldNames) -> Vec<Event> {
    let text = |s: &str| Value::text(s);
    vec![
        event(
            names,
            SourceKind::Windows,
            None,
            &[
                ("Channel", text("Microsoft-Windows-Sysmon/Operational")),
                ("Provider_Name", text("Microsoft-Windows-Sysmon")),
                ("EventID", Value::number("1")),
                ("Image", text("C:\\Windows\\System32\\cmd.exe")),
                ("CommandLine", text("cmd.exe /c whoami /all & powershell -enc SQBFAFgA")),
                ("ParentImage", text("C:\\Windows\\explorer.exe")),
                ("User", text("CORP\\alice")),
                ("Hashes", text("SHA256=1D5A6B3C,IMPHASH=00AA")),
                ("DestinationIp", text("203.0.113.9")),
            ],
        ),
        event(
            names,
            SourceKind::Windows,
            None,
            &[
                ("Channel", text("System")),
                ("Provider_Name", text("Service Control Manager")),
                ("EventID", Value::number("7045")),
                ("ServiceName", text("PSEXESVC")),
                ("ImagePath", text("%SystemRoot%\\PSEXESVC.exe")),
                ("Data", text("a")),
                ("Data", text("")),
                ("Data", Value::Null),
            ],
        ),
        event(
            names,
            SourceKind::Syslog,
            Some("Mar  3 09:12:05 bastion sshd[4100]: Failed password for root from 203.0.113.50 port 40110 ssh2"),
            &[
                ("hostname", text("bastion")),
                ("program", text("sshd")),
                ("pid", Value::number("4100")),
                ("message", text("Failed password for root from 203.0.113.50 port 40110 ssh2")),
                ("user.name", text("root")),
                ("source.ip", text("203.0.113.50")),
            ],
        ),
        event(
            names,
            SourceKind::Json,
            None,
            &[
                ("eventName", text("ConsoleLogin")),
                ("count", Value::number("-12.5")),
                ("ok", Value::Bool(true)),
                ("note", Value::Null),
                ("unicode", text("café 😀 ÅSTRÖM")),
            ],
        ),
    ]
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let names = FieldNames::new();
    let sources = [RuleSource { name: "fuzz.yml".to_owned(), text: text.to_owned() }];
    let (set, diagnostics) = RuleSet::compile(&sources, names.clone(), mappings());
    for diagnostic in &diagnostics {
        assert_eq!(diagnostic.file, "fuzz.yml", "{diagnostic:?}");
    }
    let mut scanner = Scanner::new(&set);
    let mut engine = Correlator::new(set.correlations());
    let (mut matches, mut hits) = (Vec::new(), Vec::new());
    for round in 0..12i64 {
        for mut event in events(&names) {
            event.timestamp = Some(Timestamp::from_second(1_767_225_600 + round * 37).expect("valid"));
            matches.clear();
            scanner.scan(&event, &mut matches);
            for m in &matches {
                set.correlations().hits(m.rule, &event, Some("host"), &mut hits);
            }
            for hit in hits.drain(..) {
                engine.push(hit);
            }
        }
    }
    let _ = engine.save_baselines();
    let _ = engine.finish();
});
