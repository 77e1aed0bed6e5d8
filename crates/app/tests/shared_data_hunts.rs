//! Hunts over the real public data in ../shared/data (see its README for
//! sources and licences): the SigmaHQ corpus over EVTX-ATTACK-SAMPLES, the
//! built-in rules over loghub's OpenSSH log, and the OTRF Security-Datasets
//! captures (zipped JSON Lines).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use ferret_app::{HuntConfig, NoProgress, ReadOptions, hunt};
use ferret_model::{Level, VecSink};

fn run(config: &HuntConfig) -> (ferret_app::HuntSummary, Vec<ferret_model::Alert>) {
    let mut sink = VecSink::default();
    let summary = hunt(config, &mut sink, &NoProgress).expect("hunt runs");
    (summary, sink.0)
}

/// (file under evtx-attack-samples, SigmaHQ rule id) pairs verified by
/// reading the matching event of each file:
const EXPECTED: &[(&str, &str)] = &[
    // Security 1102 "The audit log was cleared", Provider Microsoft-Windows-Eventlog.
    ("Defense Evasion/DE_1102_security_log_cleared.evtx", "d99b79d2-0a6f-4f46-ad8b-260b6e17f982"),
    // System 104 (System log cleared).
    ("Defense Evasion/DE_104_system_log_cleared.evtx", "100ef69e-3327-481c-8e5c-6d80d9507556"),
    // Sysmon 1: rdrleakdiag.exe /p 668 ... /fullmemdmp (LSASS dump).
    ("Credential Access/sysmon_rdrleakdiag_lsass_dump.evtx", "edadb1e5-5919-4e4c-8462-a9e643b02c4b"),
    // Security 5145 on IPC$ with RelativeTargetName *-stdin/-stdout/-stderr (PsExec pipes).
    ("Lateral Movement/LM_renamed_psexecsvc_5145.evtx", "c462f537-a1e3-41a6-b5fc-b2c2cef9bf82"),
    // Sysmon 1: cmstp.exe /au ...\tmp.ini (UAC bypass).
    ("Privilege Escalation/sysmon_1_13_11_cmstp_ini_uacbypass.evtx", "e66779cc-383e-4224-a3a4-267eeb585c40"),
    // Security 4662 with the DS-Replication-Get-Changes GUIDs by a user account.
    ("Credential Access/CA_DCSync_4662.evtx", "17d619c1-e020-4347-957e-1d1207455c93"),
    // Sysmon 1: pcalua.exe -a calc.exe.
    ("Execution/exec_sysmon_1_lolbin_pcalua.evtx", "0955e4e1-c281-4fb9-9ee1-5ee7b4b754d2"),
];

