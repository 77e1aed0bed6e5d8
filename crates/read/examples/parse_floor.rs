//! The parse floor of a hunt: read inputs and do nothing else.
//!
//! `parse_floor evtx-crate PATH...` renders every EVTX record to JSON with
//! the evtx crate alone (what any EVTX tool pays); `parse_floor ferret
//! PATH...` reads the inputs through ferret's readers into the flat field
//! view that rules match on, without any rule. Prints records and seconds.

use std::path::PathBuf;
use std::time::Instant;

use ferret_model::FieldNames;
use ferret_read::{Format, ReadError, ReadOptions, ReadResult, StreamVisitor, expand_inputs, read_input};

/// The allocator `ferret` uses, so the floor and the hunt compare like
/// with like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Count(u64, u64);

impl StreamVisitor for Count {
    fn stream(&mut self, _: &std::sync::Arc<str>, _: Format, events: &mut dyn Iterator<Item = ReadResult>) {
        for event in events {
            match event {
                Ok(_) => self.0 += 1,
                Err(_) => self.1 += 1,
            }
        }
    }
    fn unreadable(&mut self, _: ReadError) {}
}

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let (inputs, _) = expand_inputs(&paths);
    let started = Instant::now();
    let (records, errors) = match mode.as_str() {
        "evtx-crate" => {
            let mut records = 0u64;
            let mut errors = 0u64;
            for input in &inputs {
                let ferret_read::Input::File(path) = input else { continue };
                let settings = evtx::ParserSettings::new().num_threads(1);
                let Ok(parser) = evtx::EvtxParser::from_path(path) else { continue };
                let mut parser = parser.with_configuration(settings);
                for record in parser.records_json_value() {
                    match record {
                        Ok(_) => records += 1,
                        Err(_) => errors += 1,
                    }
                }
            }
            (records, errors)
        }
        "ferret" => {
            let names = FieldNames::new();
            let mut count = Count(0, 0);
            for input in &inputs {
                read_input(input, &names, &ReadOptions::default(), &mut count);
            }
            (count.0, count.1)
        }
        _ => {
            eprintln!("usage: parse_floor evtx-crate|ferret PATH...");
            return std::process::ExitCode::from(2);
        }
    };
    println!("{mode}: {records} records, {errors} errors, {:.3} s", started.elapsed().as_secs_f64());
    std::process::ExitCode::SUCCESS
}
