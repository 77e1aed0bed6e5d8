//! Golden files for the readers.
//!
//! Every file in `tests/samples/` is read through the public API
//! ([`read_input`] with a [`StreamVisitor`]) exactly as `ferret hunt` reads
//! it (sniffing, decompression, archives), and rendered as JSON Lines:
//!
//! * `{"stream": NAME, "format": FORMAT}` when a readable stream starts (a
//!   file, or an archive member), so the sniffed format is pinned too;
//! * one line per event: `{"kind", "timestamp" (UTC or null), "provenance"
//!   ("<file name>:<line>" or "<file name>:record N"), "raw" (line formats
//!   only), "fields"}`;
//! * `{"error": "<location>: <message>"}` for each record that was skipped;
//! * `{"unreadable": "..."}` for a file or member that could not be read.
//!
//! Paths are cut to the file name, so the output is the same on every
//! machine. The result must equal `tests/golden/<sample file name>.jsonl`.
//! After a deliberate change of reader output, regenerate every golden file
//! with
//!
//! ```text
//! FERRET_UPDATE_GOLDEN=1 cargo test -p ferret-read --test golden
//! ```
//!
//! and review the diff line by line before committing it.
//!
//! The binary samples were made once with Python's `gzip` (mtime 0) and
//! `zipfile` (fixed dates): `events.jsonl.gz` is `events.jsonl` compressed;
//! `bundle.zip` holds `syslog.1`, `syslog.2.gz` (a gzip inside the zip) and
//! `export/alerts.json` (a JSON file in a subfolder).
//!
//! EVTX samples are read in place from `../shared/data/evtx-attack-samples`
//! (not copied into the repository); damaged EVTX files are made from them in
//! a temporary directory at test time.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferret_model::{FieldNames, Location};
use ferret_read::source::{Input, StreamVisitor, read_input};
use ferret_read::{Format, ReadError, ReadOptions, ReadResult};
use serde_json::{Map, Value as Json, json};

const UPDATE_VAR: &str = "FERRET_UPDATE_GOLDEN";

/// The EVTX files with golden output, relative to `shared/data/evtx-attack-samples`.
const SHARED_EVTX: &[&str] = &[
    // Security 1102: the event's fields are under UserData/LogFileCleared.
    "Defense Evasion/DE_1102_security_log_cleared.evtx",
    // System 7045: EventID carries Qualifiers="16384".
    "Lateral Movement/LM_Remote_Service02_7045.evtx",
    // Sysmon 1 and 3: named EventData.
    "Execution/exec_sysmon_lobin_regsvr32_sct.evtx",
];

/// A Sysmon log whose first three chunks hold 39, 42 and 6 records (the
/// rest of its 17 chunks are empty), for the damage tests.
const MULTI_CHUNK_EVTX: &str = "Privilege Escalation/privesc_unquoted_svc_sysmon_1_11.evtx";

const EVTX_HEADER: usize = 4096;
const EVTX_CHUNK: usize = 65536;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn samples_dir() -> PathBuf {
    manifest_dir().join("tests/samples")
}

fn golden_dir() -> PathBuf {
    manifest_dir().join("tests/golden")
}

/// What [`read_input`] produced for one file.
struct Capture {
    names: Arc<FieldNames>,
    /// Cut from every name and message: the file's directory.
    prefix: String,
    /// The golden rendering, one JSON object per line.
    lines: Vec<String>,
    /// The event lines alone.
    events: Vec<String>,
    errors: Vec<ReadError>,
    unreadable: Vec<ReadError>,
}

impl Capture {
    fn strip(&self, text: &str) -> String {
        text.replace(&self.prefix, "")
    }

