//! Conformance of correlation rules (correlation specification v2.1,
//! SIGMA.md §1.7 and §5.H): every type and option on synthetic events, the
//! window edges, chaining, `generate`, aliases, and load errors.
//!
//! Base rules run on generic JSON events (`logsource: {product: acme}`);
//! events are `(seconds after 2026-01-01T00:00:00Z, fields)`.

use ferret_model::{Event, FieldNames, Location, Provenance, SourceKind, Timestamp, Value};
use ferret_sigma::correlation::SavedBaselines;
use ferret_sigma::{Code, Correlator, Diagnostic, Mappings, RuleSet, RuleSource, Scanner};
use serde_json::json;

const BASE: &str = r#"
title: failed login
name: failed_login
logsource: {product: acme}
detection:
    sel: {EventID: 4625}
    condition: sel
---
title: ok login
name: ok_login
logsource: {product: acme}
detection:
    sel: {EventID: 4624}
    condition: sel
---
title: A
name: A
logsource: {product: acme}
detection:
    sel: {Image|endswith: '\a.exe'}
    condition: sel
---
title: B
name: B
logsource: {product: acme}
detection:
    sel: {Image|endswith: '\b.exe'}
    condition: sel
---
title: C
name: C
logsource: {product: acme}
detection:
    sel: {Image|endswith: '\c.exe'}
    condition: sel
"#;

const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn compile(yaml: &str) -> (RuleSet, Vec<Diagnostic>) {
    let text = format!("{BASE}\n---\n{yaml}");
    RuleSet::compile(&[RuleSource { name: "t.yml".into(), text }], FieldNames::new(), &Mappings::builtin())
}

fn event(names: &FieldNames, n: usize, second: i64, fields: &serde_json::Value) -> Event {
    let mut e =
        Event::new(SourceKind::Json, Provenance { source: "t.jsonl".into(), location: Location::Line(n as u64) });
    e.timestamp = Some(Timestamp::new(T0 + second, 0).unwrap());
    for (k, v) in fields.as_object().expect("object") {
        let value = match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Number(n) => Value::number(n.to_string()),
            serde_json::Value::String(s) => Value::text(s.as_str()),
            other => panic!("unsupported {other}"),
        };
        e.push(names.intern(k), value);
    }
    e
}

/// An alert as the tests compare it.
#[derive(Debug, PartialEq)]
struct Seen {
    title: String,
    /// Seconds after T0 when it fired (rule alerts: the event's time).
    at: i64,
    group: Vec<String>,
    /// Hits in the episode (1 for a rule alert).
    events: u64,
}

/// Runs `yaml` (a correlation, plus the base rules) over `events` in the
/// given order and returns the alerts ferret would write: rule alerts as
/// they come, then correlation alerts in firing order.
fn run(yaml: &str, events: &[(i64, serde_json::Value)]) -> Vec<Seen> {
    run_with(yaml, events, None).0
}

/// `run`, starting from saved baselines; also returns what it learned.
fn run_with(
    yaml: &str,
    events: &[(i64, serde_json::Value)],
    saved: Option<&SavedBaselines>,
) -> (Vec<Seen>, SavedBaselines) {
    let (set, diags) = compile(yaml);
    let errors: Vec<_> = diags.iter().filter(|d| d.code.as_str().starts_with('E')).collect();
    assert!(errors.is_empty(), "load errors: {errors:?}");
    let correlations = set.correlations();
    let mut scanner = Scanner::new(&set);
    let mut engine = Correlator::new(correlations);
    if let Some(saved) = saved {
        assert_eq!(engine.load_baselines(saved), Vec::<String>::new());
    }
    let (mut seen, hits) = scan(&set, &mut scanner, events);
    for hit in hits {
        engine.push(hit);
    }
    let learned = engine.save_baselines();
    let mut firings = engine.finish();
    firings.sort_by_key(|f| (f.fired_at, f.correlation));
    for f in firings {
        let resolved = &correlations.correlations[f.correlation];
        if resolved.alerts {
            seen.push(Seen {
                title: resolved.spec.title.clone(),
                at: f.fired_at.as_second() - T0,
                group: f.group.iter().map(|(_, v)| v.clone()).collect(),
                events: f.events,
            });
        }
    }
    (seen, learned)
}

