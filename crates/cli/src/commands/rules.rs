//! `ferret rules`: rule-set validation.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use ferret_app::load_rules;
use ferret_model::FieldNames;
use ferret_sigma::Severity;

use crate::Outcome;

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Load rules and report every one that cannot run, with a code, file,
    /// line and reason.
    Check(CheckArgs),
    /// Run SigmaHQ regression samples: every rule with `regression_tests_path`
    /// must fire on its samples (`match_count` times when given).
    Test(TestArgs),
}

#[derive(Args)]
pub struct TestArgs {
    /// Rule files or directories (e.g. a SigmaHQ checkout).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Also list the samples that passed.
    #[arg(short, long)]
    verbose: bool,
    /// Logsource mappings and placeholder values on top of the built-in ones.
    #[arg(long, value_name = "FILE")]
    mappings: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Rule files or directories (default: ferret's built-in rules only).
    paths: Vec<PathBuf>,
    /// Leave ferret's built-in rules out.
    #[arg(long)]
    no_builtin: bool,
    #[arg(short, long, value_enum, default_value = "text")]
    format: Format,
    /// Also list warnings.
    #[arg(short, long)]
    warnings: bool,
    /// Logsource mappings and placeholder values on top of the built-in ones.
    #[arg(long, value_name = "FILE")]
    mappings: Option<PathBuf>,
    /// List every logsource: how many rules run on it and which events
    /// serve it, or why none can.
    #[arg(long)]
    logsources: bool,
}

pub fn run(command: RulesCommand) -> anyhow::Result<Outcome> {
    match command {
        RulesCommand::Check(args) => check(args),
        RulesCommand::Test(args) => test(args),
    }
}

fn test(args: TestArgs) -> anyhow::Result<Outcome> {
    let mappings = ferret_app::load_mappings(args.mappings.as_deref())?;
    let report = ferret_app::regression::regression_test(&args.paths, &mappings);
    for r in &report.results {
        let expected = r.expected.map_or("at least 1".to_owned(), |n| n.to_string());
        if r.passed {
            if args.verbose {
                println!("ok    {} ({}): {} matches in {}", r.rule_title, r.rule_id, r.found, r.sample.display());
            }
            continue;
        }
        println!("FAIL  {} ({}) [{}]", r.rule_title, r.rule_id, r.rule_file);
        println!("      expected {expected} matches, found {} in {}", r.found, r.sample.display());
        for line in &r.details {
            for l in line.lines() {
                println!("      {l}");
            }
        }
    }
    if args.verbose {
        for note in &report.skipped {
            println!("skip  {note}");
        }
    }
    println!("{} passed, {} failed, {} skipped", report.passed(), report.failed(), report.skipped.len());
    Ok(if report.failed() > 0 { Outcome::Failed } else { Outcome::Ok })
}

fn check(args: CheckArgs) -> anyhow::Result<Outcome> {
    let mappings = ferret_app::load_mappings(args.mappings.as_deref())?;
    // Checking rules always compiles them: the cache is for hunts.
    let ferret_app::LoadedRules { set, diagnostics: diags, .. } =
        load_rules(&args.paths, !args.no_builtin, FieldNames::new(), &mappings, None);
    let shown: Vec<_> = diags.iter().filter(|d| args.warnings || d.severity == Severity::Error).collect();
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    match args.format {
        Format::Json => {
            let report = serde_json::json!({
                "rules_loaded": set.len(),
                "correlations_loaded": set.correlations().len(),
                "errors": errors,
                "warnings": diags.len() - errors,
                "diagnostics": shown,
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Format::Text => {
            for d in &shown {
                println!("{d}\n");
            }
            let mut by_code: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for d in &diags {
                *by_code.entry((d.code.as_str(), d.code.name())).or_default() += 1;
            }
            if args.logsources {
                print_logsources(&set, &diags);
            }
            println!(
                "{} rules and {} correlations loaded, {} errors, {} warnings",
                set.len(),
                set.correlations().len(),
                errors,
                diags.len() - errors
            );
            for ((code, name), n) in by_code {
                println!("  {code} {name:<24} {n}");
            }
        }
    }
    Ok(if errors > 0 { Outcome::Failed } else { Outcome::Ok })
}

/// One line per logsource: the rules that run and the event kinds serving
/// them, or the rules that cannot run and why.
fn print_logsources(set: &ferret_sigma::RuleSet, diags: &[ferret_sigma::Diagnostic]) {
    let mut served: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (i, rule) in set.rules().enumerate() {
        let kinds: Vec<&str> = set.event_kinds(i).iter().map(|k| k.as_str()).collect();
        let entry = served.entry(rule.logsource.to_string()).or_insert((0, kinds.join(", ")));
        entry.0 += 1;
    }
    let mut unsupported: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for d in diags.iter().filter(|d| d.code == ferret_sigma::Code::UnsupportedLogsource) {
        let (logsource, reason) = d.message.split_once(" cannot be served: ").unwrap_or((&d.message, ""));
        let logsource = logsource.trim_start_matches("logsource ").to_owned();
        let entry = unsupported.entry(logsource).or_insert((0, reason.to_owned()));
        entry.0 += 1;
    }
    println!("{:<70} {:>5}  served by", "logsource", "rules");
    for (logsource, (n, kinds)) in &served {
        println!("{logsource:<70} {n:>5}  {kinds}");
    }
    for (logsource, (n, reason)) in &unsupported {
        println!("{logsource:<70} {n:>5}  unsupported: {reason}");
    }
    println!();
}
