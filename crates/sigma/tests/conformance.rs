//! Conformance cases from the Sigma specification and ../shared/SIGMA.md §5,
//! one line each. Rules are written as a `detection` block; the logsource is
//! `windows/process_creation` and the event is a Sysmon EventID 1 unless
//! the case says otherwise.

use ferret_model::{Event, FieldNames, Location, Provenance, SourceKind, Value};
use ferret_sigma::{Code, Mappings, RuleSet, RuleSource, Scanner};
use serde_json::json;

const PROCESS_CREATION: &str = "product: windows\n    category: process_creation";

fn event(names: &FieldNames, fields: serde_json::Value) -> Event {
    let mut e = Event::new(SourceKind::Windows, Provenance { source: "t".into(), location: Location::Record(1) });
    e.push(names.intern("Channel"), Value::text("Microsoft-Windows-Sysmon/Operational"));
    e.push(names.intern("EventID"), Value::number("1"));
    let serde_json::Value::Object(map) = fields else { panic!("event must be an object") };
    for (k, v) in map {
        let values = match v {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        for v in values {
            let value = match v {
                serde_json::Value::Null => Value::Null,
                serde_json::Value::Bool(b) => Value::Bool(b),
                serde_json::Value::Number(n) => Value::number(n.to_string()),
                serde_json::Value::String(s) => Value::text(s),
                other => panic!("unsupported {other}"),
            };
            e.push(names.intern(&k), value);
        }
    }
    e
}

fn compile(logsource: &str, detection: &str) -> Result<RuleSet, Vec<ferret_sigma::Diagnostic>> {
    let indented: String = detection.lines().map(|l| format!("    {l}\n")).collect();
    let text = format!(
        "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n    {logsource}\ndetection:\n{indented}"
    );
    let names = FieldNames::new();
    let (set, diags) = RuleSet::compile(&[RuleSource { name: "t.yml".into(), text }], names, &Mappings::builtin());
    if set.is_empty() { Err(diags) } else { Ok(set) }
}

fn matches_in(logsource: &str, detection: &str, fields: serde_json::Value) -> bool {
    let set = compile(logsource, detection).unwrap_or_else(|d| panic!("rule did not load: {d:?}"));
    let e = event(set.names(), fields);
    let mut out = Vec::new();
    Scanner::new(&set).scan(&e, &mut out);
    !out.is_empty()
}

macro_rules! sigma_match {
    ($det:expr, $($event:tt)+) => {
        assert!(matches_in(PROCESS_CREATION, $det, json!($($event)+)), "expected a match: {} on {}", $det, json!($($event)+))
    };
}
macro_rules! sigma_no_match {
    ($det:expr, $($event:tt)+) => {
        assert!(!matches_in(PROCESS_CREATION, $det, json!($($event)+)), "expected no match: {} on {}", $det, json!($($event)+))
    };
}
macro_rules! sigma_load_error {
    ($det:expr, $code:expr) => {
        match compile(PROCESS_CREATION, $det) {
            Ok(_) => panic!("expected a load error for {}", $det),
            Err(d) => assert!(d.iter().any(|d| d.code == $code), "expected {:?}, got {d:?}", $code),
        }
    };
}

#[test]
fn ec01_plain_values_are_full_matches() {
    let det = "sel:\n    Image: 'C:\\Windows\\System32\\net.exe'\ncondition: sel";
    sigma_match!(det, {"Image": "c:\\windows\\system32\\NET.EXE"});
    sigma_no_match!(det, {"Image": "C:\\Windows\\System32\\net.exe.bak"});
    sigma_no_match!(det, {"Image": "X:\\C:\\Windows\\System32\\net.exe"});
    sigma_no_match!("sel:\n    Channel: 'Sec?rity'\ncondition: sel", {"Channel2": "MySec1rityLog"});
}

#[test]
fn ec02_star_spans_newlines_question_mark_is_one_char() {
    sigma_match!("sel:\n    CommandLine: '*Invoke-Mimikatz*-DumpCreds*'\ncondition: sel", {"CommandLine": "x {\r\n Invoke-Mimikatz\r\n -DumpCreds\r\n}"});
    let det = "sel:\n    CommandLine: 'a?c'\ncondition: sel";
    sigma_match!(det, {"CommandLine": "abc"});
    sigma_match!(det, {"CommandLine": "a\nc"});
    sigma_no_match!(det, {"CommandLine": "ac"});
    sigma_no_match!(det, {"CommandLine": "abbc"});
}

#[test]
fn ec03_escaped_wildcards_are_literal() {
    let det = "sel:\n    CommandLine|contains: '\\*.lnk'\ncondition: sel";
    sigma_match!(det, {"CommandLine": "gci C:\\ -Filter *.lnk -Recurse"});
    sigma_no_match!(det, {"CommandLine": "gci a.lnk"});
    sigma_match!("sel:\n    Description: '\\?'\ncondition: sel", {"Description": "?"});
    sigma_no_match!("sel:\n    Description: '\\?'\ncondition: sel", {"Description": "A"});
}

#[test]
fn ec05_double_backslashes_collapse() {
    let det = "sel:\n    CommandLine|contains|all:\n        - 'copy '\n        - '\\\\\\\\\\?\\\\GLOBALROOT\\\\Device\\\\HarddiskVolumeShadowCopy'\ncondition: sel";
    sigma_match!(det, {"CommandLine": "cmd /c copy \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\Windows\\System32\\config\\SAM C:\\t\\"});
    sigma_no_match!(det, {"CommandLine": "copy \\\\X\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1"});
    sigma_match!("sel:\n    CommandLine|contains: '\\\\\\\\.\\\\pipe\\\\'\ncondition: sel", {"CommandLine": "cmd.exe /c echo x > \\\\.\\pipe\\x"});
}

#[test]
fn ec06_modifiers_add_wildcard_tokens_not_escapes() {
    sigma_match!("sel:\n    CommandLine|contains: '\\AppData\\Local\\'\ncondition: sel", {"CommandLine": "C:\\Users\\a\\AppData\\Local\\Temp\\x.exe"});
    sigma_match!("sel:\n    PipeName|startswith: '\\pipe\\'\ncondition: sel", {"PipeName": "\\pipe\\abc"});
}

#[test]
fn ec07_yaml_escapes_come_first() {
    let det =
        "sel:\n    CommandLine|contains:\n        - '\"BUILTIN\\\\\"'\n        - \"'BUILTIN\\\\'\"\ncondition: sel";
    sigma_match!(det, {"CommandLine": "findstr \"BUILTIN\\\""});
    sigma_match!(det, {"CommandLine": "findstr 'BUILTIN\\'"});
    sigma_no_match!(det, {"CommandLine": "findstr \"BUILTIN\\\\\""});
}

#[test]
fn ec09_percent_is_literal_without_expand() {
    let det = "sel:\n    CommandLine|contains: '>?%TEMP%\\'\ncondition: sel";
    sigma_match!(det, {"CommandLine": "cmd /c whoami >\"%TEMP%\\o.txt\""});
    sigma_match!(det, {"CommandLine": "cmd /c whoami >>%TEMP%\\o.txt"});
    sigma_no_match!(det, {"CommandLine": "cmd /c whoami >%TEMP%\\o.txt"});
}

#[test]
fn ec10_whitespace_is_significant() {
    let det = "sel:\n    CommandLine|contains|windash: ' -enc '\ncondition: sel";
    sigma_match!(det, {"CommandLine": "powershell -enc AAAA"});
    sigma_match!(det, {"CommandLine": "powershell /enc AAAA"});
    sigma_no_match!(det, {"CommandLine": "powershell-enc AAAA"});
    sigma_no_match!(det, {"CommandLine": "powershell -encodedcommand AAAA"});
}

#[test]
fn ec11_to_ec14_case_rules() {
    let det = "sel:\n    OriginalFileName: 'Cmd.Exe'\ncondition: sel";
    sigma_match!(det, {"OriginalFileName": "CMD.EXE"});
    sigma_no_match!(det, {"OriginalFileName": "cmd.exe "});
    sigma_match!("sel:\n    Image|endswith: 'ÄRGER.EXE'\ncondition: sel", {"Image": "C:\\ärger.exe"});
    let cased = "sel:\n    CommandLine|contains|cased: 'Invoke-Mimikatz'\ncondition: sel";
    sigma_match!(cased, {"CommandLine": "x Invoke-Mimikatz y"});
    sigma_no_match!(cased, {"CommandLine": "x invoke-mimikatz y"});
    sigma_no_match!("sel:\n    CommandLine|re: 'mimikatz'\ncondition: sel", {"CommandLine": "MIMIKATZ"});
    sigma_match!("sel:\n    CommandLine|re|i: 'mimikatz'\ncondition: sel", {"CommandLine": "MIMIKATZ"});
    sigma_match!("sel:\n    CommandLine|re: '(?i)mimikatz'\ncondition: sel", {"CommandLine": "xx MIMIKATZ yy"});
    sigma_no_match!("sel:\n    CommandLine|re: '^Invoke'\ncondition: sel", {"CommandLine": "x\nInvoke"});
    sigma_match!("sel:\n    CommandLine|re|m: '^Invoke'\ncondition: sel", {"CommandLine": "x\nInvoke"});
    sigma_no_match!("sel:\n    CommandLine|re: 'a.b'\ncondition: sel", {"CommandLine": "a\nb"});
    sigma_match!("sel:\n    CommandLine|re|s: 'a.b'\ncondition: sel", {"CommandLine": "a\nb"});
}

#[test]
fn ec17_ec18_windash_and_all() {
    let det = "sel:\n    CommandLine|contains|windash: ' -exec-policy'\ncondition: sel";
    sigma_match!(det, {"CommandLine": "pwsh /exec-policy bypass"});
    sigma_match!(det, {"CommandLine": "pwsh \u{2013}exec-policy bypass"});
    sigma_no_match!(det, {"CommandLine": "pwsh -exec/policy bypass"});
    let all = "sel:\n    CommandLine|contains|all|windash:\n        - ' -a'\n        - ' -b'\ncondition: sel";
    sigma_match!(all, {"CommandLine": "tool /a -b"});
    sigma_no_match!(all, {"CommandLine": "tool -a"});
}

#[test]
fn ec19_ec22_encodings() {
    let det = "sel:\n    CommandLine|base64offset|contains: 'IEX ('\ncondition: sel";
    sigma_match!(det, {"CommandLine": "powershell -e SUVYIChOZXctT2JqZWN0IE5ldC5XZWJDbGllbnQp"});
    sigma_match!(det, {"CommandLine": "x eElFWCAoTmV3LU9iamVjdCBOZXQuV2ViQ2xpZW50KQ=="});
    sigma_match!(det, {"CommandLine": "x eHlJRVggKE5ldy1PYmplY3QgTmV0LldlYkNsaWVudCk="});
    let utf16 = "sel:\n    CommandLine|utf16|base64offset|contains: 'ab'\ncondition: sel";
    sigma_match!(utf16, {"CommandLine": "//5hAGIA"});
    sigma_no_match!(utf16, {"CommandLine": "YQBiAA=="});
    sigma_match!("sel:\n    Payload|base64: 'ping'\ncondition: sel", {"Payload": "cGluZw=="});
    sigma_no_match!("sel:\n    Payload|base64: 'ping'\ncondition: sel", {"Payload": "xcGluZw==y"});
    sigma_match!("sel:\n    Payload|base64|contains: 'ping'\ncondition: sel", {"Payload": "xcGluZw==y"});
}

#[test]
fn ec23_cidr() {
    let det = "sel:\n    Image|endswith: '\\cmstp.exe'\nfilter:\n    DestinationIp|cidr:\n        - '10.0.0.0/8'\n        - 'fe80::/10'\ncondition: sel and not filter";
    let with = |ip: &str| json!({"Image": "C:\\Windows\\System32\\cmstp.exe", "DestinationIp": ip});
    for (ip, want) in
        [("10.1.2.3", false), ("8.8.8.8", true), ("fe80::1", false), ("::ffff:10.1.2.3", false), ("-", true)]
    {
        assert_eq!(matches_in(PROCESS_CREATION, det, with(ip)), want, "{ip}");
    }
    sigma_load_error!("sel:\n    DestinationIp|cidr: '192.168.1.1/24'\ncondition: sel", Code::InvalidValue);
}

#[test]
fn ec25_exists() {
    sigma_match!("sel:\n    PasswordLastSet|exists: true\ncondition: sel", {"PasswordLastSet": ""});
    sigma_match!("sel:\n    PasswordLastSet|exists: true\ncondition: sel", {"PasswordLastSet": null});
    sigma_match!("sel:\n    PasswordLastSet|exists: false\ncondition: sel", {"Other": 1});
    sigma_load_error!("sel:\n    PasswordLastSet|exists: 'yes'\ncondition: sel", Code::InvalidValue);
}

#[test]
fn ec26_fieldref() {
    let det = "sel:\n    TargetFilename|fieldref: Image\ncondition: sel";
    sigma_match!(det, {"Image": "C:\\t\\a.exe", "TargetFilename": "C:\\t\\a.exe"});
    sigma_match!(det, {"Image": "C:\\T\\A.EXE", "TargetFilename": "c:\\t\\a.exe"});
    sigma_no_match!(det, {"Image": "C:\\t\\a.exe"});
    sigma_load_error!("sel:\n    TargetFilename|fieldref: 'Image*'\ncondition: sel", Code::InvalidValue);
}

#[test]
fn ec27_neq_negates_the_whole_item() {
    let det = "sel:\n    LogonType|neq:\n        - 2\n        - 10\ncondition: sel";
    sigma_match!(det, {"LogonType": "3"});
    sigma_no_match!(det, {"LogonType": "2"});
    sigma_no_match!(det, {"LogonType": 10});
    sigma_match!(det, {"Other": 1});
}

#[test]
fn ec30_null_empty_and_dash() {
    let det = "selection:\n    Image|endswith: '\\bash.exe'\nfilter_main_no_cli:\n    CommandLine: null\nfilter_main_empty:\n    CommandLine: ''\ncondition: selection and not 1 of filter_main_*";
    let bash = |cli: serde_json::Value| {
        let mut e = json!({"Image": "C:\\Windows\\System32\\bash.exe"});
        if !cli.is_string() || cli != json!("<absent>") {
            e["CommandLine"] = cli;
        }
        e
    };
    assert!(!matches_in(PROCESS_CREATION, det, json!({"Image": "C:\\Windows\\System32\\bash.exe"})));
    assert!(!matches_in(PROCESS_CREATION, det, bash(json!(""))));
    assert!(matches_in(PROCESS_CREATION, det, bash(json!("-"))));
    assert!(matches_in(PROCESS_CREATION, det, bash(json!("bash.exe evil.sh"))));
    assert!(!matches_in(PROCESS_CREATION, det, bash(json!(null))));
}

#[test]
fn ec32_ec33_numbers() {
    sigma_match!("sel:\n    ProcessId: 4688\ncondition: sel", {"ProcessId": "4688"});
    sigma_no_match!("sel:\n    ProcessId: 46\ncondition: sel", {"ProcessId": 4688});
    sigma_match!("sel:\n    ProcessId|startswith: '46'\ncondition: sel", {"ProcessId": 4688});
    sigma_no_match!("sel:\n    ProcessId|startswith: '46'\ncondition: sel", {"ProcessId": 5156});
    sigma_match!("sel:\n    Count|gte: 5\ncondition: sel", {"Count": "12"});
    sigma_no_match!("sel:\n    Count|gt: 5\ncondition: sel", {"Count": "five"});
}

#[test]
fn ec34_ec35_precedence() {
    let det = "a:\n    A: 1\nb:\n    B: 2\nc:\n    C: 3\ncondition: a or b and c";
    sigma_match!(det, {"A": 1, "B": 0, "C": 0});
    sigma_no_match!(det, {"A": 0, "B": 2, "C": 0});
    let det = "a:\n    A: 1\nb:\n    B: 2\ncondition: not a and b";
    sigma_match!(det, {"A": 2, "B": 2});
    sigma_no_match!(det, {"A": 1, "B": 2});
    sigma_no_match!(det, {"A": 2, "B": 3});
}

#[test]
fn ec37_ec38_identifiers_and_condition_lists() {
    sigma_match!("orgs:\n    A: 1\ntlds:\n    B: 1\ncondition: orgs and tlds", {"A": 1, "B": 1});
    sigma_load_error!("a:\n    A: 1\nb:\n    B: 1\ncondition: a AND b", Code::ConditionSyntax);
    sigma_load_error!("a:\n    A: 1\ncondition: a and missing", Code::UndefinedIdentifier);
    sigma_load_error!("a:\n    A: 1\ncondition: 1 of filter_*", Code::UndefinedIdentifier);
    sigma_match!("sel_a:\n    A: 1\nsel_b:\n    B: 1\ncondition:\n    - sel_a\n    - sel_b", {"B": 1});
    sigma_match!("select_tree_execution|endswith:\n    Image: '/tree'\ncondition: 1 of select*", {"Image": "/tree"});
    sigma_no_match!("select_tree_execution|endswith:\n    Image: '/tree'\ncondition: 1 of select*", {"Image": "/usr/bin/tree"});
}

#[test]
fn ec39_keywords_match_per_value_never_across_fields() {
    let det = "sel:\n    EventID: 1\nkw:\n    '|all':\n        - 'truncate'\n        - '-s'\ncondition: sel and kw";
    sigma_match!(det, {"a0": "truncate", "a1": "-s", "a2": "100M"});
    sigma_no_match!(det, {"a0": "trunc", "a1": "ate-s"});
    sigma_match!("keywords:\n    - 'dpapi::masterkey'\ncondition: keywords", {"CommandLine": "mimikatz DPAPI::MasterKey /in:x"});
}

#[test]
fn ec43_multi_valued_fields() {
    let det =
        "sel:\n    Data|contains|all:\n        - 'Set-Mailbox'\n        - 'ForwardingSmtpAddress'\ncondition: sel";
    sigma_match!(det, {"Data": ["Set-Mailbox", "-ForwardingSmtpAddress x@evil"]});
    sigma_match!("sel:\n    Data|contains: 'HostApplication=powershell -nop'\ncondition: sel", {"Data": ["Available", "None", "NewEngineState=Available HostApplication=powershell -nop -w hidden"]});
}

#[test]
fn ec40_logsource_routing_keeps_rules_to_their_events() {
    // An EventID 1 that is not Sysmon's never meets process_creation rules.
    let set = compile(PROCESS_CREATION, "sel:\n    EventID: 1\ncondition: sel").unwrap();
    let mut e = event(set.names(), json!({}));
    e.fields.retain(|(f, _)| set.names().resolve(*f) != "Channel");
    e.push(set.names().intern("Channel"), Value::text("Application"));
    let mut out = Vec::new();
    Scanner::new(&set).scan(&e, &mut out);
    assert!(out.is_empty());
    // A security-service rule does not see Sysmon events.
    assert!(!matches_in("product: windows\n    service: security", "sel:\n    EventID: 1\ncondition: sel", json!({})));
}

#[test]
fn ec59_ec62_loading_rules() {
    sigma_load_error!("sel:\n    A: 1\ncondition: sel | count() by B > 5", Code::ConditionSyntax);
    sigma_load_error!("sel:\n    A: 1\ncondition: sel near other", Code::ConditionSyntax);
    sigma_load_error!("sel:\n    A: 1", Code::RuleStructure);
    sigma_load_error!("sel: {}\ncondition: sel", Code::RuleStructure);
    sigma_load_error!("sel:\n    A|Contains: x\ncondition: sel", Code::UnknownModifier);
    sigma_load_error!("sel:\n    A|contains|re: x\ncondition: sel", Code::InvalidModifierChain);
    sigma_load_error!("sel:\n    A|expand: '%DomainControllers%'\ncondition: sel", Code::UnresolvedPlaceholder);
    sigma_match!("sel:\n    A: []\ncondition: sel", {"B": 1});
    sigma_match!("sel:\n    A: \"a\\tb\"\ncondition: sel", {"A": "a\tb"});
}

#[test]
fn ec29_time_part_modifiers() {
    let det = "sel:\n    UtcTime|hour: 3\ncondition: sel";
    sigma_match!(det, {"UtcTime": "2026-04-17 03:59:59.000"});
    sigma_no_match!(det, {"UtcTime": "2026-04-17 04:00:00.000"});
    sigma_no_match!(det, {"UtcTime": "not a date"});
    sigma_match!("sel:\n    TimeCreated_SystemTime|hour: 3\ncondition: sel", {"TimeCreated_SystemTime": "2026-04-17T03:10:00.1Z"});
    // ISO week 53 exists: 2026-12-31 is in week 53 of 2026.
    sigma_match!("sel:\n    UtcTime|week: 53\ncondition: sel", {"UtcTime": "2026-12-31 12:00:00.000"});
    sigma_match!("sel:\n    UtcTime|month: 12\ncondition: sel", {"UtcTime": "2026-12-31 12:00:00.000"});
    sigma_match!("sel:\n    UtcTime|hour|gte: 22\ncondition: sel", {"UtcTime": "2026-12-31 23:30:00.000"});
    sigma_no_match!("sel:\n    UtcTime|hour|gte: 22\ncondition: sel", {"UtcTime": "2026-12-31 21:30:00.000"});
    sigma_load_error!("sel:\n    UtcTime|hour: 'night'\ncondition: sel", Code::InvalidValue);
}

/// Compiles full documents and reports which rule ids match the event.
fn hits(docs: &str, fields: serde_json::Value) -> (Vec<String>, Vec<ferret_sigma::Diagnostic>) {
    let (set, diags) = RuleSet::compile(
        &[RuleSource { name: "t.yml".into(), text: docs.into() }],
        FieldNames::new(),
        &Mappings::builtin(),
    );
    let e = event(set.names(), fields);
    let mut out = Vec::new();
    Scanner::new(&set).scan(&e, &mut out);
    (out.iter().map(|m| set.rule(m.rule).id.clone()).collect(), diags)
}

const WHOAMI: &str = "title: Whoami
id: 11111111-1111-1111-1111-111111111111
name: whoami_exec
logsource:
    product: windows
    category: process_creation
detection:
    sel:
        Image|endswith: '\\whoami.exe'
    condition: sel
---
title: Failed logon
id: 22222222-2222-2222-2222-222222222222
logsource:
    product: windows
    service: security
detection:
    sel:
        EventID: 4625
    condition: sel
";

#[test]
fn ec57_filter_conditions_are_anded_with_the_rule() {
    let filter = "---
title: Exclude admin accounts
logsource:
    product: windows
    category: process_creation
filter:
    rules:
        - 11111111-1111-1111-1111-111111111111
    selection:
        User|startswith: 'adm_'
    condition: not selection
";
    let docs = format!("{WHOAMI}{filter}");
    let (ids, diags) = hits(&docs, json!({"Image": "C:\\Windows\\System32\\whoami.exe", "User": "adm_bob"}));
    assert!(ids.is_empty(), "suppressed for adm_bob");
    assert!(diags.is_empty(), "{diags:?}");
    let (ids, _) = hits(&docs, json!({"Image": "C:\\Windows\\System32\\whoami.exe", "User": "bob"}));
    assert_eq!(ids, ["11111111-1111-1111-1111-111111111111"]);
    // The specification's own example polarity restricts instead, with a warning.
    let restricting = filter.replace("condition: not selection", "condition: selection");
    let (ids, diags) =
        hits(&format!("{WHOAMI}{restricting}"), json!({"Image": "C:\\x\\whoami.exe", "User": "adm_bob"}));
    assert_eq!(ids.len(), 1);
    assert!(diags.iter().any(|d| d.code == Code::Lint && d.message.contains("no 'not'")), "{diags:?}");
}

#[test]
fn ec58_filter_scope() {
    let any_windows = "---
title: Not from the scanner host
logsource:
    product: windows
filter:
    rules: any
    host:
        Computer: 'scanner01'
    condition: not host
";
    let docs = format!("{WHOAMI}{any_windows}");
    // Applies to process_creation and to security rules alike.
    let (ids, _) = hits(&docs, json!({"Image": "C:\\x\\whoami.exe", "Computer": "scanner01"}));
    assert!(ids.is_empty());
    let (ids, _) = hits(&docs, json!({"Image": "C:\\x\\whoami.exe", "Computer": "ws01"}));
    assert_eq!(ids.len(), 1);
    // A process_creation filter does not apply to a security rule, and a rule
    // can be named by its `name`.
    let by_name = "---
title: By name
logsource:
    product: windows
    category: process_creation
filter:
    rules: [whoami_exec, 22222222-2222-2222-2222-222222222222, no-such-rule]
    sel:
        CommandLine|contains: '/all'
    condition: not sel
";
    let (set, diags) = RuleSet::compile(
        &[RuleSource { name: "t.yml".into(), text: format!("{WHOAMI}{by_name}") }],
        FieldNames::new(),
        &Mappings::builtin(),
    );
    let conditions: Vec<String> = set.rules().map(|r| r.detection.condition_text.clone()).collect();
    assert!(conditions[0].contains("filter 'By name'"), "{conditions:?}");
    assert!(!conditions[1].contains("filter"), "security rule untouched: {conditions:?}");
    assert!(diags.iter().any(|d| d.message.contains("'no-such-rule'")), "{diags:?}");
}

/// A Security-channel event with the given EventID and fields.
fn security_event(names: &FieldNames, event_id: &str, fields: serde_json::Value) -> Event {
    let mut e = event(names, fields);
    e.fields.retain(|(f, _)| !matches!(names.resolve(*f), "Channel" | "EventID"));
    e.push(names.intern("Channel"), Value::text("Security"));
    e.push(names.intern("EventID"), Value::number(event_id));
    e
}

fn scan_ids(set: &RuleSet, e: &Event) -> usize {
    let mut out = Vec::new();
    Scanner::new(set).scan(e, &mut out);
    out.len()
}

#[test]
fn ec41_security_4688_meets_process_creation_rules_through_the_mapping() {
    let det = "sel:\n    Image|endswith: '\\whoami.exe'\n    ParentImage|endswith: '\\cmd.exe'\n    IntegrityLevel: 'High'\n    ProcessId: 7184\ncondition: sel";
    let set = compile(PROCESS_CREATION, det).unwrap();
    let names = set.names();
    let e4688 = |label: &str| {
        security_event(
            names,
            "4688",
            json!({"NewProcessName": "C:\\Windows\\System32\\whoami.exe", "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
                   "MandatoryLabel": label, "NewProcessId": "0x1c10", "ProcessId": "0xc18"}),
        )
    };
    assert_eq!(scan_ids(&set, &e4688("S-1-16-12288")), 1);
    assert_eq!(scan_ids(&set, &e4688("S-1-16-8192")), 0, "Medium is not High");
    // 4688's own ProcessId is the parent's: it is not the rule's ProcessId.
    let parent = compile(PROCESS_CREATION, "sel:\n    ProcessId: 3096\ncondition: sel").unwrap();
    assert_eq!(
        scan_ids(
            &parent,
            &security_event(parent.names(), "4688", json!({"NewProcessId": "0x1c10", "ProcessId": "0xc18"}))
        ),
        0
    );
    let parent = compile(PROCESS_CREATION, "sel:\n    ParentProcessId: 3096\ncondition: sel").unwrap();
    assert_eq!(
        scan_ids(
            &parent,
            &security_event(parent.names(), "4688", json!({"NewProcessId": "0x1c10", "ProcessId": "0xc18"}))
        ),
        1
    );
    // Another Security event never meets process_creation rules.
    assert_eq!(scan_ids(&set, &security_event(names, "4624", json!({"NewProcessName": "C:\\x\\whoami.exe"}))), 0);
}

#[test]
fn ec31_not_over_a_field_the_source_cannot_supply() {
    let det = "sel:\n    Image|endswith: '\\rundll32.exe'\nfilter:\n    Description: 'Windows host process (Rundll32)'\ncondition: sel and not filter";
    let set = compile(PROCESS_CREATION, det).unwrap();
    let on_4688 = security_event(
        set.names(),
        "4688",
        json!({"NewProcessName": "C:\\Windows\\System32\\rundll32.exe", "Description": "Windows host process (Rundll32)"}),
    );
    assert_eq!(scan_ids(&set, &on_4688), 1, "4688 has no Description: the filter cannot hold");
    sigma_no_match!(det, {"Image": "C:\\Windows\\System32\\rundll32.exe", "Description": "Windows host process (Rundll32)"});
    // A Sysmon-only field in a positive selection never matches on 4688.
    let set = compile(PROCESS_CREATION, "sel:\n    OriginalFileName: 'RUNDLL32.EXE'\ncondition: sel").unwrap();
    let e = security_event(set.names(), "4688", json!({"OriginalFileName": "RUNDLL32.EXE"}));
    assert_eq!(scan_ids(&set, &e), 0);
}

fn compile_with(mappings: &Mappings, logsource: &str, detection: &str) -> (RuleSet, Vec<ferret_sigma::Diagnostic>) {
    let indented: String = detection.lines().map(|l| format!("    {l}\n")).collect();
    let text = format!(
        "title: t\nid: 00000000-0000-0000-0000-000000000002\nlogsource:\n    {logsource}\ndetection:\n{indented}"
    );
    RuleSet::compile(&[RuleSource { name: "t.yml".into(), text }], FieldNames::new(), mappings)
}

#[test]
fn ec28_expand_uses_configured_placeholders() {
    let mappings = Mappings::with_overrides(
        "placeholders:\n    DomainControllers: [dc01, 'dc0?.corp.local']\n    Admins: 'adm_*'\n",
    )
    .unwrap();
    let (set, diags) = compile_with(
        &mappings,
        PROCESS_CREATION,
        "sel:\n    Computer|expand: '%DomainControllers%'\n    User|expand: 'CORP*%Admins%'\n    Note|expand: '100\\%'\ncondition: sel",
    );
    assert!(diags.is_empty(), "{diags:?}");
    let run = |fields| scan_ids(&set, &event(set.names(), fields));
    assert_eq!(run(json!({"Computer": "DC01", "User": "CORP\\adm_bob", "Note": "100%"})), 1);
    assert_eq!(
        run(json!({"Computer": "dc02.corp.local", "User": "CORP\\adm_x", "Note": "100%"})),
        1,
        "values keep their wildcards"
    );
    assert_eq!(run(json!({"Computer": "ws01", "User": "CORP\\adm_bob", "Note": "100%"})), 0);
    // Without `expand`, %name% is literal text; an unknown placeholder rejects the rule.
    sigma_match!("sel:\n    CommandLine|contains: '%DomainControllers%'\ncondition: sel", {"CommandLine": "x %DomainControllers% y"});
    let (set, diags) =
        compile_with(&mappings, PROCESS_CREATION, "sel:\n    Computer|expand: '%Unknown%'\ncondition: sel");
    assert!(set.is_empty() && diags.iter().any(|d| d.code == Code::UnresolvedPlaceholder), "{diags:?}");
}

#[test]
fn user_mappings_add_and_override_sources() {
    // A site whose EDR writes file-access events to a channel of its own.
    let mappings = Mappings::with_overrides(
        "windows:\n    categories:\n        file_access: [{channels: [Contoso-EDR/FileAccess], event_ids: [7]}]\n",
    )
    .unwrap();
    let det = "sel:\n    TargetFilename|endswith: '.kdbx'\ncondition: sel";
    let (set, diags) = compile_with(&mappings, "product: windows\n    category: file_access", det);
    assert!(diags.is_empty(), "the mapped source is no longer unsupported: {diags:?}");
    let mut e = event(set.names(), json!({"TargetFilename": "C:\\Users\\a\\vault.kdbx"}));
    e.fields.retain(|(f, _)| !matches!(set.names().resolve(*f), "Channel" | "EventID"));
    e.push(set.names().intern("Channel"), Value::text("Contoso-EDR/FileAccess"));
    e.push(set.names().intern("EventID"), Value::number("7"));
    assert_eq!(scan_ids(&set, &e), 1);
    assert!(
        Mappings::with_overrides("windows:\n    categories:\n        x: [{rename: {A: {transform: nope}}}]\n").is_err()
    );
}

#[test]
fn ec08_glob_and_regex_metacharacters_are_literal() {
    let det = "sel:\n    CommandLine|contains: '[a-z]+(x).{2}^$|'\ncondition: sel";
    sigma_match!(det, {"CommandLine": "echo [a-z]+(x).{2}^$| done"});
    sigma_no_match!(det, {"CommandLine": "echo abc"});
    sigma_match!("sel:\n    Image: 'C:\\Program Files (x86)\\\\*.exe'\ncondition: sel", {"Image": "c:\\program files (x86)\\app\\a.exe"});
    // `\*` is an escaped, literal star (EC-03), even after a backslash.
    sigma_no_match!("sel:\n    Image: 'C:\\Program Files (x86)\\*.exe'\ncondition: sel", {"Image": "c:\\program files (x86)\\app\\a.exe"});
}

#[test]
fn ec12_d4_case_folding_beyond_ascii() {
    sigma_match!("sel:\n    TargetFilename|contains: 'ÜBERWACHUNG'\ncondition: sel", {"TargetFilename": "C:\\überwachung\\x"});
    sigma_match!("sel:\n    CommandLine|contains: '\u{0410}'\ncondition: sel", {"CommandLine": "x \u{0430} y"});
    sigma_no_match!("sel:\n    CommandLine|contains|cased: '\u{0410}'\ncondition: sel", {"CommandLine": "x \u{0430} y"});
}

#[test]
fn ec15_d5_field_names_are_case_sensitive() {
    sigma_match!("sel:\n    ResultType: 50126\ncondition: sel", {"ResultType": "50126"});
    sigma_no_match!("sel:\n    ResultType: 50126\ncondition: sel", {"resultType": 50126});
}

#[test]
fn ec16_d7_windash_has_five_variants_per_position() {
    let det = "sel:\n    CommandLine|contains|windash: ' -s '\ncondition: sel";
    for dash in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
        sigma_match!(det, {"CommandLine": format!("tool {dash}s x")});
    }
    sigma_no_match!(det, {"CommandLine": "tool _s x"});
}