/// Scans `events` in order: the rule alerts (rules that alert on their
/// own) and the correlation hits, in order.
fn scan(
    set: &RuleSet,
    scanner: &mut Scanner<'_>,
    events: &[(i64, serde_json::Value)],
) -> (Vec<Seen>, Vec<ferret_sigma::Hit>) {
    let correlations = set.correlations();
    let (mut seen, mut hits) = (Vec::new(), Vec::new());
    for (n, (second, fields)) in events.iter().enumerate() {
        let e = event(set.names(), n + 1, *second, fields);
        let mut matches = Vec::new();
        scanner.scan(&e, &mut matches);
        for m in matches {
            correlations.hits(m.rule, &e, None, &mut hits);
            if correlations.rule_alerts(m.rule) {
                seen.push(Seen { title: set.rule(m.rule).title.clone(), at: *second, group: vec![], events: 1 });
            }
        }
    }
    (seen, hits)
}

fn alert(title: &str, at: i64, group: &[&str], events: u64) -> Seen {
    Seen { title: title.into(), at, group: group.iter().map(|s| s.to_string()).collect(), events }
}

fn failures(times: &[i64], fields: serde_json::Value) -> Vec<(i64, serde_json::Value)> {
    let mut f = fields;
    f["EventID"] = json!(4625);
    times.iter().map(|t| (*t, f.clone())).collect()
}

fn load_errors(yaml: &str) -> Vec<Code> {
    compile(yaml).1.into_iter().filter(|d| d.code.as_str().starts_with('E')).map(|d| d.code).collect()
}

const COUNT_5_IN_60S: &str = r#"
title: five failures
correlation:
    type: event_count
    rules: failed_login
    group-by: [IpAddress]
    timespan: 60s
    condition: {gte: 5}
level: high
"#;

#[test]
fn ec49_the_window_never_exceeds_the_timespan() {
    let ip = json!({"IpAddress": "10.0.0.1"});
    assert_eq!(run(COUNT_5_IN_60S, &failures(&[0, 30, 61, 62, 63], ip.clone())), vec![]);
    // 30–64 holds five.
    assert_eq!(
        run(COUNT_5_IN_60S, &failures(&[0, 30, 61, 62, 63, 64], ip)),
        vec![alert("five failures", 64, &["10.0.0.1"], 5)]
    );
}

#[test]
fn window_edges_are_inclusive_and_slide_across_clock_boundaries() {
    let ip = json!({"IpAddress": "10.0.0.1"});
    // Exactly N in exactly T: fires (the window is [t - T, t]).
    assert_eq!(run(COUNT_5_IN_60S, &failures(&[0, 15, 30, 45, 60], ip.clone())).len(), 1);
    // N in T + 1 s: does not.
    assert_eq!(run(COUNT_5_IN_60S, &failures(&[0, 15, 30, 45, 61], ip.clone())), vec![]);
    // N - 1: does not.
    assert_eq!(run(COUNT_5_IN_60S, &failures(&[0, 1, 2, 3], ip.clone())), vec![]);
    // The same burst shifted across every boundary (minute, hour, day).
    for start in [50, 3_597, 86_398, 86_400 * 31 - 2] {
        let times: Vec<i64> = (0..5).map(|i| start + i).collect();
        assert_eq!(
            run(COUNT_5_IN_60S, &failures(&times, ip.clone())),
            vec![alert("five failures", start + 4, &["10.0.0.1"], 5)],
            "burst starting at {start}"
        );
    }
}

