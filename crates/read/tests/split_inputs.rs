//! Which inputs are cut into segments: EVTX files of more chunks than the
//! segment size, and nothing else (a large text file, a small EVTX file, a
//! file that is gone).

mod common;

use ferret_read::{Input, ReadOptions, split_inputs};

#[test]
fn only_evtx_files_larger_than_a_segment_are_split() {
    let Some(samples) = common::shared_data("evtx-attack-samples") else { return };
    // 17 chunks (3 with records): 4096 + 17 * 65536 bytes.
    let large = samples.join("Privilege Escalation/privesc_unquoted_svc_sysmon_1_11.evtx");
    // One chunk: 4096 + 65536 bytes.
    let small = samples.join("AutomatedTestingTools/Malware/rundll32_cmd_schtask.evtx");
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("big.log");
    std::fs::write(&text, "Nov 28 02:31:37 web-01 sshd[7]: x\n".repeat(40_000)).unwrap();
    let inputs: Vec<Input> =
        [&small, &large, &text, &dir.path().join("gone.evtx")].iter().map(|p| Input::File(p.to_path_buf())).collect();
    let options = |chunks| ReadOptions { evtx_segment_chunks: chunks, ..ReadOptions::default() };

    let parts = split_inputs(&inputs, &options(5));
    let shape: Vec<(usize, Option<std::ops::Range<u64>>)> =
        parts.iter().map(|p| (p.input, p.segment.as_ref().map(|s| s.positions.clone()))).collect();
    assert_eq!(
        shape,
        [(0, None), (1, Some(0..5)), (1, Some(5..10)), (1, Some(10..15)), (1, Some(15..17)), (2, None), (3, None)]
    );
    let firsts: Vec<bool> = parts.iter().map(|p| p.starts_input()).collect();
    let lasts: Vec<bool> = parts.iter().map(|p| p.ends_input()).collect();
    assert_eq!(firsts, [true, true, false, false, false, true, true]);
    assert_eq!(lasts, [true, false, false, false, true, true, true]);

    // A file of exactly the segment size, or smaller, stays whole; one
    // chunk more than a segment makes two.
    assert_eq!(split_inputs(&inputs, &options(17)).len(), 4);
    assert_eq!(split_inputs(&inputs, &options(16)).len(), 5);
    assert_eq!(split_inputs(&inputs, &ReadOptions::default()).len(), 4);
}
