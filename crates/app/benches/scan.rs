//! Criterion benchmarks of the matcher alone: events already read into
//! memory, scanned with ferret's built-in rules and (when ../shared/data is
//! there) the whole SigmaHQ corpus. `cargo bench -p ferret-app --bench scan`.
//! The end-to-end suite, with ratios against the parse floor, is
//! `bench/hunt.sh`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ferret_app::load_rules;
use ferret_app::rules::{builtin_sources, read_rule_paths};
use ferret_model::{Event, FieldNames};
use ferret_read::{Format, ReadError, ReadOptions, ReadResult, StreamVisitor, expand_inputs, read_input};
use ferret_sigma::{Mappings, RuleSet, Scanner};

struct Collect(Vec<Event>);

impl StreamVisitor for Collect {
    fn stream(&mut self, _: &Arc<str>, _: Format, events: &mut dyn Iterator<Item = ReadResult>) {
        self.0.extend(events.flatten());
    }
    fn unreadable(&mut self, _: ReadError) {}
}

fn events(paths: &[PathBuf], names: &Arc<FieldNames>) -> Vec<Event> {
    let (inputs, _) = expand_inputs(paths);
    let mut collect = Collect(Vec::new());
    for input in &inputs {
        read_input(input, names, &ReadOptions::default(), &mut collect);
    }
    collect.0
}

fn scan_all(set: &RuleSet, events: &[Event], prefilter: bool) -> usize {
    let mut scanner = Scanner::new(set);
    scanner.set_prefilter(prefilter);
    let mut out = Vec::new();
    let mut matches = 0;
    for event in events {
        out.clear();
        scanner.scan(event, &mut out);
        matches += out.len();
    }
    matches
}

fn load(paths: &[PathBuf], names: &Arc<FieldNames>) -> RuleSet {
    load_rules(paths, true, names.clone(), &Mappings::builtin(), None).set
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = root.join("../shared/data");
    let sigma = data.join("sigma");
    let paths = [sigma.join("rules"), sigma.join("rules-emerging-threats"), sigma.join("rules-threat-hunting")];
    let names = FieldNames::new();
    // The corpus as the compiled-rule cache gives it back (loaded first:
    // it restores its field names into a fresh interner, which the other
    // sets and the events then share).
    let cached = data.is_dir().then(|| {
        let (mut sources, _) = read_rule_paths(&paths);
        sources.splice(0..0, builtin_sources());
        let (set, diagnostics) = RuleSet::compile_storable(&sources, FieldNames::new(), &Mappings::builtin());
        let bytes: ferret_sigma::StoredFile = std::sync::Arc::new(set.to_bytes(&diagnostics));
        RuleSet::from_bytes(&bytes, 0, names.clone(), || Ok(())).expect("the stored corpus loads").0
    });
    let builtin = load(&[], &names);
    let example = events(&[root.join("examples")], &names);
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Elements(example.len() as u64));
    group.bench_function("example incident, built-in rules", |b| b.iter(|| scan_all(&builtin, &example, true)));
    if let Some(cached) = cached {
        let corpus = load(&paths, &names);
        let evtx = events(&[data.join("evtx-attack-samples")], &names);
        group.throughput(Throughput::Elements(evtx.len() as u64));
        group.sample_size(10);
        group.bench_function("evtx-attack-samples, full corpus", |b| b.iter(|| scan_all(&corpus, &evtx, true)));
        group.bench_function("evtx-attack-samples, full corpus, from the rule cache", |b| {
            b.iter(|| scan_all(&cached, &evtx, true))
        });
        group.bench_function("evtx-attack-samples, full corpus, no prefilter", |b| {
            b.iter(|| scan_all(&corpus, &evtx, false))
        });
    } else {
        eprintln!("skipping the corpus benchmarks: ../shared/data not found");
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