#[test]
fn one_alert_per_episode_and_a_new_one_after_a_quiet_window() {
    let ip = json!({"IpAddress": "10.0.0.1"});
    // 30 failures, one per second: one episode of 30 hits. Then, after a
    // gap longer than the timespan, a second burst of 6.
    let mut times: Vec<i64> = (0..30).collect();
    times.extend(200..206);
    assert_eq!(
        run(COUNT_5_IN_60S, &failures(&times, ip)),
        vec![alert("five failures", 4, &["10.0.0.1"], 30), alert("five failures", 204, &["10.0.0.1"], 6)]
    );
}

#[test]
fn groups_are_counted_apart_and_no_group_by_is_one_group() {
    let mut events = failures(&[0, 1, 2], json!({"IpAddress": "10.0.0.1"}));
    events.extend(failures(&[3, 4], json!({"IpAddress": "10.0.0.2"})));
    assert_eq!(run(COUNT_5_IN_60S, &events), vec![]);
    let global = COUNT_5_IN_60S.replace("    group-by: [IpAddress]\n", "");
    assert_eq!(run(&global, &events), vec![alert("five failures", 4, &[], 5)]);
}

#[test]
fn group_by_tuples_and_ec55_missing_fields_are_excluded() {
    let tuple = COUNT_5_IN_60S.replace("[IpAddress]", "[IpAddress, TargetUserName]");
    let mut events = failures(&[0, 1, 2], json!({"IpAddress": "10.0.0.1", "TargetUserName": "bob"}));
    events.extend(failures(&[3, 4], json!({"IpAddress": "10.0.0.1", "TargetUserName": "eve"})));
    assert_eq!(run(&tuple, &events), vec![]);
    events.extend(failures(&[5, 6], json!({"IpAddress": "10.0.0.1", "TargetUserName": "bob"})));
    assert_eq!(run(&tuple, &events), vec![alert("five failures", 6, &["10.0.0.1", "bob"], 5)]);
    // EC-55: without the field the event is not in the correlation; "-" is a value.
    assert_eq!(run(COUNT_5_IN_60S, &failures(&[0, 1, 2, 3, 4], json!({"Other": "x"}))), vec![]);
    assert_eq!(run(COUNT_5_IN_60S, &failures(&[0, 1, 2, 3, 4], json!({"IpAddress": null}))), vec![]);
    assert_eq!(run(COUNT_5_IN_60S, &failures(&[0, 1, 2, 3, 4], json!({"IpAddress": "-"}))).len(), 1);
}

#[test]
fn condition_operators_and_ranges() {
    let with = |cond: &str| COUNT_5_IN_60S.replace("{gte: 5}", cond);
    let ip = json!({"IpAddress": "10.0.0.1"});
    let four = failures(&[0, 1, 2, 3], ip.clone());
    assert_eq!(run(&with("{gt: 3}"), &four).len(), 1);
    assert_eq!(run(&with("{gt: 4}"), &four).len(), 0);
    assert_eq!(run(&with("{eq: 4}"), &four), vec![alert("five failures", 3, &["10.0.0.1"], 4)]);
    // A range: more than 2 and at most 3 — fires at the 3rd, closes at the 4th.
    assert_eq!(run(&with("{gt: 2, lte: 3}"), &four), vec![alert("five failures", 2, &["10.0.0.1"], 3)]);
    // lt / lte / neq hold from the first event.
    assert_eq!(run(&with("{lt: 3}"), &four), vec![alert("five failures", 0, &["10.0.0.1"], 2)]);
    assert_eq!(run(&with("{neq: 2}"), &failures(&[0], ip)).len(), 1);
}

