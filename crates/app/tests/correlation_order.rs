//! Property: correlation alerts do not depend on how the evidence is laid
//! out. The same login events, shuffled and split across several files,
//! give the same correlation alerts as one file in time order (hits are
//! sorted by event time across inputs before correlation), whatever the
//! thread count and however small the in-memory sort budget (spilled runs).

use ferret_app::{HuntConfig, NoProgress, hunt};
use ferret_model::VecSink;
use proptest::prelude::*;
use tempfile::TempDir;

/// One auth.log line per event: (second of the day, failed?, user, source).
fn line((second, failed, user, source): &(u32, bool, u8, u8)) -> String {
    let (h, m, s) = (second / 3600, second / 60 % 60, second % 60);
    let what = if *failed { "Failed" } else { "Accepted" };
    format!(
        "2026-11-28T{h:02}:{m:02}:{s:02}+00:00 web-01 sshd[7]: {what} password for user{user} from 198.51.100.{source} port 4000 ssh2"
    )
}

/// The correlation alerts of a hunt over `files`, reduced to what must not
/// depend on the layout (not the record they point at).
fn correlated(files: &[Vec<String>], threads: usize, budget: usize) -> Vec<String> {
    let dir = TempDir::new().unwrap();
    let inputs = files
        .iter()
        .enumerate()
        .map(|(i, lines)| {
            let path = dir.path().join(format!("auth{i}.log"));
            std::fs::write(&path, lines.join("\n") + "\n").unwrap();
            path
        })
        .collect();
    let config = HuntConfig { inputs, builtin_rules: true, correlation_budget: budget, ..HuntConfig::default() };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut sink = VecSink::default();
    pool.install(|| hunt(&config, &mut sink, &NoProgress)).unwrap();
    sink.0
        .iter()
        .filter_map(|a| {
            let c = a.correlation.as_ref()?;
            let fields: Vec<String> = c.fields.iter().map(|f| format!("{}={}", f.field, f.distinct)).collect();
            Some(format!(
                "{} {:?} {:?} {} {} {} {} {fields:?}",
                a.rule.id, a.timestamp, c.group, c.first_seen, c.last_seen, c.events, c.peak
            ))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn alerts_do_not_depend_on_file_order_splits_or_threads(
        // Distinct seconds (ties would be ordered by input, by design).
        seconds in proptest::collection::btree_set(0u32..3600, 20..120),
        traits in proptest::collection::vec((proptest::bool::weighted(0.85), 0u8..14, 0u8..3), 120),
        layout in proptest::collection::vec((0usize..3, any::<u32>()), 120),
        threads in 1usize..3,
        budget in 1usize..64,
    ) {
        let events: Vec<(u32, bool, u8, u8)> =
            seconds.iter().zip(&traits).map(|(s, (f, u, ip))| (*s, *f, *u, *ip)).collect();
        let ordered = correlated(&[events.iter().map(line).collect()], 1, 0);
        // Split into three files and shuffle each (by a random key).
        let mut files: Vec<Vec<(u32, String)>> = vec![Vec::new(); 3];
        for (event, (file, key)) in events.iter().zip(&layout) {
            files[*file].push((*key, line(event)));
        }
        let files: Vec<Vec<String>> = files
            .into_iter()
            .map(|mut f| {
                f.sort();
                f.into_iter().map(|(_, l)| l).collect()
            })
            .filter(|f: &Vec<String>| !f.is_empty())
            .collect();
        prop_assert_eq!(correlated(&files, threads, budget), ordered);
    }
}
