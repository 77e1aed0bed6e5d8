//! A large file is read in segments on several threads (an EVTX file in
//! segments of its chunks, a file of JSON records in byte ranges that
//! start with a record); what the hunt reports must not depend on it.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ferret_app::{HuntConfig, Progress, ReadOptions, hunt};
use ferret_model::VecSink;

/// Writes a large EVTX file into `dir`: every chunk that holds records in
/// ../shared/data's EVTX-ATTACK-SAMPLES (357 chunks, 8,255 records, 23 MB),
/// behind one file header (chunks carry their own strings and templates,
/// so each reads as it did in its file).
fn large_evtx(data: &Path, dir: &Path) -> PathBuf {
    let (inputs, _) = ferret_read::expand_inputs(&[data.join("evtx-attack-samples")]);
    let mut out = Vec::new();
    for input in &inputs {
        let ferret_read::Input::File(path) = input else { continue };
        let bytes = std::fs::read(path).unwrap();
        if !bytes.starts_with(b"ElfFile\0") {
            continue;
        }
        if out.is_empty() {
            out.extend_from_slice(&bytes[..4096]);
        }
        for chunk in bytes[4096..].chunks_exact(65536).filter(|c| c.starts_with(b"ElfChnk\0")) {
            out.extend_from_slice(chunk);
        }
    }
    let path = dir.join("large.evtx");
    std::fs::write(&path, out).unwrap();
    path
}

/// Records `input_done` calls.
#[derive(Default)]
struct Done(Mutex<Vec<(String, u64)>>);

impl Progress for Done {
    fn input_done(&self, name: &str, events: u64) {
        self.0.lock().unwrap().push((name.to_owned(), events));
    }
}

/// Alerts as JSON lines, the summary's counts and the progress reported.
fn hunted(
    inputs: &[PathBuf],
    sigma: &Path,
    read: ReadOptions,
    threads: usize,
) -> (Vec<String>, String, Vec<(String, u64)>) {
    let config = HuntConfig {
        inputs: inputs.to_vec(),
        rule_paths: vec![sigma.join("rules"), sigma.join("rules-emerging-threats"), sigma.join("rules-threat-hunting")],
        builtin_rules: true,
        read,
        ..HuntConfig::default()
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let (mut sink, progress) = (VecSink::default(), Done::default());
    let summary = pool.install(|| hunt(&config, &mut sink, &progress)).unwrap();
    let alerts = sink.0.iter().map(|a| serde_json::to_string(a).unwrap()).collect();
    let counts = format!(
        "files {} streams {} formats {:?} events {} skipped {} unreadable {} alerts {:?} hits {}",
        summary.files,
        summary.streams,
        summary.formats,
        summary.events,
        summary.records_skipped,
        summary.unreadable.len(),
        summary.alerts_by_level,
        summary.correlation.hits
    );
    (alerts, counts, progress.0.into_inner().unwrap())
}

#[test]
fn a_large_evtx_file_hunted_in_segments_gives_what_it_gives_whole() {
    let Some(data) = common::shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let large = large_evtx(&data, dir.path());
    // A small file before and after it: parts of different inputs mix in
    // the threads' queue.
    let before = data.join("evtx-attack-samples/Defense Evasion/DE_1102_security_log_cleared.evtx");
    let after = data.join("linux/OpenSSH_2k.log");
    let inputs = [before, large.clone(), after];
    let sigma = data.join("sigma");
    let chunks = |n| ReadOptions { evtx_segment_chunks: n, ..ReadOptions::default() };
    let (alerts, counts, done) = hunted(&inputs, &sigma, chunks(u64::MAX), 1);
    assert!(alerts.len() > 2000, "{}", alerts.len());
    assert!(counts.starts_with("files 3 streams 3 "), "{counts}");
    // Each input once, in order, with all its events (the large file all
    // of the samples' 8,255 records, the OpenSSH log its 2,000 lines).
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(done.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(), names);
    assert_eq!((done[1].1, done[2].1), (8255, 2000), "{done:?}");
    for (segment_chunks, threads) in [(64, 1), (64, 2), (7, 3), (1, 4)] {
        let (split_alerts, split_counts, split_done) = hunted(&inputs, &sigma, chunks(segment_chunks), threads);
        let case = format!("segments of {segment_chunks} chunks, {threads} threads");
        assert_eq!(split_counts, counts, "{case}");
        assert_eq!(split_done, done, "{case}");
        assert!(split_alerts == alerts, "{case}: the alerts differ");
    }
}

#[test]
fn a_large_file_of_json_records_hunted_in_segments_gives_what_it_gives_whole() {
    let Some(data) = common::shared_data() else { return };
    // The largest of the windows-json sets: 43 MB of Windows events, one
    // JSON object a line.
    let dir = tempfile::tempdir().unwrap();
    let zipped = std::fs::File::open(data.join("windows-json/empire_mimikatz_logonpasswords.zip")).unwrap();
    let mut archive = zip::ZipArchive::new(zipped).unwrap();
    let large = dir.path().join("mimikatz.json");
    std::io::copy(&mut archive.by_index(0).unwrap(), &mut std::fs::File::create(&large).unwrap()).unwrap();
    let before = data.join("evtx-attack-samples/Defense Evasion/DE_1102_security_log_cleared.evtx");
    let after = data.join("linux/OpenSSH_2k.log");
    let inputs = [before, large, after];
    let sigma = data.join("sigma");
    let bytes = |n| ReadOptions { json_segment_bytes: n, ..ReadOptions::default() };
    let (alerts, counts, done) = hunted(&inputs, &sigma, bytes(u64::MAX), 1);
    assert!(alerts.len() > 50, "{}", alerts.len());
    assert!(alerts.iter().any(|a| a.contains("mimikatz.json") && a.contains("\"line\"")), "alerts name their line");
    assert!(counts.starts_with("files 3 streams 3 "), "{counts}");
    for (segment_bytes, threads) in [(32 << 20, 2), (4 << 20, 3), (300 << 10, 4), (300 << 10, 1)] {
        let (split_alerts, split_counts, split_done) = hunted(&inputs, &sigma, bytes(segment_bytes), threads);
        let case = format!("segments of {segment_bytes} bytes, {threads} threads");
        assert_eq!(split_counts, counts, "{case}");
        assert_eq!(split_done, done, "{case}");
        assert!(split_alerts == alerts, "{case}: the alerts differ");
    }
}