#[test]
fn sigma_corpus_over_evtx_attack_samples() {
    let Some(data) = common::shared_data() else { return };
    let sigma = data.join("sigma");
    let config = HuntConfig {
        inputs: vec![data.join("evtx-attack-samples")],
        rule_paths: vec![sigma.join("rules"), sigma.join("rules-emerging-threats"), sigma.join("rules-threat-hunting")],
        builtin_rules: true,
        ..HuntConfig::default()
    };
    let (summary, alerts) = run(&config);
    assert_eq!(summary.streams, 277, "every EVTX file is read");
    assert_eq!(summary.events, 8255);
    assert_eq!(summary.records_skipped, 0);
    // README.md and LICENSE.GPL are listed, not silently ignored.
    assert_eq!(summary.unreadable.len(), 2);
    assert!(summary.rules_loaded > 3300, "{} rules loaded", summary.rules_loaded);
    let hits: BTreeSet<(String, String)> = alerts
        .iter()
        .map(|a| {
            let file = a.provenance.source.split("evtx-attack-samples/").nth(1).unwrap_or_default().to_owned();
            (file, a.rule.id.clone())
        })
        .collect();
    for (file, id) in EXPECTED {
        assert!(hits.contains(&((*file).to_owned(), (*id).to_owned())), "{id} should fire on {file}");
    }
    // Logsource routing: a Security-log-only file never meets Sysmon rules.
    let only_security: Vec<_> = alerts
        .iter()
        .filter(|a| a.provenance.source.ends_with("DE_1102_security_log_cleared.evtx"))
        .filter(|a| a.rule.source.contains("process_creation"))
        .collect();
    assert!(only_security.is_empty(), "{only_security:#?}");
    // Output order is deterministic: input by input, in record order, then
    // the correlation and baseline alerts (which span inputs) in the order
    // they fired.
    let first_correlated = alerts.iter().position(|a| a.correlation.is_some()).unwrap_or(alerts.len());
    let (alerts, correlated) = alerts.split_at(first_correlated);
    assert!(correlated.iter().all(|a| a.correlation.is_some()), "correlation alerts come last");
    assert!(correlated.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    let mut sources: Vec<&str> = alerts.iter().map(|a| &*a.provenance.source).collect();
    sources.dedup();
    let distinct: BTreeSet<&str> = sources.iter().copied().collect();
    assert_eq!(sources.len(), distinct.len(), "each input's alerts are contiguous");
    assert!(
        alerts.windows(2).all(|w| w[0].provenance.source != w[1].provenance.source
            || w[0].provenance.location <= w[1].provenance.location)
    );
}

#[test]
fn builtin_rules_over_the_openssh_log() {
    let Some(data) = common::shared_data() else { return };
    let config = HuntConfig {
        inputs: vec![data.join("linux/OpenSSH_2k.log")],
        builtin_rules: true,
        read: ReadOptions { assume_year: Some(2016), ..ReadOptions::default() },
        ..HuntConfig::default()
    };
    let (summary, mut alerts) = run(&config);
    assert_eq!((summary.events, summary.records_skipped), (2000, 0));
    // The brute-force correlations over this log are checked in
    // correlation_rules.rs; here, the single-event rules.
    alerts.retain(|a| a.correlation.is_none());
    // `grep -c 'Accepted password' OpenSSH_2k.log` = 1, and no root login
    // succeeds: the one alert is the password login of fztu.
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.rule.id, "de603be6-554c-4c19-9c57-5cbe5eae655d");
    assert_eq!(alert.rule.level, Level::Low);
    assert_eq!(alert.host.as_deref(), Some("LabSZ"));
    assert_eq!(alert.timestamp.unwrap().to_string(), "2016-12-10T09:32:20Z");
    assert_eq!(alert.provenance.to_string(), format!("{}:{}", data.join("linux/OpenSSH_2k.log").display(), 956));
}

#[test]
fn zipped_windows_json_captures_read_completely() {
    let Some(data) = common::shared_data() else { return };
    let config = HuntConfig { inputs: vec![data.join("windows-json")], builtin_rules: true, ..HuntConfig::default() };
    let (summary, _alerts) = run(&config);
    let members: usize = summary.formats.get("json").copied().unwrap_or_default();
    assert_eq!(members, 5, "one JSON Lines member in each of the five zips");
    assert_eq!(summary.records_skipped, 0);
    // `unzip -p <zip> | wc -l` summed over the five captures.
    assert_eq!(summary.events, expected_windows_json_events(&data.join("windows-json")));
}

fn expected_windows_json_events(dir: &std::path::Path) -> u64 {
    let mut zips: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    zips.retain(|p| p.extension().is_some_and(|e| e == "zip"));
    zips.iter()
        .map(|z| {
            let mut archive = zip::ZipArchive::new(std::fs::File::open(z).unwrap()).unwrap();
            let mut lines = 0u64;
            for i in 0..archive.len() {
                let member = archive.by_index(i).unwrap();
                let reader = std::io::BufReader::new(member);
                lines +=
                    std::io::BufRead::lines(reader).filter(|l| !l.as_ref().unwrap().trim().is_empty()).count() as u64;
            }
            lines
        })
        .sum()
}

#[test]
fn sigmahq_regression_samples_all_pass() {
    let Some(data) = common::shared_data() else { return };
    let report = ferret_app::regression::regression_test(&[data.join("sigma")], &ferret_sigma::Mappings::builtin());
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{} {}: found {}\n{}", r.rule_id, r.rule_title, r.found, r.details.join("\n")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // 136 info.yml files: 135 list an EVTX sample; the Cisco one has its
    // sample (and the rule's regression_tests_path) commented out.
    assert_eq!(report.passed(), 135);
}

