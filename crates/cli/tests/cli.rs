//! The `ferret` binary as a user runs it: output formats, exit codes, and
//! what happens on bad input.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ferret() -> Command {
    let mut cmd = Command::cargo_bin("ferret").unwrap();
    cmd.current_dir(repo());
    // Compiled rules are cached beside the build, not in the home folder.
    cmd.env("FERRET_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("rule-cache"));
    cmd
}

fn shared_data() -> Option<PathBuf> {
    let dir = repo().join("../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var_os("FERRET_REQUIRE_SHARED_DATA").is_none(), "../shared/data is required but missing");
    eprintln!("skipping: ../shared/data not found");
    None
}

/// Compares `actual` with the golden file, or rewrites it when
/// `FERRET_UPDATE_GOLDEN=1`.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("FERRET_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    if expected != actual {
        let (i, (e, a)) = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (e, a))| e != a)
            .unwrap_or((expected.lines().count().min(actual.lines().count()), ("<end>", "<end>")));
        panic!("{name} differs at line {}:\nexpected: {e}\nactual:   {a}\n(FERRET_UPDATE_GOLDEN=1 regenerates)", i + 1);
    }
}

#[test]
fn example_incident_as_json_lines_matches_the_golden_file() {
    let out = ferret().args(["hunt", "examples", "--format", "jsonl", "--quiet"]).output().unwrap();
    assert!(out.status.success());
    golden("examples.jsonl", &String::from_utf8(out.stdout).unwrap());
}

#[test]
fn output_is_the_same_whatever_the_thread_count() {
    let run = |threads: &str| {
        ferret().args(["-j", threads, "hunt", "examples", "--format", "jsonl", "--quiet"]).output().unwrap().stdout
    };
    assert_eq!(run("1"), run("2"));
}

