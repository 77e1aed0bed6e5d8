//! Which inputs are cut into segments: EVTX files of more chunks than the
//! segment size, files of JSON records longer than theirs, and nothing else
//! (a large text file, a small EVTX file, a JSON array, a file that is
//! gone).

mod common;

use ferret_read::{Input, ReadOptions, Segment, split_inputs};

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
        parts.iter().map(|p| (p.input, p.segment.as_ref().map(evtx_positions))).collect();
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

fn evtx_positions(segment: &Segment) -> std::ops::Range<u64> {
    match segment {
        Segment::Evtx(segment) => segment.positions.clone(),
        Segment::Json(_) => panic!("an EVTX file cut as JSON"),
    }
}

#[test]
fn files_of_json_records_are_cut_where_a_record_starts_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        Input::File(path)
    };
    // 100 records of 40 bytes, one a line; the third pretty-printed (its
    // inner lines end in `}` too, but the next line does not start with a
    // record), the fifth ending in CRLF.
    let mut lines = String::new();
    for i in 0..100 {
        match i {
            2 => lines.push_str("{\"n\": 2,\n \"inner\": {\"a\": 1}\n}\n"),
            4 => lines.push_str("{\"n\": 4, \"pad\": \"xxxxxxxxxxxxxxxxxx\"}\r\n"),
            _ => lines.push_str(&format!("{{\"n\": {i:>3}, \"pad\": \"xxxxxxxxxxxxxxxxx\"}}\n")),
        }
    }
    let array = format!("[{}]", "{\"n\": 1},\n".repeat(200) + "{\"n\": 1}");
    let inputs = [file("records.json", &lines), file("array.json", &array), file("small.json", "{\"n\": 1}\n")];
    let options = ReadOptions { json_segment_bytes: 1000, ..ReadOptions::default() };
    let parts = split_inputs(&inputs, &options);
    let ranges: Vec<(usize, std::ops::Range<u64>)> = parts
        .iter()
        .map(|p| match &p.segment {
            Some(Segment::Json(segment)) => (p.input, segment.range()),
            Some(Segment::Evtx(_)) => panic!("JSON cut as EVTX"),
            None => (p.input, 0..0),
        })
        .collect();
    let len = lines.len() as u64;
    assert_eq!(ranges.len(), 6, "{ranges:?}");
    assert_eq!(ranges[0].1.start, 0);
    assert_eq!(ranges[3].1.end, len);
    for pair in ranges[..4].windows(2) {
        assert_eq!(pair[0].1.end, pair[1].1.start);
        // Each cut is where a record starts a line, after about 1,000 bytes.
        let at = pair[1].1.start as usize;
        assert!(lines[..at].ends_with("}\n") && lines[at..].starts_with("{\"n\""), "cut at {at}");
        assert!((1000..1100).contains(&(pair[1].1.start - pair[0].1.start)), "{ranges:?}");
    }
    assert_eq!(ranges[4..], [(1, 0..0), (2, 0..0)]);
    let firsts: Vec<bool> = parts.iter().map(|p| p.starts_input()).collect();
    let lasts: Vec<bool> = parts.iter().map(|p| p.ends_input()).collect();
    assert_eq!(firsts, [true, false, false, false, true, true]);
    assert_eq!(lasts, [false, false, false, true, true, true]);
    // Not cut by default (32 MiB segments).
    assert_eq!(split_inputs(&inputs, &ReadOptions::default()).len(), 3);

    // A record longer than the bytes searched for a start (64 KiB) does
    // not stop the cutting: the records after it are cut too.
    let long = format!("{{\"n\": 0}}\n{{\"long\": \"{}\"}}\n{}", "x".repeat(200_000), "{\"n\": 1}\n".repeat(30_000));
    let parts = split_inputs(&[file("long.json", &long)], &ReadOptions { json_segment_bytes: 50_000, ..options });
    let starts: Vec<u64> = parts
        .iter()
        .map(|p| match &p.segment {
            Some(Segment::Json(segment)) => segment.range().start,
            _ => panic!("not cut as JSON"),
        })
        .collect();
    // The first range holds the long record, the next starts right after it,
    // and the 270 KB of short records after that make about five more.
    assert_eq!(starts[0], 0);
    assert_eq!(starts[1], 9 + 200_013, "{starts:?}");
    assert!(starts.len() >= 6, "{starts:?}");
}