/// The literal prefilter only skips work: over every EVTX sample and the
/// whole corpus, scanning with and without it finds the same matches. So
/// does the same corpus compiled with the storable automaton, stored as
/// bytes and loaded back (what the compiled-rule cache does), which also
/// gives back the same diagnostics.
#[test]
fn prefilter_and_rule_cache_change_nothing_but_speed() {
    use ferret_sigma::{RuleSet, Scanner};
    let Some(data) = common::shared_data() else { return };
    let sigma = data.join("sigma");
    let mappings = ferret_sigma::Mappings::builtin();
    let rule_paths = [sigma.join("rules"), sigma.join("rules-emerging-threats"), sigma.join("rules-threat-hunting")];
    let (mut sources, _) = ferret_app::rules::read_rule_paths(&rule_paths);
    sources.splice(0..0, ferret_app::rules::builtin_sources());
    let (storable, stored_diagnostics) =
        RuleSet::compile_storable(&sources, ferret_model::FieldNames::new(), &mappings);
    let bytes: ferret_sigma::StoredFile = std::sync::Arc::new(storable.to_bytes(&stored_diagnostics));
    drop(storable);
    // The loaded set restores its field names into a fresh interner; the
    // set compiled for this run then shares it, and so do the events.
    let names = ferret_model::FieldNames::new();
    let (loaded, loaded_diagnostics) =
        RuleSet::from_bytes(&bytes, 0, names.clone(), || Ok(())).expect("the stored set loads");
    let ferret_app::LoadedRules { set, diagnostics, .. } =
        ferret_app::load_rules(&rule_paths, true, names.clone(), &mappings, None);
    assert_eq!(loaded_diagnostics, diagnostics);
    assert_eq!(loaded.len(), set.len());
    assert_eq!(loaded.prefilter_stats(), set.prefilter_stats());
    let (filtered, needles) = set.prefilter_stats();
    assert!(
        filtered * 10 > set.len() * 8,
        "most rules have literal needles: {filtered} of {}, {needles} needles",
        set.len()
    );
    struct Compare<'a> {
        with: Scanner<'a>,
        without: Scanner<'a>,
        loaded: Scanner<'a>,
        events: u64,
    }
    impl ferret_read::StreamVisitor for Compare<'_> {
        fn stream(
            &mut self,
            _: &std::sync::Arc<str>,
            _: ferret_read::Format,
            events: &mut dyn Iterator<Item = ferret_read::ReadResult>,
        ) {
            let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
            for event in events.flatten() {
                self.events += 1;
                a.clear();
                b.clear();
                c.clear();
                self.with.scan(&event, &mut a);
                self.without.scan(&event, &mut b);
                self.loaded.scan(&event, &mut c);
                assert_eq!(a, b, "{}", event.provenance);
                assert_eq!(a, c, "{} (rule set loaded from bytes)", event.provenance);
            }
        }
        fn unreadable(&mut self, _: ferret_read::ReadError) {}
    }
    let mut without = Scanner::new(&set);
    without.set_prefilter(false);
    let mut compare = Compare { with: Scanner::new(&set), without, loaded: Scanner::new(&loaded), events: 0 };
    let (inputs, _) = ferret_read::expand_inputs(&[data.join("evtx-attack-samples"), data.join("linux")]);
    for input in &inputs {
        ferret_read::read_input(input, &names, &ReadOptions::default(), &mut compare);
    }
    assert_eq!(compare.events, 8255 + 4000);
}

/// Every file of Stratus Red Team's CloudTrail captures is named after the
/// technique it detonated; these SigmaHQ AWS rules must fire on the file
/// of their technique (verified by reading the records).
const CLOUDTRAIL: &[(&str, &str)] = &[
    ("aws.defense-evasion.cloudtrail-delete.json", "AWS CloudTrail Important Change"),
    ("aws.defense-evasion.cloudtrail-stop.json", "AWS CloudTrail Important Change"),
    ("aws.defense-evasion.vpc-remove-flow-logs.json", "AWS VPC Flow Logs Deleted"),
    ("aws.initial-access.console-login-without-mfa.json", "AWS Successful Console Login Without MFA"),
    ("aws.exfiltration.ec2-share-ebs-snapshot.json", "AWS Snapshot Backup Exfiltration"),
    ("aws.exfiltration.ec2-security-group-open-port-22-ingress.json", "Ingress/Egress Security Group Modification"),
    ("aws.persistence.lambda-layer-extension.json", "AWS New Lambda Layer Attached"),
    ("aws.persistence.iam-backdoor-user.json", "AWS IAM Backdoor Users Keys"),
    ("aws.privilege-escalation.iam-update-user-login-profile.json", "AWS User Login Profile Was Modified"),
    ("aws.execution.ssm-send-command.json", "Potential Malicious Usage of CloudTrail System Manager"),
];

