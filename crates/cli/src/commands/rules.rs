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
}

pub fn run(command: RulesCommand) -> anyhow::Result<Outcome> {
    let RulesCommand::Check(args) = command;
    let (set, diags) = load_rules(&args.paths, !args.no_builtin, FieldNames::new());
    let shown: Vec<_> = diags.iter().filter(|d| args.warnings || d.severity == Severity::Error).collect();
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    match args.format {
        Format::Json => {
            let report = serde_json::json!({
                "rules_loaded": set.len(),
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
            println!("{} rules loaded, {} errors, {} warnings", set.len(), errors, diags.len() - errors);
            for ((code, name), n) in by_code {
                println!("  {code} {name:<24} {n}");
            }
        }
    }
    Ok(if errors > 0 { Outcome::Failed } else { Outcome::Ok })
}
