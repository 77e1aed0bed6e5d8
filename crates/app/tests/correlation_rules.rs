//! The built-in correlation rules (`rules/correlation/`) end to end: log
//! files written to a temporary directory, a real hunt with the built-in
//! rules, and the exact alerts expected (rule, time, record, group, window,
//! counts per referenced rule, summarised fields). Then loghub's OpenSSH log,
//! with the figures derived from the log itself.

mod common;

use std::path::Path;

use ferret_app::{HuntConfig, NoProgress, ReadOptions, hunt};
use ferret_model::{Alert, Level, Location, Provenance, VecSink};
use tempfile::TempDir;

const FILE: &str = "builtin:correlation/authentication_bruteforce.yml";

// Correlations.
const BRUTE_FORCE: &str = "888989d2-a607-49ad-bc9f-7a2aca453a58";
const SPRAY: &str = "8f24760e-f70c-49f5-a222-23ee3770ef42";
const DISTRIBUTED: &str = "7455b5d0-957e-4108-bfa3-20276d767cd7";
const THEN_SSH: &str = "1b776872-fb47-4a13-acc8-6140850aa67d";
const THEN_WINDOWS: &str = "f959737f-ba36-4fe8-b73f-604919691671";
// Helper rules.
const SSH_FAILURE: &str = "6a647bbd-a5e4-4c45-8f06-6dc3f80c2918";
const WINDOWS_FAILURE: &str = "564b581d-cb1d-4e74-83b7-0793a06f5c28";
const WEB_FAILURE: &str = "608f464a-a064-4525-80da-c2ffd5c031e1";
const SSH_SUCCESS: &str = "a32f75ee-bf97-40fb-989d-5d47c044820e";
const WINDOWS_SUCCESS: &str = "dc935781-44fd-4f8e-98ac-bfa437bfc2ee";
/// The failure helpers, in the order the count correlations list them.
const FAILURES: [&str; 3] = [SSH_FAILURE, WINDOWS_FAILURE, WEB_FAILURE];
/// `rules/linux/auth_ssh_password_login.yml`, a single-event rule.
const SSH_PASSWORD_LOGIN: &str = "de603be6-554c-4c19-9c57-5cbe5eae655d";

const ATTACKER: &str = "203.0.113.45";

/// A correlation alert reduced to what the tests compare.
#[derive(Debug, PartialEq)]
struct Seen {
    rule: String,
    level: Level,
    /// The time of the hit that made the condition true, and its record
    /// (file name, line).
    timestamp: String,
    at: (String, u64),
    group: Vec<(String, String)>,
    first_seen: String,
    last_seen: String,
    events: u64,
    value: f64,
    peak: f64,
    /// (referenced rule id, its events in the episode).
    rules: Vec<(String, u64)>,
    /// (field, distinct, listed values, more).
    fields: Vec<(String, usize, Vec<String>, bool)>,
}

/// What the alert of one episode must say.
struct Want<'a> {
    rule: &'a str,
    timestamp: &'a str,
    at: (&'a str, u64),
    group: &'a [(&'a str, &'a str)],
    first_seen: &'a str,
    last_seen: &'a str,
    events: u64,
    value: f64,
    peak: f64,
    rules: &'a [(&'a str, u64)],
    fields: &'a [(&'a str, usize, &'a [&'a str], bool)],
}

impl Want<'_> {
    fn seen(&self) -> Seen {
        let level = match self.rule {
            THEN_SSH | THEN_WINDOWS => Level::High,
            _ => Level::Medium,
        };
        Seen {
            rule: self.rule.into(),
            level,
            timestamp: self.timestamp.into(),
            at: (self.at.0.into(), self.at.1),
            group: self.group.iter().map(|(f, v)| ((*f).into(), (*v).into())).collect(),
            first_seen: self.first_seen.into(),
            last_seen: self.last_seen.into(),
            events: self.events,
            value: self.value,
            peak: self.peak,
            rules: self.rules.iter().map(|(id, n)| ((*id).into(), *n)).collect(),
            fields: self
                .fields
                .iter()
                .map(|(f, d, v, more)| ((*f).into(), *d, v.iter().map(|s| (*s).into()).collect(), *more))
                .collect(),
        }
    }
}

/// (file name, line) of a provenance.
fn at(p: &Provenance) -> (String, u64) {
    let name = Path::new(&*p.source).file_name().unwrap().to_string_lossy().into_owned();
    match p.location {
        Location::Line(n) => (name, n),
        other => panic!("{name}: not a line: {other:?}"),
    }
}

