//! The JSON reader and cloud recognition against real CloudTrail records
//! from Stratus Red Team (`../shared/data/cloudtrail`, see its
//! LICENSE-stratus-red-team): 35 files, each a JSON array of records.
//!
//! The expected numbers were computed independently with Python, e.g.
//!
//! ```text
//! python3 -c "import json,glob; print({f: len(json.load(open(f))) for f in sorted(glob.glob('*.json'))})"
//! ```
//!
//! (run in `shared/data/cloudtrail`); the other one-liners are beside each
//! assertion.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferret_model::{Event, FieldNames, Location, SourceKind};
use ferret_read::source::{Input, StreamVisitor, read_input};
use ferret_read::{Format, ReadError, ReadOptions, ReadResult};

/// Records per file: `len(json.load(open(f)))`.
const COUNTS: &[(&str, usize)] = &[
    ("aws.credential-access.ec2-get-password-data.json", 34),
    ("aws.credential-access.ec2-steal-instance-credentials.json", 45),
    ("aws.credential-access.secretsmanager-batch-retrieve-secrets.json", 5),
    ("aws.credential-access.secretsmanager-retrieve-secrets.json", 21),
    ("aws.credential-access.ssm-retrieve-securestring-parameters.json", 10),
    ("aws.defense-evasion.cloudtrail-delete.json", 1),
    ("aws.defense-evasion.cloudtrail-event-selectors.json", 1),
    ("aws.defense-evasion.cloudtrail-stop.json", 1),
    ("aws.defense-evasion.dns-delete-logs.json", 1),
    ("aws.defense-evasion.organizations-leave.json", 3),
    ("aws.defense-evasion.vpc-remove-flow-logs.json", 1),
    ("aws.discovery.ec2-download-user-data.json", 19),
    ("aws.execution.ec2-launch-unusual-instances.json", 3),
    ("aws.execution.ec2-user-data.json", 35),
    ("aws.execution.ssm-send-command.json", 56),
    ("aws.execution.ssm-start-session.json", 29),
    ("aws.exfiltration.ec2-security-group-open-port-22-ingress.json", 1),
    ("aws.exfiltration.ec2-share-ami.json", 1),
    ("aws.exfiltration.ec2-share-ebs-snapshot.json", 1),
    ("aws.exfiltration.rds-share-snapshot.json", 1),
    ("aws.impact.bedrock-invoke-model.json", 15),
    ("aws.initial-access.console-login-without-mfa.json", 1),
    ("aws.lateral-movement.ec2-instance-connect.json", 3),
    ("aws.lateral-movement.ec2-serial-console-send-ssh-public-key.json", 4),
    ("aws.persistence.iam-backdoor-role.json", 1),
    ("aws.persistence.iam-backdoor-user.json", 1),
    ("aws.persistence.iam-create-admin-user.json", 3),
    ("aws.persistence.iam-create-backdoor-role.json", 2),
    ("aws.persistence.iam-create-user-login-profile.json", 3),
    ("aws.persistence.lambda-backdoor-function.json", 1),
    ("aws.persistence.lambda-layer-extension.json", 1),
    ("aws.persistence.lambda-overwrite-code.json", 1),
    ("aws.persistence.rolesanywhere-create-trust-anchor.json", 2),
    ("aws.persistence.sts-federation-token.json", 2),
    ("aws.privilege-escalation.iam-update-user-login-profile.json", 1),
];

#[derive(Default)]
struct Collect {
    formats: Vec<Format>,
    events: Vec<Event>,
    errors: Vec<String>,
}

impl StreamVisitor for Collect {
    fn stream(&mut self, _: &Arc<str>, format: Format, events: &mut dyn Iterator<Item = ReadResult>) {
        self.formats.push(format);
        for result in events {
            match result {
                Ok(event) => self.events.push(event),
                Err(error) => self.errors.push(error.to_string()),
            }
        }
    }

    fn unreadable(&mut self, error: ReadError) {
        self.errors.push(error.to_string());
    }
}

fn read(path: &Path, names: &Arc<FieldNames>) -> Collect {
    let mut collect = Collect::default();
    read_input(&Input::File(path.to_owned()), names, &ReadOptions::default(), &mut collect);
    collect
}

fn get(names: &FieldNames, event: &Event, field: &str) -> Option<String> {
    event.get(names, field).map(ToString::to_string)
}