#[test]
fn value_count_counts_distinct_values_and_tuples() {
    let spray = r#"
title: spray
correlation:
    type: value_count
    rules: [failed_login]
    group-by: [IpAddress]
    timespan: 10m
    condition: {field: TargetUserName, gte: 3}
"#;
    let ev = |t: i64, user: &str| (t, json!({"EventID": 4625, "IpAddress": "10.0.0.9", "TargetUserName": user}));
    // The same account five times: one value.
    assert_eq!(run(spray, &(0..5).map(|t| ev(t, "bob")).collect::<Vec<_>>()), vec![]);
    assert_eq!(
        run(spray, &[ev(0, "bob"), ev(1, "bob"), ev(2, "eve"), ev(3, "amy")]),
        vec![alert("spray", 3, &["10.0.0.9"], 4)]
    );
    // A value that left the window no longer counts.
    assert_eq!(run(spray, &[ev(0, "bob"), ev(500, "eve"), ev(601, "amy")]), vec![]);
    // Missing value field: excluded.
    assert_eq!(
        run(spray, &[ev(0, "bob"), (1, json!({"EventID": 4625, "IpAddress": "10.0.0.9"})), ev(2, "eve")]),
        vec![]
    );
    // A list of fields counts distinct tuples.
    let tuple = spray.replace("field: TargetUserName", "field: [TargetUserName, Workstation]");
    let ew = |t: i64, user: &str, ws: &str| {
        (t, json!({"EventID": 4625, "IpAddress": "10.0.0.9", "TargetUserName": user, "Workstation": ws}))
    };
    assert_eq!(run(&tuple, &[ew(0, "bob", "w1"), ew(1, "bob", "w2"), ew(2, "bob", "w3")]).len(), 1);
    assert_eq!(run(&tuple, &[ew(0, "bob", "w1"), ew(1, "bob", "w1"), ew(2, "eve", "w1")]).len(), 0);
}

#[test]
fn ec50_temporal_requires_equal_group_values() {
    let rule = r#"
title: A and B
correlation:
    type: temporal
    rules: [A, B]
    group-by: [Computer]
    timespan: 5m
"#;
    let a = |t: i64, host: &str| (t, json!({"Image": "C:\\x\\a.exe", "Computer": host}));
    let b = |t: i64, host: &str| (t, json!({"Image": "C:\\x\\b.exe", "Computer": host}));
    assert_eq!(run(rule, &[a(0, "host1"), b(10, "host2")]), vec![]);
    assert_eq!(run(rule, &[a(0, "host1"), b(10, "host2"), b(20, "host1")]), vec![alert("A and B", 20, &["host1"], 2)]);
    // Any order, but within the timespan.
    assert_eq!(run(rule, &[b(0, "h"), a(300, "h")]).len(), 1);
    assert_eq!(run(rule, &[b(0, "h"), a(301, "h")]).len(), 0);
}

#[test]
fn ec51_temporal_ordered_enforces_the_full_order() {
    let rule = r#"
title: A then B then C
correlation:
    type: temporal_ordered
    rules: [A, B, C]
    group-by: [Computer]
    timespan: 5m
"#;
    let p = |t: i64, name: &str| (t, json!({"Image": format!("C:\\x\\{name}.exe"), "Computer": "h"}));
    assert_eq!(run(rule, &[p(0, "a"), p(1, "c"), p(2, "b")]), vec![]);
    assert_eq!(run(rule, &[p(0, "a"), p(1, "b"), p(2, "c")]), vec![alert("A then B then C", 2, &["h"], 3)]);
    assert_eq!(run(rule, &[p(0, "a"), p(1, "c"), p(2, "b"), p(3, "c")]).len(), 1);
    // The whole sequence must fit in the timespan.
    assert_eq!(run(rule, &[p(0, "a"), p(200, "b"), p(301, "c")]), vec![]);
    // A later A restarts the sequence so it can still complete in time.
    assert_eq!(run(rule, &[p(0, "a"), p(200, "a"), p(250, "b"), p(400, "c")]).len(), 1);
    // A smaller condition counts the in-order prefix.
    let two = rule.replace("    timespan: 5m\n", "    timespan: 5m\n    condition: {gte: 2}\n");
    assert_eq!(run(&two, &[p(0, "a"), p(1, "c"), p(2, "b")]), vec![alert("A then B then C", 2, &["h"], 3)]);
}