#[test]
fn ec24_numeric_comparisons_need_numbers() {
    sigma_match!("sel:\n    Size|lt: 10\ncondition: sel", {"Size": 9});
    sigma_no_match!("sel:\n    Size|lt: 10\ncondition: sel", {"Size": "0x5"});
    sigma_no_match!("sel:\n    Size|lt: 10\ncondition: sel", {"Size": "-"});
    sigma_match!("sel:\n    Size|gte: 1.5\ncondition: sel", {"Size": "2.25"});
    sigma_load_error!("sel:\n    Size|gt: 'five'\ncondition: sel", Code::InvalidValue);
}

#[test]
fn ec46_ec47_raw_values_and_sentinels_are_plain_strings() {
    sigma_match!("sel:\n    AccessList|contains: '%%4416'\ncondition: sel", {"AccessList": "%%4416\r\n\t\t\t\t"});
    sigma_no_match!("sel:\n    OriginalFileName: null\ncondition: sel", {"OriginalFileName": "-"});
    sigma_match!("sel:\n    OriginalFileName: '-'\ncondition: sel", {"OriginalFileName": "-"});
    sigma_match!("sel:\n    Description: '?'\ncondition: sel", {"Description": "A"});
}

#[test]
fn ec61_regex_dialect_is_pcre_like() {
    sigma_match!("sel:\n    CommandLine|re: 'a\\<b'\ncondition: sel", {"CommandLine": "a<b"});
    sigma_no_match!("sel:\n    CommandLine|re: '^\\d+$'\ncondition: sel", {"CommandLine": "\u{0663}"});
    sigma_match!("sel:\n    CommandLine|re: ':[^ \\\\]'\ncondition: sel", {"CommandLine": "net use x:y"});
    sigma_load_error!("sel:\n    CommandLine|re: 'a{b'\ncondition: sel", Code::InvalidValue);
    sigma_load_error!("sel:\n    CommandLine|re: '(?<=a)b'\ncondition: sel", Code::InvalidValue);
}