fn corpus_hunt(inputs: Vec<PathBuf>, data: &std::path::Path) -> (ferret_app::HuntSummary, Vec<ferret_model::Alert>) {
    let sigma = data.join("sigma");
    run(&HuntConfig {
        inputs,
        rule_paths: vec![sigma.join("rules"), sigma.join("rules-emerging-threats"), sigma.join("rules-threat-hunting")],
        builtin_rules: true,
        ..HuntConfig::default()
    })
}

fn titles_by_file(alerts: &[ferret_model::Alert]) -> BTreeSet<(String, String)> {
    alerts
        .iter()
        .map(|a| (a.provenance.source.rsplit('/').next().unwrap_or_default().to_owned(), a.rule.title.clone()))
        .collect()
}

#[test]
fn sigma_aws_rules_over_cloudtrail() {
    let Some(data) = common::shared_data() else { return };
    let (summary, alerts) = corpus_hunt(vec![data.join("cloudtrail")], &data);
    assert_eq!((summary.events, summary.records_skipped), (310, 0));
    let hits = titles_by_file(&alerts);
    for (file, title) in CLOUDTRAIL {
        assert!(hits.contains(&((*file).to_owned(), (*title).to_owned())), "{title} should fire on {file}");
    }
}

#[test]
fn zeek_and_web_logs_hunt_without_errors() {
    let Some(data) = common::shared_data() else { return };
    let (summary, alerts) = corpus_hunt(vec![data.join("zeek"), data.join("web")], &data);
    // Only the deliberately corrupt gzip loses anything: its last line.
    assert_eq!(summary.records_skipped, 1);
    assert!(summary.events > 2668 + 13456 - 1);
    // dns.log has three answers with the Z bit set (`Z: 1`, verified with
    // `grep -c` on the z column).
    let z = alerts.iter().filter(|a| a.rule.title == "Suspicious DNS Z Flag Bit Set").count();
    assert_eq!(z, 3);
    // The web logs are a web server's, not a proxy's: proxy rules stay off.
    assert!(alerts.iter().all(|a| !a.rule.source.contains("/proxy/")));
}

#[test]
fn windows_json_and_evtx_agree_on_the_same_technique() {
    let Some(data) = common::shared_data() else { return };
    // DCSync: Security 4662 with the replication GUIDs by a user account,
    // in EVTX (EVTX-ATTACK-SAMPLES) and as agent JSON (OTRF).
    let (_, json_alerts) =
        corpus_hunt(vec![data.join("windows-json/covenant_dcsync_dcerpc_drsuapi_DsGetNCChanges.zip")], &data);
    let (_, evtx_alerts) =
        corpus_hunt(vec![data.join("evtx-attack-samples/Credential Access/CA_DCSync_4662.evtx")], &data);
    let dcsync = "17d619c1-e020-4347-957e-1d1207455c93";
    assert!(json_alerts.iter().any(|a| a.rule.id == dcsync));
    assert!(evtx_alerts.iter().any(|a| a.rule.id == dcsync));
}

#[test]
fn linux_process_creation_rules_run_on_auditd_execve_records() {
    let Some(data) = common::shared_data() else { return };
    // The hand-made audit sample: curl run as root (SYSCALL + EXECVE with a
    // hex-encoded argument).
    let sample = common::repo_root().join("crates/read/tests/samples/audit.log");
    let (_, alerts) = run(&HuntConfig {
        inputs: vec![sample],
        rule_paths: vec![data.join("sigma/rules/linux")],
        ..HuntConfig::default()
    });
    let curl =
        alerts.iter().find(|a| a.rule.id == "ea34fb97-e2c4-4afb-810f-785e4459b194").expect("Curl Usage on Linux");
    assert_eq!(curl.provenance.location, ferret_model::Location::Line(2), "the EXECVE record");
    assert!(curl.matched.iter().any(|m| m.field == "Image" && m.value == "/usr/bin/curl"), "{:?}", curl.matched);
}