#[test]
fn ec53_aliases_map_fields_per_rule() {
    let rule = r#"
title: error then connection
correlation:
    type: temporal
    rules: [internal_error, new_network_connection]
    group-by: [internal_ip, remote_ip]
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
---
title: internal error
name: internal_error
logsource: {product: acme}
detection:
    sel: {http.response.status_code: 500}
    condition: sel
---
title: new connection
name: new_network_connection
logsource: {product: acme}
detection:
    sel: {event.category: network}
    condition: sel
"#;
    let error = (0, json!({"http.response.status_code": 500, "destination.ip": "10.0.0.5", "source.ip": "1.2.3.4"}));
    let conn =
        |src: &str, dst: &str| (5, json!({"event.category": "network", "source.ip": src, "destination.ip": dst}));
    assert_eq!(
        run(rule, &[error.clone(), conn("10.0.0.5", "1.2.3.4")]),
        vec![alert("error then connection", 5, &["10.0.0.5", "1.2.3.4"], 2)]
    );
    assert_eq!(run(rule, &[error, conn("1.2.3.4", "10.0.0.5")]), vec![]);
}

const SPEC_EXAMPLE: &str = r#"
title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - ok_login
    group-by:
        - User
    timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
"#;

#[test]
fn ec54_chained_correlations_and_generate() {
    let mut events: Vec<_> = (0..10).map(|t| (t, json!({"EventID": 4625, "User": "bob"}))).collect();
    events.push((100, json!({"EventID": 4624, "User": "bob"})));
    let title = "Correlation - Multiple Failed Logins Followed by Successful Login";
    // Only the outer correlation alerts: helpers and the inner correlation
    // have no level of their own and `generate` defaults to false.
    assert_eq!(run(SPEC_EXAMPLE, &events), vec![alert(title, 100, &["bob"], 2)]);
    // Another user's success does not complete it.
    let mut other = events.clone();
    other[10] = (100, json!({"EventID": 4624, "User": "eve"}));
    assert_eq!(run(SPEC_EXAMPLE, &other), vec![]);
    // generate: true on the outer: its direct references alert too.
    let generating = SPEC_EXAMPLE.replacen(
        "    timespan: 10m\nlevel: high",
        "    timespan: 10m\n    generate: true\nlevel: high",
        1,
    );
    let got = run(&generating, &events);
    let titles: Vec<&str> = got.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["ok login", "Multiple failed logons", title]);
    // generate on the inner correlation: the failed logins alert, the
    // inner correlation itself still does not.
    let inner = SPEC_EXAMPLE.replace("        gte: 10\n", "        gte: 10\n    generate: true\n");
    let got = run(&inner, &events);
    assert_eq!(got.iter().filter(|s| s.title == "failed login").count(), 10);
    assert!(!got.iter().any(|s| s.title == "Multiple failed logons"));
    // An inner correlation that states its own level alerts on its own.
    let leveled = SPEC_EXAMPLE.replace("        gte: 10\n", "        gte: 10\nlevel: medium\n");
    let got = run(&leveled, &events);
    assert_eq!(got, vec![alert("Multiple failed logons", 9, &["bob"], 10), alert(title, 100, &["bob"], 2)]);
}

#[test]
fn a_long_inner_episode_still_precedes_the_success() {
    // Failures for 40 minutes, success at 41: the inner correlation holds
    // at every failure, so the outer 10-minute window sees it.
    let mut events: Vec<_> = (0..2400).step_by(20).map(|t| (t, json!({"EventID": 4625, "User": "bob"}))).collect();
    events.push((2460, json!({"EventID": 4624, "User": "bob"})));
    let got = run(SPEC_EXAMPLE, &events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].at, 2460);
}