#[test]
fn d11_taxonomy_aliases_route_like_their_canonical_names() {
    for (alias, canonical) in [("clipboard_change", "clipboard_capture"), ("file_block", "file_block_executable")] {
        let det = "sel:\n    EventID: 24\ncondition: sel";
        let a = compile(&format!("product: windows\n    category: {alias}"), det).unwrap();
        let c = compile(&format!("product: windows\n    category: {canonical}"), det).unwrap();
        let e = |set: &RuleSet| {
            let mut e = event(set.names(), json!({}));
            e.fields.retain(|(f, _)| set.names().resolve(*f) != "EventID");
            e.push(set.names().intern("EventID"), Value::number(if alias == "clipboard_change" { "24" } else { "27" }));
            e
        };
        assert_eq!(scan_ids(&a, &e(&a)), scan_ids(&c, &e(&c)), "{alias}");
    }
    for service in ["ldap", "ldap_debug", "servicebus-client", "microsoft-servicebus-client"] {
        assert!(
            compile(&format!("product: windows\n    service: {service}"), "sel:\n    EventID: 1\ncondition: sel")
                .is_ok(),
            "{service}"
        );
    }
}

#[test]
fn security_4657_meets_registry_rules_through_the_mapping() {
    let det = "sel:\n    TargetObject|endswith: '\\CurrentVersion\\Run\\Updater'\n    Details|contains: 'AppData'\n    Image|endswith: '\\reg.exe'\ncondition: sel";
    let set = compile("product: windows\n    category: registry_set", det).unwrap();
    let e = |operation: &str| {
        security_event(
            set.names(),
            "4657",
            json!({"ObjectName": "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
                   "ObjectValueName": "Updater", "NewValue": "C:\\Users\\a\\AppData\\Roaming\\u.exe",
                   "OperationType": operation, "ProcessName": "C:\\Windows\\System32\\reg.exe"}),
        )
    };
    assert_eq!(scan_ids(&set, &e("%%1905")), 1, "an existing value modified");
    assert_eq!(scan_ids(&set, &e("%%1906")), 0, "a value deleted is not registry_set");
    let hklm = compile(
        "product: windows\n    category: registry_set",
        "sel:\n    TargetObject|startswith: 'HKLM\\SOFTWARE\\'\ncondition: sel",
    )
    .unwrap();
    let e = security_event(
        hklm.names(),
        "4657",
        json!({"ObjectName": "\\REGISTRY\\MACHINE\\SOFTWARE\\X", "ObjectValueName": "v", "OperationType": "%%1905"}),
    );
    assert_eq!(scan_ids(&hklm, &e), 1, "kernel hive names read as HKLM");
}

#[test]
fn ec15_d5_cloud_events_fall_back_to_case_insensitive_field_names() {
    let set =
        compile("product: azure\n    service: signinlogs", "sel:\n    ResultType: 50126\ncondition: sel").unwrap();
    let cloud = |fields: serde_json::Value| {
        let mut e = event(set.names(), fields);
        e.kind = ferret_model::SourceKind::Cloud;
        e.push(set.names().intern("cloud.provider"), Value::text("azure"));
        e.push(set.names().intern("cloud.service"), Value::text("signinlogs"));
        e
    };
    assert_eq!(scan_ids(&set, &cloud(json!({"resultType": 50126}))), 1, "fallback for cloud events");
    assert_eq!(scan_ids(&set, &cloud(json!({"ResultType": "0", "resultType": 50126}))), 0, "the exact name wins");
    assert_eq!(scan_ids(&set, &cloud(json!({"ResultType": 50126}))), 1);
}