fn seen(alert: &Alert) -> Seen {
    let c = alert.correlation.as_ref().expect("a correlation alert");
    // A correlation alert names its correlation's file, its group as the
    // matched fields, and the ATT&CK techniques of its tags.
    assert_eq!(alert.rule.source, FILE);
    assert_eq!(alert.matched, c.group);
    assert!(alert.rule.attack.iter().any(|t| t == "T1110"), "{:?}", alert.rule.attack);
    Seen {
        rule: alert.rule.id.clone(),
        level: alert.rule.level,
        timestamp: alert.timestamp.unwrap().to_string(),
        at: at(&alert.provenance),
        group: c.group.iter().map(|m| (m.field.clone(), m.value.clone())).collect(),
        first_seen: c.first_seen.to_string(),
        last_seen: c.last_seen.to_string(),
        events: c.events,
        value: c.value,
        peak: c.peak,
        rules: c.rules.iter().map(|r| (r.id.clone(), r.events)).collect(),
        fields: c.fields.iter().map(|f| (f.field.clone(), f.distinct, f.values.clone(), f.more)).collect(),
    }
}

/// The correlation alerts, reduced; the others are returned apart.
fn split(alerts: &[Alert]) -> (Vec<Seen>, Vec<&Alert>) {
    let (correlated, single): (Vec<&Alert>, Vec<&Alert>) = alerts.iter().partition(|a| a.correlation.is_some());
    (correlated.into_iter().map(seen).collect(), single)
}

/// Writes `files` to a temporary directory and hunts through it with the
/// built-in rules.
fn hunt_files(files: &[(&str, String)]) -> (TempDir, Vec<Alert>) {
    let dir = TempDir::new().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let config = HuntConfig { inputs: vec![dir.path().to_owned()], builtin_rules: true, ..HuntConfig::default() };
    let mut sink = VecSink::default();
    let summary = hunt(&config, &mut sink, &NoProgress).expect("hunt runs");
    assert_eq!((summary.records_skipped, summary.unreadable.len()), (0, 0), "every line reads");
    (dir, sink.0)
}

/// `HH:MM:SS` for `secs` seconds after midnight.
fn clock(secs: u32) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// 02:38:00 as seconds after midnight, and so on.
const fn hms(h: u32, m: u32, s: u32) -> u32 {
    h * 3600 + m * 60 + s
}

/// The alert time of `secs` on 2026-11-28.
fn time(secs: u32) -> String {
    format!("2026-11-28T{}Z", clock(secs))
}

/// An rsyslog line (RFC 3339 stamp) of web-01's sshd.
fn sshd(secs: u32, message: &str) -> String {
    format!("2026-11-28T{}.000000+00:00 web-01 sshd[{}]: {message}", clock(secs), 804_000 + secs % 1000)
}

fn failed(secs: u32, user: &str, ip: &str) -> String {
    sshd(secs, &format!("Failed password for {user} from {ip} port {} ssh2", 40_000 + secs % 20_000))
}

fn accepted(secs: u32, user: &str, ip: &str) -> String {
    sshd(secs, &format!("Accepted password for {user} from {ip} port {} ssh2", 40_000 + secs % 20_000))
}

/// A combined-format access log line.
fn web(secs: u32, ip: &str, request: &str, status: u16) -> String {
    format!("{ip} - - [28/Nov/2026:{} +0000] \"{request} HTTP/1.1\" {status} 4519 \"-\" \"Mozilla/5.0\"", clock(secs))
}

fn lines(lines: impl IntoIterator<Item = String>) -> String {
    lines.into_iter().map(|l| l + "\n").collect()
}

/// Failed passwords from `ip` at `times`, one line each, users in turn.
fn failures(times: &[u32], users: &[&str], ip: &str) -> Vec<String> {
    times.iter().enumerate().map(|(i, t)| failed(*t, users[i % users.len()], ip)).collect()
}

/// `n` times from `start`, `step` seconds apart.
fn every(start: u32, step: u32, n: u32) -> Vec<u32> {
    (0..n).map(|k| start + k * step).collect()
}

/// Per-rule counts for the three failure helpers.
fn by_failure(ssh: u64, windows: u64, web: u64) -> [(&'static str, u64); 3] {
    [(FAILURES[0], ssh), (FAILURES[1], windows), (FAILURES[2], web)]
}

#[test]
fn ten_failures_in_ten_minutes_are_one_brute_force() {
    // 02:38:00, then every 63 s: the tenth at 02:47:27, 9m27s later.
    let times = every(hms(2, 38, 0), 63, 10);
    let (_dir, alerts) = hunt_files(&[("auth.log", lines(failures(&times, &["deploy"], ATTACKER)))]);
    // The helper rules have no level: they feed the correlation and never
    // alert on their own.
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.host.as_deref(), Some("web-01"));
    assert_eq!(alert.rule.title, "Brute Force Against Logins From One Source");
    assert_eq!(alert.rule.attack, ["T1110", "T1110.001"]);
    let c = alert.correlation.as_ref().unwrap();
    assert_eq!((c.kind.as_str(), c.timespan.as_str(), c.condition.as_str()), ("event_count", "10m", "gte 10"));
    let samples: Vec<(String, u64)> = c.samples.iter().map(at).collect();
    assert_eq!(samples, (1..=10).map(|n| ("auth.log".to_owned(), n)).collect::<Vec<_>>());
    let want = Want {
        rule: BRUTE_FORCE,
        timestamp: &time(hms(2, 47, 27)),
        at: ("auth.log", 10),
        group: &[("source.ip", ATTACKER)],
        first_seen: &time(hms(2, 38, 0)),
        last_seen: &time(hms(2, 47, 27)),
        events: 10,
        value: 10.0,
        peak: 10.0,
        rules: &by_failure(10, 0, 0),
        fields: &[("user.name", 1, &["deploy"], false)],
    };
    assert_eq!(seen(alert), want.seen());
}