#[test]
fn csv_has_a_header_and_one_row_per_alert() {
    let out = ferret().args(["hunt", "examples", "--format", "csv", "--quiet"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(rows.headers().unwrap().get(2), Some("rule_id"));
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    // 20 single-event alerts and 3 correlation alerts (docs/example-incident.md).
    assert_eq!(rows.len(), 23);
    assert!(rows.iter().any(|r| &r[3] == "Security Event Log Cleared" && &r[10] == "line 37"));
}

#[test]
fn table_and_summary_for_people() {
    ferret()
        .args(["hunt", "examples"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Successful SSH Login As Root")
                .and(predicate::str::contains("web-01/auth.log:196")),
        )
        .stderr(
            predicate::str::contains("events read  380")
                .and(predicate::str::contains("alerts       23 (9 high, 8 medium, 6 low)"))
                .and(predicate::str::contains("rules        26 loaded")),
        );
}

#[test]
fn compiled_rules_are_cached_between_runs_unless_told_not_to() {
    let cache = TempDir::new().unwrap();
    let dir = cache.path().to_str().unwrap();
    let hunt = |extra: &[&str]| {
        let output = ferret().args(["hunt", "examples", "-f", "jsonl"]).args(extra).output().unwrap();
        assert!(output.status.success());
        (String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
    };
    let (first, summary) = hunt(&["--rule-cache", dir]);
    assert!(summary.contains("rule cache   rules compiled and stored in"), "{summary}");
    let (second, summary) = hunt(&["--rule-cache", dir]);
    assert!(summary.contains("rule cache   compiled rules loaded from"), "{summary}");
    assert_eq!(first, second);
    let (third, summary) = hunt(&["--no-rule-cache"]);
    assert!(!summary.contains("rule cache"), "{summary}");
    assert_eq!(first, third);
}

#[test]
fn output_file_and_min_level() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("alerts.jsonl");
    ferret()
        .args(["hunt", "examples", "-f", "jsonl", "--min-level", "high", "-q", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    let text = std::fs::read_to_string(out).unwrap();
    assert_eq!(text.lines().count(), 9);
    assert!(text.lines().all(|l| l.contains(r#""level":"high""#)));
}

#[test]
fn exit_codes() {
    ferret().args(["hunt", "examples", "-q"]).assert().code(0);
    ferret().args(["hunt", "examples", "-q", "--fail-on-findings"]).assert().code(1);
    ferret()
        .args(["hunt", "examples", "-q", "--no-builtin"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no rules"));
    ferret()
        .args(["hunt", "no/such/dir", "-q"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/dir: cannot open"));
    ferret().args(["hunt", "examples", "--format", "xml"]).assert().code(2);
}

#[test]
fn a_failed_write_is_an_error_said_once() {
    // `/dev/full` takes nothing: every write fails with ENOSPC.
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full on this system");
        return;
    }
    let out = ferret().args(["hunt", "examples", "-q", "--format", "jsonl", "-o", "/dev/full"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("writing alerts failed: "), "{stderr}");
    assert_eq!(stderr.matches("os error 28").count(), 1, "the cause said once: {stderr}");
}

/// Writes `files` into a new temporary directory.
fn bad_inputs(files: &[(&str, &[u8])]) -> TempDir {
    let dir = TempDir::new().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

const GOOD_AUTH: &[u8] =
    b"2026-11-28T03:06:40.118204+00:00 web-01 sshd[1]: Accepted password for root from 198.51.100.23 port 50000 ssh2\n";

#[test]
fn a_json_line_that_is_not_json_is_named_and_the_rest_is_read() {
    let dir = bad_inputs(&[
        ("a.jsonl", b"{\"EventID\": 1102, \"Channel\": \"Security\", \"Provider_Name\": \"Microsoft-Windows-Eventlog\"}\nthis is not json\n{\"x\": 1}\n"),
    ]);
    ferret()
        .args(["hunt", "-f", "jsonl"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Security Event Log Cleared"))
        .stderr(
            predicate::str::contains("a.jsonl: line 2: invalid JSON").and(predicate::str::contains("events read  2")),
        )
        .stderr(predicate::str::contains("skipped      1 records/chunks"));
    ferret().args(["hunt", "-q", "--fail-on-error"]).arg(dir.path()).assert().code(2);
}

#[test]
fn a_syslog_line_in_no_known_format_is_named_and_the_rest_is_read() {
    let mut log = GOOD_AUTH.to_vec();
    log.extend_from_slice(b"@@@ garbage that is no syslog @@@\n");
    log.extend_from_slice(GOOD_AUTH);
    let dir = bad_inputs(&[("auth.log", &log)]);
    ferret()
        .args(["hunt", "-f", "jsonl"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Successful SSH Login As Root").count(2))
        .stderr(
            predicate::str::contains("auth.log: line 2:")
                .and(predicate::str::contains("skipped      1 records/chunks")),
        );
}

#[test]
fn binary_and_unreadable_files_are_listed_and_nothing_read_is_an_error() {
    let dir = bad_inputs(&[("core.bin", b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00")]);
    std::os::unix::fs::symlink(dir.path().join("gone.log"), dir.path().join("dangling.log")).unwrap();
    ferret()
        .args(["hunt"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("core.bin: offset 0: binary content"))
        .stderr(predicate::str::contains("dangling.log: cannot open"))
        .stderr(predicate::str::contains("2 unreadable files"));
    // With one good file beside them the run succeeds and says what it skipped.
    std::fs::write(dir.path().join("auth.log"), GOOD_AUTH).unwrap();
    ferret().args(["hunt"]).arg(dir.path()).assert().code(0).stderr(predicate::str::contains("2 unreadable files"));
}

#[test]
fn a_rule_file_that_is_not_yaml_is_reported_and_the_hunt_goes_on() {
    let dir = bad_inputs(&[("bad.yml", b"title: [unclosed\ndetection: {\n"), ("auth.log", GOOD_AUTH)]);
    ferret()
        .args(["hunt", "-f", "jsonl", "--rules"])
        .arg(dir.path().join("bad.yml"))
        .arg(dir.path().join("auth.log"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Successful SSH Login As Root"))
        .stderr(predicate::str::contains("rules        26 loaded, 1 not loaded"));
    ferret()
        .args(["rules", "check", "--no-builtin"])
        .arg(dir.path().join("bad.yml"))
        .assert()
        .code(2)
        .stdout(predicate::str::contains("error[E001]").and(predicate::str::contains("bad.yml:")));
}

#[test]
fn truncated_and_garbled_evtx_are_reported_without_losing_the_rest() {
    let Some(data) = shared_data() else { return };
    let original =
        std::fs::read(data.join("evtx-attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx"))
            .unwrap();
    let chunks = (original.len() - 4096) / 65536;
    assert!(chunks >= 4, "the sample has several chunks");
    let truncated = &original[..4096 + 3 * 65536 + 30000];
    let mut garbled = original.clone();
    for byte in &mut garbled[4096 + 2 * 65536 + 600..4096 + 2 * 65536 + 9000] {
        *byte = 0xAA;
    }
    let dir = bad_inputs(&[("intact.evtx", &original), ("truncated.evtx", truncated), ("garbled.evtx", &garbled)]);
    let count = |name: &str| -> (u64, String) {
        let out =
            ferret().args(["hunt", "-f", "jsonl", "--max-errors", "100"]).arg(dir.path().join(name)).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.code() == Some(0), "{name}: {stderr}");
        let events = stderr.lines().find_map(|l| l.trim().strip_prefix("events read")).unwrap().trim().parse().unwrap();
        (events, stderr)
    };
    let (intact, _) = count("intact.evtx");
    let (truncated, stderr) = count("truncated.evtx");
    assert!(truncated > 0 && truncated < intact, "{truncated} of {intact}");
    assert!(stderr.contains("truncated.evtx"), "{stderr}");
    let (garbled, stderr) = count("garbled.evtx");
    assert!(garbled > 0 && garbled < intact, "{garbled} of {intact}");
    assert!(stderr.contains("garbled.evtx: offset "), "{stderr}");
}

#[test]
fn gzip_and_stdin() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("auth.log.gz");
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, GOOD_AUTH).unwrap();
    gz.finish().unwrap();
    ferret()
        .args(["hunt", "-f", "jsonl", "-q"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("Successful SSH Login As Root"));
    ferret()
        .args(["hunt", "-f", "jsonl", "-q", "-"])
        .write_stdin(GOOD_AUTH)
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""provenance":{"source":"-","line":1}"#));
}

#[test]
fn explain_says_which_selection_field_and_value_made_the_rule_fire() {
    let out = ferret()
        .args(["hunt", "examples/ws-07", "-f", "jsonl", "-q", "--explain", "--min-level", "high"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let alert: serde_json::Value =
        serde_json::from_str(text.lines().find(|l| l.contains("Service Installed From Suspicious Location")).unwrap())
            .unwrap();
    let explanation = &alert["explanation"];
    assert_eq!(explanation["matched"], true);
    assert_eq!(explanation["condition"], "(selection_event and selection_path)");
    let path_item = &explanation["selections"][1]["items"][0];
    assert_eq!(path_item["key"], "ImagePath|contains");
    assert_eq!(path_item["event_value"], "C:\\Users\\Public\\Libraries\\winupd.exe -svc");
    assert!(path_item["rule_values"].as_array().unwrap().contains(&"\\Users\\Public\\".into()));
}

#[test]
fn rules_test_runs_regression_samples() {
    let Some(data) = shared_data() else { return };
    ferret()
        .args(["rules", "test"])
        .arg(data.join("sigma/rules/windows/builtin/security"))
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^[1-9][0-9]* passed, 0 failed, [0-9]+ skipped$").unwrap());
}

#[test]
fn an_evidence_bundle_is_read_in_one_go() {
    // A triage collector's .tar.gz: logs of several formats, a nested zip,
    // and a file in no format ferret reads, which is listed, not skipped.
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("triage.tar.gz");
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut add = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes).unwrap();
    };
    add("web-01/var/log/auth.log", &std::fs::read(repo().join("examples/web-01/auth.log")).unwrap());
    add("ws-07/security.jsonl", &std::fs::read(repo().join("examples/ws-07/security.jsonl")).unwrap());
    add("collector/notes.txt", b"collected by the night shift\nno chain of custody yet\n");
    tar.into_inner().unwrap().finish().unwrap();
    let out = ferret().args(["hunt", "-f", "jsonl"]).arg(&path).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("triage.tar.gz!web-01/var/log/auth.log"), "{stdout}");
    assert!(stdout.contains("Security Event Log Cleared"));
    assert!(stderr.contains("triage.tar.gz!collector/notes.txt: offset 0: unrecognised text format"), "{stderr}");
    assert!(stderr.contains("(2 streams: 1 json, 1 syslog)"), "{stderr}");
}

#[test]
fn baselines_are_saved_and_reused_on_a_later_run() {
    let dir = TempDir::new().unwrap();
    let saved = dir.path().join("baseline.json");
    // Learn from the example incident (all of it is inside the first day).
    ferret()
        .args(["hunt", "examples", "-q", "-f", "jsonl", "-o"])
        .arg(dir.path().join("alerts.jsonl"))
        .arg("--save-baseline")
        .arg(&saved)
        .assert()
        .success();
    let text = std::fs::read_to_string(&saved).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    // deploy logged in from 203.0.113.45 during the incident.
    let new_source = &json["baselines"]["3f0c7d52-8a41-4c8e-9b1e-5d2f6a7c1e90"];
    assert_eq!(new_source["type"], "first_seen");
    assert!(text.contains("203.0.113.45"), "{text}");
    // A later day: deploy from the known address, then from a new one.
    let log = dir.path().join("auth.log");
    std::fs::write(
        &log,
        "2026-12-02T09:00:00+00:00 web-01 sshd[1]: Accepted password for deploy from 203.0.113.45 port 4000 ssh2\n\
         2026-12-02T09:05:00+00:00 web-01 sshd[2]: Accepted password for deploy from 192.0.2.99 port 4001 ssh2\n",
    )
    .unwrap();
    let out = ferret().args(["hunt", "-q", "-f", "jsonl", "--baseline"]).arg(&saved).arg(&log).output().unwrap();
    assert!(out.status.success());
    let alerts: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let new: Vec<&serde_json::Value> =
        alerts.iter().filter(|a| a["rule"]["id"] == "3f0c7d52-8a41-4c8e-9b1e-5d2f6a7c1e90").collect();
    assert_eq!(new.len(), 1, "{alerts:#?}");
    assert_eq!(new[0]["matched"][1]["value"], "192.0.2.99");
    assert_eq!(new[0]["provenance"]["line"], 2);
    // Without the baseline, that day is its own training: no alert.
    let out = ferret().args(["hunt", "-q", "-f", "jsonl"]).arg(&log).output().unwrap();
    assert!(!String::from_utf8(out.stdout).unwrap().contains("3f0c7d52"));
    // A file that is not a baseline is named, with its position.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"version\": 1,\n \"baselines\": [}").unwrap();
    ferret()
        .args(["hunt", "-q", "--baseline"])
        .arg(&bad)
        .arg(&log)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.json:2:").and(predicate::str::contains("not a ferret baseline file")));
}

#[test]
fn correlations_are_tuned_from_the_command_line_or_a_file() {
    let count = |args: &[&str]| {
        let out = ferret().args(["hunt", "examples", "-q", "-f", "jsonl"]).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let alerts = String::from_utf8(out.stdout).unwrap();
        alerts
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|a| a["rule"]["title"] == "Brute Force Against Logins From One Source")
            .count()
    };
    assert_eq!(count(&[]), 2);
    // The largest burst of the example has 32 failures.
    assert_eq!(count(&["--tune", "ferret_bruteforce.threshold=33"]), 0);
    // A 20-minute window joins the two bursts (13 minutes apart).
    assert_eq!(count(&["--tune", "ferret_bruteforce.timespan=20m"]), 1);
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("tuning.yml");
    std::fs::write(&file, "ferret_bruteforce:\n  threshold: 33\n").unwrap();
    assert_eq!(count(&["--tune-file", file.to_str().unwrap()]), 0);
    ferret()
        .args(["hunt", "examples", "-q", "--tune", "ferret_bruteforce.often=3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown setting"));
    ferret().args(["hunt", "examples", "-q", "--tune", "nope.threshold=3"]).assert().code(2).stderr(
        predicate::str::contains("no correlation named 'nope'").and(predicate::str::contains("ferret_bruteforce")),
    );
}