/// Every `*.json` file of the directory, sorted (the licence file is not
/// a log).
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list the shared CloudTrail directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_cloudtrail_record_reads_as_a_cloudtrail_event() {
    let Some(dir) = common::shared_data("cloudtrail") else {
        return;
    };
    let names = FieldNames::new();
    let files = json_files(&dir);
    assert_eq!(files.len(), COUNTS.len(), "the data set has {} JSON files", files.len());
    let mut per_file = BTreeMap::new();
    let mut all = Vec::new();
    for file in &files {
        let got = read(file, &names);
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(got.errors, Vec::<String>::new(), "{name}");
        assert_eq!(got.formats, [Format::Json], "{name}");
        per_file.insert(name, got.events.len());
        all.extend(got.events);
    }
    let expected: BTreeMap<String, usize> = COUNTS.iter().map(|(f, n)| ((*f).to_owned(), *n)).collect();
    assert_eq!(per_file, expected);
    assert_eq!(all.len(), 310);
    for event in &all {
        assert_eq!(event.kind, SourceKind::Cloud, "{}", event.provenance);
        assert_eq!(get(&names, event, "cloud.provider").as_deref(), Some("aws"), "{}", event.provenance);
        assert_eq!(get(&names, event, "cloud.service").as_deref(), Some("cloudtrail"), "{}", event.provenance);
        // The time is the record's eventTime (all 310 are `...Z`, 20 chars).
        let time = get(&names, event, "eventTime").unwrap();
        assert_eq!(event.timestamp.map(|t| t.to_string()), Some(time), "{}", event.provenance);
    }
    // sorted(r['eventTime'] for ...)[0], [-1]
    let min = all.iter().filter_map(|e| e.timestamp).min().unwrap();
    let max = all.iter().filter_map(|e| e.timestamp).max().unwrap();
    assert_eq!((min.to_string(), max.to_string()), ("2024-07-30T21:31:10Z".into(), "2024-11-30T08:43:18Z".into()));
    // Counter(r['eventName']): DescribeInstanceInformation 112, GetPasswordData 30.
    let count =
        |field: &str, value: &str| all.iter().filter(|e| get(&names, e, field).as_deref() == Some(value)).count();
    assert_eq!(count("eventName", "DescribeInstanceInformation"), 112);
    assert_eq!(count("eventName", "GetPasswordData"), 30);
    // Counter(r.get('errorCode')): Client.UnauthorizedOperation 46, AccessDenied 5.
    assert_eq!(count("errorCode", "Client.UnauthorizedOperation"), 46);
    assert_eq!(count("errorCode", "AccessDenied"), 5);
    // Counter(r['userIdentity']['type']): IAMUser 241, AssumedRole 68, FederatedUser 1.
    assert_eq!(count("userIdentity.type", "IAMUser"), 241);
    assert_eq!(count("userIdentity.type", "AssumedRole"), 68);
    assert_eq!(count("userIdentity.type", "FederatedUser"), 1);
    // sum(r.get('readOnly') is True): 261, read back as JSON booleans.
    assert_eq!(count("readOnly", "true"), 261);
}

#[test]
fn first_records_and_their_lines() {
    let Some(dir) = common::shared_data("cloudtrail") else {
        return;
    };
    let names = FieldNames::new();
    let first = |file: &str| {
        let got = read(&dir.join(file), &names);
        assert!(got.errors.is_empty(), "{:?}", got.errors);
        got.events
    };
    let events = first("aws.defense-evasion.cloudtrail-delete.json");
    assert_eq!(get(&names, &events[0], "eventName").as_deref(), Some("DeleteTrail"));
    assert_eq!(get(&names, &events[0], "eventSource").as_deref(), Some("cloudtrail.amazonaws.com"));
    assert_eq!(get(&names, &events[0], "userIdentity.userName").as_deref(), Some("christophe"));
    assert_eq!(events[0].timestamp.unwrap().to_string(), "2024-07-31T12:46:41Z");
    assert_eq!(events[0].provenance.location, Location::Line(2));

    let events = first("aws.initial-access.console-login-without-mfa.json");
    assert_eq!(get(&names, &events[0], "eventName").as_deref(), Some("ConsoleLogin"));
    assert_eq!(get(&names, &events[0], "additionalEventData.MFAUsed").as_deref(), Some("No"));
    assert_eq!(get(&names, &events[0], "responseElements.ConsoleLogin").as_deref(), Some("Success"));
    assert_eq!(events[0].timestamp.unwrap().to_string(), "2024-08-02T08:53:24Z");

    // Elements start at lines 2, 44, 86 ... 2326 (lines that are exactly
    // three spaces and `{`).
    let events = first("aws.execution.ssm-send-command.json");
    assert_eq!(events.len(), 56);
    assert_eq!(get(&names, &events[0], "eventName").as_deref(), Some("DescribeInstanceInformation"));
    let lines: Vec<Location> = events.iter().map(|e| e.provenance.location).collect();
    assert_eq!(lines[..3], [Location::Line(2), Location::Line(44), Location::Line(86)]);
    assert_eq!(lines[55], Location::Line(2326));
    assert_eq!(events[55].timestamp.unwrap().to_string(), "2024-08-02T09:08:20Z");
}

/// All 310 records in one gzipped `{"Records": [...]}` file, the shape
/// CloudTrail delivers to S3: the same events, in the same order.
#[test]
fn the_same_records_in_a_gzipped_records_file() {
    let Some(dir) = common::shared_data("cloudtrail") else {
        return;
    };
    let mut records = Vec::new();
    for file in json_files(&dir) {
        let text = std::fs::read_to_string(&file).unwrap();
        let serde_json::Value::Array(items) = serde_json::from_str(&text).unwrap() else {
            panic!("{} is not an array", file.display())
        };
        records.extend(items);
    }
    let wrapped = serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("111122223333_CloudTrail_us-east-1_20240731T1250Z_x.json.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&wrapped).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();

    let names = FieldNames::new();
    let got = read(&path, &names);
    assert_eq!(got.errors, Vec::<String>::new());
    assert_eq!(got.formats, [Format::Json]);
    assert_eq!(got.events.len(), 310);
    assert!(got.events.iter().all(|e| e.kind == SourceKind::Cloud));
    // One line: every element is on line 1.
    assert!(got.events.iter().all(|e| e.provenance.location == Location::Line(1)));
    let event_names: Vec<String> = got.events.iter().map(|e| get(&names, e, "eventName").unwrap()).collect();
    let expected: Vec<String> = records.iter().map(|r| r["eventName"].as_str().unwrap().to_owned()).collect();
    assert_eq!(event_names, expected);
}