#[test]
fn metric_types_sum_average_and_percentile() {
    let metric = |kind: &str, cond: &str| {
        format!(
            "title: {kind}\ncorrelation:\n    type: {kind}\n    rules: [failed_login]\n    group-by: [IpAddress]\n    timespan: 1h\n    condition: {cond}\n"
        )
    };
    let ev = |t: i64, bytes: &str| (t, json!({"EventID": 4625, "IpAddress": "10.0.0.1", "bytes": bytes}));
    let events = [ev(0, "100"), ev(1, "300"), ev(2, "not a number"), ev(3, "800")];
    assert_eq!(
        run(&metric("value_sum", "{field: bytes, gt: 1000}"), &events),
        vec![alert("value_sum", 3, &["10.0.0.1"], 3)]
    );
    assert_eq!(run(&metric("value_sum", "{field: bytes, gt: 1200}"), &events), vec![]);
    assert_eq!(
        run(&metric("value_avg", "{field: bytes, gte: 400}"), &events),
        vec![alert("value_avg", 3, &["10.0.0.1"], 3)]
    );
    assert_eq!(run(&metric("value_avg", "{field: bytes, gt: 400}"), &events), vec![]);
    // Median (default) of 100, 300, 800 is 300; the 90th percentile 800.
    assert_eq!(run(&metric("value_percentile", "{field: bytes, gte: 300}"), &events).len(), 1);
    assert_eq!(run(&metric("value_percentile", "{field: bytes, gt: 300}"), &events).len(), 0);
    assert_eq!(run(&metric("value_percentile", "{field: bytes, percentile: 90, gte: 800}"), &events).len(), 1);
}

#[test]
fn load_errors_are_coded() {
    let cycle = r#"
title: x
name: x
correlation: {type: temporal, rules: [y, A], timespan: 1m}
---
title: y
name: y
correlation: {type: temporal, rules: [x, B], timespan: 1m}
"#;
    assert_eq!(load_errors(cycle), vec![Code::CorrelationCycle, Code::CorrelationCycle]);
    let self_loop =
        "title: s\nname: s\ncorrelation: {type: event_count, rules: [s], timespan: 1m, condition: {gte: 2}}\n";
    assert_eq!(load_errors(self_loop), vec![Code::CorrelationCycle]);
    let unknown = "title: u\ncorrelation: {type: event_count, rules: [nope], timespan: 1m, condition: {gte: 2}}\n";
    assert_eq!(load_errors(unknown), vec![Code::UnknownReference]);
    // Built on a broken correlation: reported too.
    let on_broken =
        format!("{unknown}name: u\n---\ntitle: v\ncorrelation: {{type: temporal, rules: [u, A], timespan: 1m}}\n");
    assert_eq!(load_errors(&on_broken), vec![Code::UnknownReference, Code::UnknownReference]);
    for bad in [
        "correlation: {type: event_count, rules: [A], timespan: 1m, condition: {gte: 2}}",
        "title: t\ncorrelation: {type: nearby, rules: [A], timespan: 1m, condition: {gte: 2}}",
        "title: t\ncorrelation: {type: event_count, rules: [A], timespan: 10, condition: {gte: 2}}",
        "title: t\ncorrelation: {type: event_count, rules: [A], timespan: 1m}",
        "title: t\ncorrelation: {type: event_count, rules: [A], timespan: 1m, condition: {more: 2}}",
        "title: t\ncorrelation: {type: value_count, rules: [A], timespan: 1m, condition: {gte: 2}}",
        "title: t\ncorrelation: {type: value_sum, rules: [A], timespan: 1m, condition: {field: [a, b], gte: 2}}",
        "title: t\ncorrelation: {type: event_count, timespan: 1m, condition: {gte: 2}}",
    ] {
        assert_eq!(load_errors(bad), vec![Code::RuleStructure], "{bad}");
    }
    // Accepted: no group-by, a single rule as a string, w/M/y timespans.
    assert_eq!(
        load_errors("title: t\ncorrelation: {type: event_count, rules: A, timespan: 2w, condition: {gte: 2}}"),
        vec![]
    );
}