#[test]
fn nine_failures_are_not_a_brute_force() {
    // Nine attempts as sshd logs them for unknown users: `Invalid user`,
    // pam_unix's failure, `Failed none` (the method probe) and `Failed
    // password`. Only the last is one line per guess: 9, not 36.
    let users = ["admin", "oracle", "test", "ubuntu", "user", "ftpuser", "postgres", "guest", "pi"];
    let mut log = Vec::new();
    for (k, user) in users.iter().enumerate() {
        let t = hms(2, 40, 0) + 20 * k as u32;
        log.push(sshd(t, &format!("Invalid user {user} from {ATTACKER} port {}", 41_000 + k)));
        log.push(sshd(t, &format!("Failed none for invalid user {user} from {ATTACKER} port {} ssh2", 41_000 + k)));
        log.push(sshd(
            t + 1,
            &format!(
                "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ATTACKER}"
            ),
        ));
        log.push(sshd(
            t + 3,
            &format!("Failed password for invalid user {user} from {ATTACKER} port {} ssh2", 41_000 + k),
        ));
    }
    let (_dir, alerts) = hunt_files(&[("auth.log", lines(log))]);
    // Nine accounts are not a spray either (ten are needed).
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn the_window_slides_across_the_hour() {
    // 02:55:10 to 03:04:10: fixed hourly buckets would see 5 and 5.
    let times = every(hms(2, 55, 10), 60, 10);
    let (_dir, alerts) = hunt_files(&[("auth.log", lines(failures(&times, &["root"], ATTACKER)))]);
    let want = Want {
        rule: BRUTE_FORCE,
        timestamp: &time(hms(3, 4, 10)),
        at: ("auth.log", 10),
        group: &[("source.ip", ATTACKER)],
        first_seen: &time(hms(2, 55, 10)),
        last_seen: &time(hms(3, 4, 10)),
        events: 10,
        value: 10.0,
        peak: 10.0,
        rules: &by_failure(10, 0, 0),
        fields: &[("user.name", 1, &["root"], false)],
    };
    assert_eq!(split(&alerts).0, [want.seen()]);
    assert_eq!(alerts.len(), 1);
}

#[test]
fn the_window_holds_ten_minutes_and_not_a_second_more() {
    // Two sources, ten failures each: 203.0.113.45's span exactly 10m00s
    // (the window includes both ends), 198.51.100.9's 10m01s.
    let start = hms(2, 40, 0);
    let mut edge = every(start, 60, 9);
    edge.push(start + 600);
    let mut over = every(start, 60, 9);
    over.push(start + 601);
    let mut log = failures(&edge, &["root"], ATTACKER);
    log.extend(failures(&over, &["root"], "198.51.100.9"));
    let (_dir, alerts) = hunt_files(&[("auth.log", lines(log))]);
    let want = Want {
        rule: BRUTE_FORCE,
        timestamp: &time(start + 600),
        at: ("auth.log", 10),
        group: &[("source.ip", ATTACKER)],
        first_seen: &time(start),
        last_seen: &time(start + 600),
        events: 10,
        value: 10.0,
        peak: 10.0,
        rules: &by_failure(10, 0, 0),
        fields: &[("user.name", 1, &["root"], false)],
    };
    assert_eq!(split(&alerts).0, [want.seen()]);
    assert_eq!(alerts.len(), 1);
}

#[test]
fn a_long_brute_force_is_one_alert_per_burst() {
    // 30 failures 20 s apart (02:00:00–02:09:40), a 15-minute pause, then
    // 12 more 30 s apart (02:24:40–02:30:10): two bursts, two alerts, each
    // covering its whole burst.
    let first = every(hms(2, 0, 0), 20, 30);
    let second = every(hms(2, 24, 40), 30, 12);
    let mut log = failures(&first, &["root", "admin", "test"], ATTACKER);
    log.extend(failures(&second, &["deploy"], ATTACKER));
    let (_dir, alerts) = hunt_files(&[("auth.log", lines(log))]);
    let wants = [
        Want {
            rule: BRUTE_FORCE,
            timestamp: &time(hms(2, 3, 0)),
            at: ("auth.log", 10),
            group: &[("source.ip", ATTACKER)],
            first_seen: &time(hms(2, 0, 0)),
            last_seen: &time(hms(2, 9, 40)),
            events: 30,
            value: 10.0,
            peak: 30.0,
            rules: &by_failure(30, 0, 0),
            fields: &[("user.name", 3, &["root", "admin", "test"], false)],
        },
        Want {
            rule: BRUTE_FORCE,
            timestamp: &time(hms(2, 29, 10)),
            at: ("auth.log", 40),
            group: &[("source.ip", ATTACKER)],
            first_seen: &time(hms(2, 24, 40)),
            last_seen: &time(hms(2, 30, 10)),
            events: 12,
            value: 10.0,
            peak: 12.0,
            rules: &by_failure(12, 0, 0),
            fields: &[("user.name", 1, &["deploy"], false)],
        },
    ];
    // Three accounts in the first burst are not a spray. `peak` is the most
    // failures any 10-minute window of the episode held.
    assert_eq!(split(&alerts).0, wants.map(|w| w.seen()));
    assert_eq!(alerts.len(), 2);
}

#[test]
fn brute_force_then_ssh_login_from_the_same_source() {
    // Ten failures 02:38:00–02:47:27, then logins: the attacker's at
    // 02:50:00 (the high alert), someone else's at 02:51:00 (none: another
    // source), the attacker's again at 03:17:28, 30m01s after the brute
    // force last held (none: outside the window).
    let times = every(hms(2, 38, 0), 63, 10);
    let mut log = failures(&times, &["root", "admin", "deploy"], ATTACKER);
    log.push(accepted(hms(2, 50, 0), "deploy", ATTACKER));
    log.push(accepted(hms(2, 51, 0), "alice", "198.51.100.23"));
    log.push(accepted(hms(3, 17, 28), "deploy", ATTACKER));
    let (_dir, alerts) = hunt_files(&[("auth.log", lines(log))]);
    let (correlated, single) = split(&alerts);
    // The password logins still alert on their own (a rule with a level).
    let single: Vec<(&str, (String, u64))> = single.iter().map(|a| (a.rule.id.as_str(), at(&a.provenance))).collect();
    assert_eq!(
        single,
        [11, 12, 13].map(|n| (SSH_PASSWORD_LOGIN, ("auth.log".to_owned(), n))),
        "one low alert per password login"
    );
    let brute_force = Want {
        rule: BRUTE_FORCE,
        timestamp: &time(hms(2, 47, 27)),
        at: ("auth.log", 10),
        group: &[("source.ip", ATTACKER)],
        first_seen: &time(hms(2, 38, 0)),
        last_seen: &time(hms(2, 47, 27)),
        events: 10,
        value: 10.0,
        peak: 10.0,
        rules: &by_failure(10, 0, 0),
        fields: &[("user.name", 3, &["root", "admin", "deploy"], false)],
    };
    // The brute force matched once (at its tenth failure, 02:47:27): one
    // hit for the ordered correlation, then the login at 02:50:00.
    let then_success = Want {
        rule: THEN_SSH,
        timestamp: &time(hms(2, 50, 0)),
        at: ("auth.log", 11),
        group: &[("source.ip", ATTACKER)],
        first_seen: &time(hms(2, 47, 27)),
        last_seen: &time(hms(2, 50, 0)),
        events: 2,
        value: 2.0,
        peak: 2.0,
        rules: &[(BRUTE_FORCE, 1), (SSH_SUCCESS, 1)],
        fields: &[("user.name", 3, &["root", "admin", "deploy"], false)],
    };
    assert_eq!(correlated, [brute_force.seen(), then_success.seen()]);
    let alert = alerts.iter().find(|a| a.rule.id == THEN_SSH).unwrap();
    assert_eq!(alert.rule.title, "SSH Login After A Brute Force From The Same Source");
    assert_eq!(alert.rule.attack, ["T1110", "T1110.001", "T1078"]);
    let c = alert.correlation.as_ref().unwrap();
    assert_eq!((c.kind.as_str(), c.timespan.as_str(), c.condition.as_str()), ("temporal_ordered", "30m", "gte 2"));
    assert_eq!(c.rules[0].kind, "event_count");
}

#[test]
fn password_spray_lists_the_accounts() {
    // One failure for each of 12 accounts, two minutes apart
    // (02:00:00–02:22:00): never ten in ten minutes, but ten accounts
    // within the hour at 02:18:00.
    let users =
        ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar"];
    let times = every(hms(2, 0, 0), 120, 12);
    let log: Vec<String> = times.iter().zip(users).map(|(t, u)| failed(*t, u, ATTACKER)).collect();
    let (_dir, alerts) = hunt_files(&[("auth.log", lines(log))]);
    let want = Want {
        rule: SPRAY,
        timestamp: &time(hms(2, 18, 0)),
        at: ("auth.log", 10),
        group: &[("source.ip", ATTACKER)],
        first_seen: &time(hms(2, 0, 0)),
        last_seen: &time(hms(2, 22, 0)),
        events: 12,
        value: 10.0,
        peak: 12.0,
        rules: &by_failure(12, 0, 0),
        fields: &[("user.name", 12, &users, false)],
    };
    assert_eq!(split(&alerts).0, [want.seen()]);
    assert_eq!(alerts.len(), 1);
    let c = alerts[0].correlation.as_ref().unwrap();
    assert_eq!((c.kind.as_str(), c.timespan.as_str()), ("value_count", "1h"));
    assert_eq!(c.condition, "gte 10 of user.name");
}

#[test]
fn distributed_brute_force_against_one_account() {
    // root from 12 addresses, one failure each, three minutes apart
    // (01:00:00–01:33:00): the tenth address at 01:27:00.
    let ips: Vec<String> = (1..=12).map(|n| format!("198.51.100.{}", 10 * n)).collect();
    let times = every(hms(1, 0, 0), 180, 12);
    let log: Vec<String> = times.iter().zip(&ips).map(|(t, ip)| failed(*t, "root", ip)).collect();
    let (_dir, alerts) = hunt_files(&[("auth.log", lines(log))]);
    let ip_refs: Vec<&str> = ips.iter().map(String::as_str).collect();
    let want = Want {
        rule: DISTRIBUTED,
        timestamp: &time(hms(1, 27, 0)),
        at: ("auth.log", 10),
        group: &[("user.name", "root")],
        first_seen: &time(hms(1, 0, 0)),
        last_seen: &time(hms(1, 33, 0)),
        events: 12,
        value: 10.0,
        peak: 12.0,
        rules: &by_failure(12, 0, 0),
        fields: &[("source.ip", 12, &ip_refs, false)],
    };
    assert_eq!(split(&alerts).0, [want.seen()]);
    assert_eq!(alerts.len(), 1);
}

#[test]
fn lines_out_of_time_order_are_correlated_in_time_order() {
    // Ten failures a minute apart (02:38:00–02:47:00), written in a
    // shuffled order: file line n holds the failure of minute ORDER[n-1].
    const ORDER: [u32; 10] = [3, 0, 7, 1, 9, 2, 5, 4, 8, 6];
    let log: Vec<String> =
        ORDER.iter().map(|k| failed(hms(2, 38, 0) + 60 * k, &format!("user{k}"), ATTACKER)).collect();
    let (_dir, alerts) = hunt_files(&[("auth.log", lines(log))]);
    let users: Vec<String> = (0..10).map(|k| format!("user{k}")).collect();
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    // Ten accounts in ten minutes: a brute force and a spray, both made
    // true by the latest failure (02:47:00, line 5).
    let brute_force = Want {
        rule: BRUTE_FORCE,
        timestamp: &time(hms(2, 47, 0)),
        at: ("auth.log", 5),
        group: &[("source.ip", ATTACKER)],
        first_seen: &time(hms(2, 38, 0)),
        last_seen: &time(hms(2, 47, 0)),
        events: 10,
        value: 10.0,
        peak: 10.0,
        rules: &by_failure(10, 0, 0),
        fields: &[("user.name", 10, &users, false)],
    };
    let spray = Want { rule: SPRAY, ..brute_force };
    assert_eq!(split(&alerts).0, [brute_force.seen(), spray.seen()]);
    // Samples in time order, that is minute 0 (line 2), 1 (line 4)...
    let c = alerts[0].correlation.as_ref().unwrap();
    let samples: Vec<u64> = c.samples.iter().map(|p| at(p).1).collect();
    assert_eq!(samples, [2, 4, 6, 1, 8, 7, 10, 3, 9, 5]);
}

#[test]
fn one_burst_across_an_auth_log_and_a_web_access_log() {
    // 6 SSH failures (auth.log) and 4 failed web logins (access.log) from
    // one client within 8m10s; the web log's other requests do not count.
    let ssh = every(hms(2, 40, 0), 90, 6); // 02:40:00 ... 02:47:30
    let auth = failures(&ssh, &["admin", "admin", "root", "root", "deploy", "deploy"], ATTACKER);
    let access = [
        web(hms(2, 39, 50), ATTACKER, "GET /wp-login.php", 200),
        web(hms(2, 40, 45), ATTACKER, "POST /wp-login.php", 200), // WordPress: wrong password
        web(hms(2, 41, 0), "192.0.2.77", "POST /wp-login.php", 200), // someone else
        web(hms(2, 42, 15), ATTACKER, "POST /api/login", 401),
        web(hms(2, 43, 40), ATTACKER, "GET /index.html", 200),
        web(hms(2, 45, 15), ATTACKER, "POST /xmlrpc.php", 403),
        web(hms(2, 48, 0), ATTACKER, "POST /wp-login.php", 302), // a WordPress login that worked
        web(hms(2, 48, 10), ATTACKER, "POST /signin", 401),
    ];
    let (_dir, alerts) = hunt_files(&[("auth.log", lines(auth)), ("access.log", lines(access.iter().cloned()))]);
    let want = Want {
        rule: BRUTE_FORCE,
        timestamp: &time(hms(2, 48, 10)),
        at: ("access.log", 8),
        group: &[("source.ip", ATTACKER)],
        first_seen: &time(hms(2, 40, 0)),
        last_seen: &time(hms(2, 48, 10)),
        events: 10,
        value: 10.0,
        peak: 10.0,
        rules: &by_failure(6, 0, 4),
        // Access logs do not name the account: only SSH's are listed.
        fields: &[("user.name", 3, &["admin", "root", "deploy"], false)],
    };
    assert_eq!(split(&alerts).0, [want.seen()]);
    assert_eq!(alerts.len(), 1);
    let c = alerts[0].correlation.as_ref().unwrap();
    let samples: Vec<(String, u64)> = c.samples.iter().map(at).collect();
    let expected: Vec<(String, u64)> = [
        ("auth.log", 1),
        ("access.log", 2),
        ("auth.log", 2),
        ("access.log", 4),
        ("auth.log", 3),
        ("auth.log", 4),
        ("access.log", 6),
        ("auth.log", 5),
        ("auth.log", 6),
        ("access.log", 8),
    ]
    .map(|(f, n)| (f.to_owned(), n))
    .into();
    assert_eq!(samples, expected);
}

/// A Security event as Winlogbeat ships it (the reader gives it the EVTX
/// field view: `EventID`, `IpAddress`, `TargetUserName`...).
fn winlogbeat(time: &str, record: u32, event_id: u32, user: &str, logon_type: u32, ip: &str) -> String {
    let outcome = if event_id == 4625 { "failure" } else { "success" };
    serde_json::json!({
        "@timestamp": time,
        "agent": {"type": "winlogbeat", "version": "8.12.0"},
        "event": {"code": event_id.to_string(), "provider": "Microsoft-Windows-Security-Auditing", "outcome": outcome},
        "host": {"name": "dc-01.corp.example"},
        "winlog": {
            "channel": "Security",
            "computer_name": "DC-01.corp.example",
            "event_id": event_id.to_string(),
            "provider_name": "Microsoft-Windows-Security-Auditing",
            "record_id": record.to_string(),
            "event_data": {
                "TargetUserName": user,
                "TargetDomainName": "CORP",
                "LogonType": logon_type.to_string(),
                "IpAddress": ip,
                "IpPort": if ip == "-" { "-" } else { "50112" },
                "Status": "0xc000006d",
                "SubStatus": "0xc000006a",
                "WorkstationName": "-"
            }
        }
    })
    .to_string()
}

#[test]
fn windows_logon_failures_grouped_by_ip_address() {
    // 12 failed network logons for `administrator` from 198.51.100.77,
    // 20 s apart (12:20:00–12:23:40); between them, 3 failures without an
    // address (`-`, left out); then the account logs on from that address
    // at 12:25:00.
    let ip = "198.51.100.77";
    let mut log = Vec::new();
    for k in 0..12u32 {
        let t = format!("2026-03-03T12:{:02}:{:02}.000Z", 20 + k * 20 / 60, k * 20 % 60);
        log.push(winlogbeat(&t, 889_100 + k, 4625, "administrator", 3, ip));
        if k % 4 == 1 {
            log.push(winlogbeat(&t, 889_200 + k, 4625, "svc_backup", 5, "-"));
        }
    }
    log.push(winlogbeat("2026-03-03T12:25:00.000Z", 889_300, 4624, "administrator", 3, ip));
    let (_dir, alerts) = hunt_files(&[("security.json", lines(log))]);
    // Lines: failures 1, 2, (3: no address), 4, 5, 6, 7, (8), 9, 10, 11, 12,
    // (13), 14, 15; the logon is line 16. The tenth failure (12:23:00) is
    // on line 12.
    let brute_force = Want {
        rule: BRUTE_FORCE,
        timestamp: "2026-03-03T12:23:00Z",
        at: ("security.json", 12),
        group: &[("source.ip", ip)],
        first_seen: "2026-03-03T12:20:00Z",
        last_seen: "2026-03-03T12:23:40Z",
        events: 12,
        value: 10.0,
        peak: 12.0,
        rules: &by_failure(0, 12, 0),
        fields: &[("user.name", 1, &["administrator"], false)],
    };
    // The brute force held at its 10th, 11th and 12th failure: three hits,
    // then the logon.
    let then_success = Want {
        rule: THEN_WINDOWS,
        timestamp: "2026-03-03T12:25:00Z",
        at: ("security.json", 16),
        group: &[("source.ip", ip)],
        first_seen: "2026-03-03T12:23:00Z",
        last_seen: "2026-03-03T12:25:00Z",
        events: 4,
        value: 2.0,
        peak: 2.0,
        rules: &[(BRUTE_FORCE, 3), (WINDOWS_SUCCESS, 1)],
        fields: &[("user.name", 1, &["administrator"], false)],
    };
    assert_eq!(split(&alerts).0, [brute_force.seen(), then_success.seen()]);
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    assert!(alerts.iter().all(|a| a.host.as_deref() == Some("DC-01.corp.example")), "{alerts:#?}");
}

/// loghub's OpenSSH_2k.log (LabSZ, 10 December, no year in the lines).
///
/// Figures derived from the log, not from ferret. The failures that count
/// (`Failed password` / `keyboard-interactive`; `message repeated 5 times:
/// [ Failed password ...]` stands for 5 attempts (`event.count`) but no
/// source with such a line reaches ten in 600 s; the 4 `Failed none`
/// lines do not count): 520 lines, all on Dec 10, in time order. The
/// brute-force episodes per source (ten failures within 600 s, inclusive;
/// an episode lasts while each new failure still has nine others within
/// the 600 s before it):
///
/// ```sh
/// grep -nE 'sshd\[[0-9]+\]: (message repeated [0-9]+ times: \[ )?Failed (password|keyboard-interactive)' \
///     OpenSSH_2k.log | awk '
/// { split($3, c, ":"); t = c[1]*3600 + c[2]*60 + c[3]; L = $1; sub(/:.*/, "", L)
///   ip = $0; sub(/.* from /, "", ip); sub(/ .*/, "", ip); k = ++n[ip]; T[ip,k] = t; S[ip,k] = $3
///   on = k >= 10 && t - T[ip,k-9] <= 600
///   if (on && !open[ip]) { open[ip] = 1; ev[ip] = 9; head[ip] = ip " fired " $3 " line " L " first " S[ip,k-9] }
///   if (on) { ev[ip]++; last[ip] = $3 }
///   if (!on && open[ip]) { open[ip] = 0; print head[ip], "last", last[ip], "events", ev[ip] } }
/// END { for (ip in open) if (open[ip]) print head[ip], "last", last[ip], "events", ev[ip] }'
/// ```
///
/// The spray episodes: the same with the window `T[ip,i] >= t - 3600` and
/// the condition "ten distinct users in it" (user = the text between
/// `for [invalid user ]` and ` from `); the episode's first event is the
/// window's oldest when it opens:
///
/// ```sh
///   u = $0; sub(/.* Failed [^ ]* for (invalid user )?/, "", u); sub(/ from [^ ]* port .*/, "", u); U[ip,k] = u
///   split("", seen); d = 0
///   for (i = k; i >= 1 && T[ip,i] >= t - 3600; i--) if (!seen[U[ip,i]]++) d++
///   on = d >= 10   # opening: ev[ip] = k - i - 1, first = S[ip,i+1]
/// ```
///
/// The accounts of each episode are its lines' users in order of first
/// appearance (`awk '!seen[$0]++'` over the episode's lines); 187.141.143.180
/// tried 28, of which the alert lists the first 20. Distributed brute force:
/// the same per account with distinct sources; the most is 5 (admin, at
/// 09:18:35), so none. The one `Accepted password` (fztu from
/// 119.137.62.142, line 956) has no brute force before it: no high alert.
/// The expected alerts, in output order (by the time each fired): the
/// correlation, when and on which line it fired, the source, first and
/// last failure, events, peak (the most failures in one 600 s window of
/// the episode: the awk script's largest `k - i` with `T[ip,i] >= t - 600`;
/// for sprays the most distinct accounts in one hour), and the accounts (distinct, the listed ones
/// comma-separated, whether there are more).
type OpensshRow =
    (&'static str, &'static str, u64, &'static str, &'static str, &'static str, u64, f64, usize, &'static str, bool);
#[rustfmt::skip]
const OPENSSH: &[OpensshRow] = &[
    (BRUTE_FORCE, "07:28:14", 65, "112.95.230.3", "07:27:52", "07:28:51", 26, 26.0, 3, "root,pgadmin,utsims", false),
    (BRUTE_FORCE, "08:25:32", 230, "5.188.10.180", "08:24:35", "08:26:24", 18, 18.0, 7, " 0101,0,1234,admin,default,ftp,guest", false),
    (BRUTE_FORCE, "09:11:03", 337, "185.190.58.151", "09:07:58", "09:12:59", 17, 17.0, 3, "123,admin,api", false),
    (BRUTE_FORCE, "09:11:50", 398, "103.99.0.122", "09:11:21", "09:12:44", 30, 30.0, 19, USERS_103, false),
    (SPRAY, "09:11:57", 413, "103.99.0.122", "09:11:21", "09:12:44", 30, 19.0, 19, USERS_103, false),
    (BRUTE_FORCE, "09:13:38", 562, "187.141.143.180", "09:12:48", "09:20:02", 80, 80.0, 28, USERS_187, true),
    (SPRAY, "09:17:48", 783, "187.141.143.180", "09:12:48", "09:20:02", 80, 28.0, 28, USERS_187, true),
    (BRUTE_FORCE, "10:54:47", 1054, "183.62.140.253", "10:54:29", "11:04:43", 286, 279.0, 10, USERS_183, false),
    (SPRAY, "10:55:56", 1180, "183.62.140.253", "10:54:29", "11:04:43", 286, 10.0, 10, USERS_183, false),
    (BRUTE_FORCE, "11:04:18", 1934, "103.99.0.122", "11:03:39", "11:04:45", 16, 16.0, 12, USERS_103B, false),
    (SPRAY, "11:04:32", 1966, "103.99.0.122", "11:03:39", "11:04:45", 16, 12.0, 12, USERS_103B, false),
];
const USERS_103: &str = "admin,support,user,root,1234,anonymous,ubnt,uucp,sshd,cisco,test,guest,operator,ftp,monitor,ftpuser,pi,PlcmSpIp,Management";
const USERS_103B: &str = "admin,support,user,root,1234,anonymous,ubnt,uucp,sshd,cisco,test,guest";
/// The first 20 of 28.
const USERS_187: &str = "root,eoor,butter,redhat,oracle,postgres,nagios,www,abc,ted,vnc,git,ghost,ubuntu,ftp,test,deploy,oralce,nagios1,postgres1";
const USERS_183: &str = "zhangyan,dff,root,oracle,test,ubuntu,git,boot,123456,123";

#[test]
fn builtin_correlations_over_the_openssh_log() {
    let Some(data) = common::shared_data() else { return };
    let config = HuntConfig {
        inputs: vec![data.join("linux/OpenSSH_2k.log")],
        builtin_rules: true,
        read: ReadOptions { assume_year: Some(2016), ..ReadOptions::default() },
        ..HuntConfig::default()
    };
    let mut sink = VecSink::default();
    hunt(&config, &mut sink, &NoProgress).expect("hunt runs");
    let (correlated, single) = split(&sink.0);
    assert_eq!(single.len(), 1, "the password login of fztu");
    let t = |clock: &str| format!("2016-12-10T{clock}Z");
    let expected: Vec<Seen> = OPENSSH
        .iter()
        .map(|&(rule, fired, line, ip, first, last, events, peak, distinct, users, more)| {
            let users: Vec<&str> = users.split(',').collect();
            Want {
                rule,
                timestamp: &t(fired),
                at: ("OpenSSH_2k.log", line),
                group: &[("source.ip", ip)],
                first_seen: &t(first),
                last_seen: &t(last),
                events,
                value: 10.0,
                peak,
                rules: &by_failure(events, 0, 0),
                fields: &[("user.name", distinct, &users, more)],
            }
            .seen()
        })
        .collect();
    assert_eq!(correlated.len(), expected.len(), "{correlated:#?}");
    for (got, want) in correlated.iter().zip(&expected) {
        assert_eq!(got, want);
    }
}

/// The example incident (`examples/`, docs/example-incident.md): the SSH
/// brute force from 203.0.113.45 is two bursts (02:31:09–02:33:45, 32
/// failures; a 13-minute pause; 02:47:01–02:47:30, 10 failures), and the
/// password login at 02:47:32 follows it.
#[test]
fn the_example_incident() {
    let config =
        HuntConfig { inputs: vec![common::repo_root().join("examples")], builtin_rules: true, ..HuntConfig::default() };
    let mut sink = VecSink::default();
    hunt(&config, &mut sink, &NoProgress).expect("hunt runs");
    let (correlated, single) = split(&sink.0);
    assert_eq!(single.len(), 20, "the single-event alerts of docs/example-incident.md");
    let accounts = ["root", "admin", "oracle", "test", "ubuntu", "user", "ftpuser", "postgres"];
    let t = |clock: &str| format!("2026-11-28T{clock}Z");
    let first_burst = Want {
        rule: BRUTE_FORCE,
        timestamp: &t("02:31:37.438684"),
        at: ("auth.log", 40),
        group: &[("source.ip", ATTACKER)],
        first_seen: &t("02:31:09.13395"),
        last_seen: &t("02:33:45.329005"),
        events: 32,
        value: 10.0,
        peak: 32.0,
        rules: &by_failure(32, 0, 0),
        fields: &[("user.name", 8, &accounts, false)],
    };
    let second_burst = Want {
        rule: BRUTE_FORCE,
        timestamp: &t("02:47:30.690163"),
        at: ("auth.log", 153),
        group: &[("source.ip", ATTACKER)],
        first_seen: &t("02:47:01.095671"),
        last_seen: &t("02:47:30.690163"),
        events: 10,
        value: 10.0,
        peak: 10.0,
        rules: &by_failure(10, 0, 0),
        fields: &[("user.name", 1, &["deploy"], false)],
    };
    // The first burst held at 23 failures (its 10th to its 32nd), the
    // second at 1: 24 hits, then the two password logins of deploy
    // (02:47:32 and 02:49:13), within 30 minutes of the last.
    let mut all_accounts = accounts.to_vec();
    all_accounts.push("deploy");
    let then_success = Want {
        rule: THEN_SSH,
        timestamp: &t("02:47:32.990163"),
        at: ("auth.log", 154),
        group: &[("source.ip", ATTACKER)],
        first_seen: &t("02:31:37.438684"),
        last_seen: &t("02:49:13.402291"),
        events: 26,
        value: 2.0,
        peak: 2.0,
        rules: &[(BRUTE_FORCE, 24), (SSH_SUCCESS, 2)],
        fields: &[("user.name", 9, &all_accounts, false)],
    };
    assert_eq!(correlated, [first_burst.seen(), second_burst.seen(), then_success.seen()]);
}