    fn event_line(&self, event: &ferret_model::Event) -> String {
        let source = self.strip(&event.provenance.source);
        let provenance = match event.provenance.location {
            Location::Line(line) => format!("{source}:{line}"),
            other => format!("{source}:{other}"),
        };
        let mut obj = Map::new();
        obj.insert("kind".into(), json!(event.kind.as_str()));
        obj.insert("timestamp".into(), json!(event.timestamp.map(|t| t.to_string())));
        obj.insert("provenance".into(), json!(provenance));
        if let Some(raw) = &event.raw {
            obj.insert("raw".into(), json!(raw));
        }
        obj.insert("fields".into(), Json::Object(event.fields_json(&self.names)));
        Json::Object(obj).to_string()
    }
}

impl StreamVisitor for Capture {
    fn stream(&mut self, name: &Arc<str>, format: Format, events: &mut dyn Iterator<Item = ReadResult>) {
        self.lines.push(json!({"stream": self.strip(name), "format": format.to_string()}).to_string());
        for result in events {
            match result {
                Ok(event) => {
                    assert_eq!(event.provenance.source, *name, "an event names another source");
                    let line = self.event_line(&event);
                    self.events.push(line.clone());
                    self.lines.push(line);
                }
                Err(error) => {
                    assert_eq!(error.source, *name, "an error names another source: {error}");
                    let text = match error.location {
                        Some(location) => format!("{location}: {}", error.message),
                        None => error.message.clone(),
                    };
                    self.lines.push(json!({"error": self.strip(&text)}).to_string());
                    self.errors.push(error);
                }
            }
        }
    }

    fn unreadable(&mut self, error: ReadError) {
        self.lines.push(json!({"unreadable": self.strip(&error.to_string())}).to_string());
        self.unreadable.push(error);
    }
}

/// Reads `path` through the public API.
fn capture(path: &Path) -> Capture {
    let names = FieldNames::new();
    let dir = path.parent().expect("a file in a directory");
    let mut capture = Capture {
        names: names.clone(),
        prefix: format!("{}/", dir.display()),
        lines: Vec::new(),
        events: Vec::new(),
        errors: Vec::new(),
        unreadable: Vec::new(),
    };
    let options = ReadOptions { assume_year: Some(2026), ..ReadOptions::default() };
    read_input(&Input::File(path.to_owned()), &names, &options, &mut capture);
    for line in &capture.lines {
        assert!(!line.contains(&capture.prefix), "a machine-specific path leaked into {line}");
    }
    capture
}

fn render(path: &Path) -> String {
    capture(path).lines.iter().map(|line| format!("{line}\n")).collect()
}

fn updating() -> bool {
    std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1")
}

/// Compares `actual` with `tests/golden/<name>.jsonl`, or writes it there
/// when updating. The error is a readable diff of the first difference.
fn check_golden(name: &str, actual: &str) -> Result<(), String> {
    let path = golden_dir().join(format!("{name}.jsonl"));
    if updating() {
        std::fs::create_dir_all(golden_dir()).map_err(|e| e.to_string())?;
        std::fs::write(&path, actual).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("updated {}", path.display());
        return Ok(());
    }
    let expected = std::fs::read_to_string(&path)
        .map_err(|e| format!("{name}: cannot read tests/golden/{name}.jsonl ({e}); create it with {UPDATE_VAR}=1"))?;
    if expected == actual {
        return Ok(());
    }
    Err(diff(name, &expected, actual))
}

/// The first differing line, expected against actual, with the column where
/// they part.
fn diff(name: &str, expected: &str, actual: &str) -> String {
    let (want, got): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = format!(
        "{name}: output differs from tests/golden/{name}.jsonl ({} expected lines, {} actual)\n",
        want.len(),
        got.len()
    );
    let first = (0..want.len().max(got.len())).find(|&i| want.get(i) != got.get(i));
    match first {
        Some(i) => {
            let (w, g) = (want.get(i).copied(), got.get(i).copied());
            let _ = writeln!(out, "first difference at line {}:", i + 1);
            let _ = writeln!(out, "  expected: {}", w.unwrap_or("<end of file>"));
            let _ = writeln!(out, "  actual:   {}", g.unwrap_or("<end of file>"));
            if let (Some(w), Some(g)) = (w, g) {
                let column = w.chars().zip(g.chars()).take_while(|(a, b)| a == b).count();
                let around = |s: &str| s.chars().skip(column.saturating_sub(20)).take(60).collect::<String>();
                let _ = writeln!(out, "  from column {}: expected …{}…", column + 1, around(w));
                let _ =
                    writeln!(out, "  {:>width$}actual   …{}…", "", around(g), width = 14 + column.to_string().len());
            }
        }
        // Same lines, different line endings or a missing final newline.
        None => out.push_str("the lines are equal; the files differ in line endings or the final newline\n"),
    }
    let _ = write!(out, "if the change is intended, run {UPDATE_VAR}=1 cargo test -p ferret-read --test golden");
    out
}

fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name().expect("a file name").to_string_lossy().into_owned()
}

fn fail_on(failures: Vec<String>) {
    assert!(failures.is_empty(), "{} golden file(s) differ:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn every_sample_matches_its_golden_file() {
    let samples = sorted_files(&samples_dir());
    assert!(samples.len() >= 16, "samples are missing from {}", samples_dir().display());
    let mut failures = Vec::new();
    for sample in &samples {
        if let Err(failure) = check_golden(&file_name(sample), &render(sample)) {
            failures.push(failure);
        }
    }
    // A golden file whose sample is gone would silently stop being checked.
    let known: Vec<String> = samples
        .iter()
        .map(|s| file_name(s))
        .chain(SHARED_EVTX.iter().map(|p| file_name(Path::new(p))))
        .map(|name| format!("{name}.jsonl"))
        .collect();
    for golden in sorted_files(&golden_dir()) {
        let name = file_name(&golden);
        if !known.contains(&name) {
            failures.push(format!("tests/golden/{name} has no sample; delete it"));
        }
    }
    fail_on(failures);
}

#[test]
fn shared_evtx_files_match_their_golden_files() {
    let Some(dir) = common::shared_data("evtx-attack-samples") else {
        return;
    };
    let mut failures = Vec::new();
    for relative in SHARED_EVTX {
        let path = dir.join(relative);
        let output = capture(&path);
        assert!(output.errors.is_empty() && output.unreadable.is_empty(), "{relative}: {:?}", output.errors);
        assert!(!output.events.is_empty(), "{relative}: no events");
        let text: String = output.lines.iter().map(|line| format!("{line}\n")).collect();
        if let Err(failure) = check_golden(&file_name(&path), &text) {
            failures.push(failure);
        }
    }
    fail_on(failures);
}

/// A damaged copy of a shared EVTX file, under its own name in a temporary
/// directory so that its events render exactly like the original's.
struct Damaged {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn damaged_copy(original: &Path, damage: impl FnOnce(&mut Vec<u8>)) -> Damaged {
    let mut bytes = std::fs::read(original).expect("shared EVTX sample");
    damage(&mut bytes);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(original.file_name().expect("a file name"));
    std::fs::write(&path, bytes).expect("write the damaged copy");
    Damaged { _dir: dir, path }
}

/// The intact file, and the file cut after its first chunk (which must read
/// cleanly: a file that ends on a chunk boundary is complete).
fn intact_and_first_chunk(original: &Path) -> (Capture, Vec<String>) {
    let intact = capture(original);
    assert!(intact.errors.is_empty(), "{:?}", intact.errors);
    assert!(std::fs::metadata(original).unwrap().len() >= (EVTX_HEADER + 3 * EVTX_CHUNK) as u64);
    let first = damaged_copy(original, |b| b.truncate(EVTX_HEADER + EVTX_CHUNK));
    let first = capture(&first.path);
    assert!(first.errors.is_empty() && first.unreadable.is_empty(), "{:?}", first.errors);
    assert!(!first.events.is_empty() && first.events.len() < intact.events.len());
    assert_eq!(first.events[..], intact.events[..first.events.len()]);
    (intact, first.events)
}

fn assert_names_file_and_place(errors: &[ReadError], file: &str, place: &str) {
    assert!(
        errors.iter().any(|e| {
            let text = e.to_string();
            text.contains(file) && text.contains(place)
        }),
        "no error names {file} and {place}: {:?}",
        errors.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
}

#[test]
fn truncated_evtx_reports_where_it_ends_and_keeps_the_chunks_before() {
    let Some(dir) = common::shared_data("evtx-attack-samples") else {
        return;
    };
    let original = dir.join(MULTI_CHUNK_EVTX);
    let name = file_name(&original);
    let (intact, first_chunk) = intact_and_first_chunk(&original);

    // Cut 20000 bytes into the second chunk: the first chunk's records are
    // all there, the second chunk is reported, nothing panics.
    let cut = damaged_copy(&original, |b| b.truncate(EVTX_HEADER + EVTX_CHUNK + 20000));
    let got = capture(&cut.path);
    assert!(got.unreadable.is_empty(), "{:?}", got.unreadable);
    assert_eq!(got.events, first_chunk, "the records before the cut must all be read");
    assert!(got.events.len() < intact.events.len());
    assert_names_file_and_place(&got.errors, &name, "chunk 1");
    assert_names_file_and_place(&got.errors, &name, &format!("offset {}", EVTX_HEADER + EVTX_CHUNK));

    // Cut inside the first chunk: no events, but an error, not silence.
    let cut = damaged_copy(&original, |b| b.truncate(EVTX_HEADER + 30000));
    let got = capture(&cut.path);
    assert!(got.events.is_empty());
    assert_names_file_and_place(&got.errors, &name, "chunk 0");

    // Cut inside the file header: the file is unreadable, with a reason.
    let cut = damaged_copy(&original, |b| b.truncate(100));
    let got = capture(&cut.path);
    assert!(got.events.is_empty() && got.errors.is_empty());
    assert_names_file_and_place(&got.unreadable, &name, "offset 0");
}

#[test]
fn garbled_evtx_chunk_is_reported_and_the_other_chunks_are_read() {
    let Some(dir) = common::shared_data("evtx-attack-samples") else {
        return;
    };
    let original = dir.join(MULTI_CHUNK_EVTX);
    let name = file_name(&original);
    let (intact, first_chunk) = intact_and_first_chunk(&original);

    // The file header stays valid; the whole second chunk becomes 0xAA.
    let second = EVTX_HEADER + EVTX_CHUNK;
    let garbled = damaged_copy(&original, |b| b[second..second + EVTX_CHUNK].fill(0xAA));
    let got = capture(&garbled.path);
    assert!(got.unreadable.is_empty(), "{:?}", got.unreadable);
    assert_names_file_and_place(&got.errors, &name, "chunk 1");
    assert_names_file_and_place(&got.errors, &name, &format!("offset {second}"));
    // Before the damage: every record of the first chunk. After it: the
    // third chunk's records, exactly as in the intact file.
    assert_eq!(got.events[..first_chunk.len()], first_chunk[..]);
    let after = &got.events[first_chunk.len()..];
    assert!(!after.is_empty(), "the chunk after the damage was not read");
    assert_eq!(after, &intact.events[intact.events.len() - after.len()..]);
    assert!(got.events.len() < intact.events.len());

    // Records garbled inside a chunk whose header is intact: what comes
    // before the damage in that chunk is still read.
    let start = second + 512 + 16 * 1024;
    let garbled = damaged_copy(&original, |b| b[start..start + 4096].fill(0xAA));
    let got = capture(&garbled.path);
    assert!(got.unreadable.is_empty(), "{:?}", got.unreadable);
    assert!(!got.errors.is_empty(), "garbled records were not reported");
    assert_names_file_and_place(&got.errors, &name, "chunk 1");
    assert!(got.events.len() > first_chunk.len(), "records before the damage in chunk 1 were lost");
    assert_eq!(got.events[..first_chunk.len() + 1], intact.events[..first_chunk.len() + 1]);
}