#[test]
fn hits_out_of_order_are_counted_as_late() {
    let (set, _) = compile(COUNT_5_IN_60S);
    let mut engine = Correlator::new(set.correlations());
    let mut scanner = Scanner::new(&set);
    let mut hits = Vec::new();
    for (n, t) in [5, 3, 9].into_iter().enumerate() {
        let e = event(set.names(), n, t, &json!({"EventID": 4625, "IpAddress": "10.0.0.1"}));
        let mut m = Vec::new();
        scanner.scan(&e, &mut m);
        set.correlations().hits(m[0].rule, &e, None, &mut hits);
    }
    for hit in hits {
        engine.push(hit);
    }
    assert_eq!(engine.late(), 1);
}

#[test]
fn state_expires_with_the_window() {
    let (set, _) = compile(COUNT_5_IN_60S);
    let mut engine = Correlator::new(set.correlations());
    let mut scanner = Scanner::new(&set);
    let mut hits = Vec::new();
    let mut most = 0;
    // 20,000 sources, one failure each, one per second: at most a minute
    // of groups is ever live.
    for n in 0..20_000 {
        let e = event(
            set.names(),
            n,
            n as i64,
            &json!({"EventID": 4625, "IpAddress": format!("10.{}.{}.1", n / 256, n % 256)}),
        );
        let mut m = Vec::new();
        scanner.scan(&e, &mut m);
        set.correlations().hits(m[0].rule, &e, None, &mut hits);
        for hit in hits.drain(..) {
            engine.push(hit);
        }
        most = most.max(engine.groups());
    }
    assert!(most <= 125, "live groups peaked at {most}");
    assert!(engine.finish().is_empty());
}

const NEW_SOURCE: &str = r#"
title: login from a new source
id: 00000000-0000-0000-0000-0000000000f5
baseline:
    type: first_seen
    rules: [ok_login]
    group-by: [User]
    field: IpAddress
    learn: 1h
"#;

#[test]
fn first_seen_alerts_once_per_new_value_after_training() {
    let login = |t: i64, user: &str, ip: &str| (t, json!({"EventID": 4624, "User": user, "IpAddress": ip}));
    let events = [
        login(0, "bob", "10.0.0.1"),
        login(1800, "bob", "10.0.0.2"),   // still training
        login(3600, "bob", "10.0.0.1"),   // known
        login(3700, "bob", "10.0.0.9"),   // new
        login(3800, "bob", "10.0.0.9"),   // now known
        login(3900, "alice", "10.0.0.1"), // a user never seen: new pair
    ];
    assert_eq!(
        run(NEW_SOURCE, &events),
        vec![
            alert("login from a new source", 3700, &["bob", "10.0.0.9"], 1),
            alert("login from a new source", 3900, &["alice", "10.0.0.1"], 1),
        ]
    );
    // Saved and reused: no training, the first unknown pair alerts.
    let (_, learned) = run_with(NEW_SOURCE, &events[..2], None);
    let (seen, _) = run_with(NEW_SOURCE, &[login(10, "bob", "10.0.0.2"), login(20, "bob", "10.0.0.3")], Some(&learned));
    assert_eq!(seen, vec![alert("login from a new source", 20, &["bob", "10.0.0.3"], 1)]);
}

const FAILURE_RATE: &str = r#"
title: unusual failure rate
id: 00000000-0000-0000-0000-0000000000f6
baseline:
    type: rate
    rules: [failed_login]
    group-by: [User]
    bucket: 1h
    learn: 1d
    multiplier: 3
    min_count: 5
"#;

#[test]
fn rate_baselines_alert_on_buckets_far_above_the_learned_rate() {
    let fail = |t: i64, user: &str| (t, json!({"EventID": 4625, "User": user}));
    // Training: bob fails twice an hour for a day (mean 2, MAD 0).
    let mut events: Vec<_> = (0..24).flat_map(|h| [fail(h * 3600, "bob"), fail(h * 3600 + 60, "bob")]).collect();
    let day = 24 * 3600;
    events.extend((0..10).map(|i| fail(day + i * 10, "bob"))); // 10 > 3 × 2: alert
    events.extend((0..5).map(|i| fail(day + 3600 + i, "bob"))); // 5 < 6: quiet
    events.extend((0..6).map(|i| fail(day + 7200 + i, "eve"))); // no baseline: alert
    events.extend((0..4).map(|i| fail(day + 7200 + i, "amy"))); // under min_count
    let got = run(FAILURE_RATE, &events);
    assert_eq!(
        got,
        vec![alert("unusual failure rate", day, &["bob"], 10), alert("unusual failure rate", day + 7200, &["eve"], 6)]
    );
    // The saved baseline holds bob's learned rate; reused, it scores at once.
    let (_, learned) = run_with(FAILURE_RATE, &events, None);
    let text = serde_json::to_string(&learned).unwrap();
    assert!(text.contains(r#""mean":2.0"#), "{text}");
    let (seen, _) = run_with(FAILURE_RATE, &(0..7).map(|i| fail(i, "bob")).collect::<Vec<_>>(), Some(&learned));
    assert_eq!(seen, vec![alert("unusual failure rate", 0, &["bob"], 7)]);
    // Data that ends inside the training window scores nothing.
    assert_eq!(run(FAILURE_RATE, &events[..48]), vec![]);
}

#[test]
fn baseline_documents_are_checked() {
    assert_eq!(load_errors("title: b\nbaseline: {type: sometimes, rules: [A]}"), vec![Code::RuleStructure]);
    assert_eq!(
        load_errors("title: b\nbaseline: {type: first_seen, rules: [A], group-by: [User]}"),
        vec![Code::RuleStructure]
    );
    assert_eq!(load_errors("title: b\nbaseline: {type: rate, rules: [A], bucket: soon}"), vec![Code::RuleStructure]);
    assert_eq!(load_errors("title: b\nbaseline: {type: rate, rules: [nope]}"), vec![Code::UnknownReference]);
}

/// Firings of `yaml` over `events`, for tests that look at counts.
fn firings(yaml: &str, events: &[(i64, serde_json::Value)]) -> Vec<ferret_sigma::Firing> {
    let (set, _) = compile(yaml);
    let mut scanner = Scanner::new(&set);
    let mut engine = Correlator::new(set.correlations());
    for hit in scan(&set, &mut scanner, events).1 {
        engine.push(hit);
    }
    engine.finish()
}

#[test]
fn counts_are_true_counts_and_repeated_records_weigh_their_repetitions() {
    let ip = json!({"IpAddress": "10.0.0.1"});
    // 30 hits, one per second: fires at the 5th, and the window's count
    // peaks at 30 (not at the 5 hits the window keeps for samples).
    let f = firings(COUNT_5_IN_60S, &failures(&(0..30).collect::<Vec<_>>(), ip));
    assert_eq!((f.len(), f[0].events, f[0].value, f[0].peak), (1, 30, 5.0, 30.0));
    // syslog's "message repeated 4 times" (event.count 4) plus one: five.
    let events = [
        (0, json!({"EventID": 4625, "IpAddress": "10.0.0.1", "event.count": 4})),
        (1, json!({"EventID": 4625, "IpAddress": "10.0.0.1"})),
    ];
    let f = firings(COUNT_5_IN_60S, &events);
    assert_eq!((f.len(), f[0].events, f[0].value, f[0].samples.len()), (1, 5, 5.0, 2));
}
