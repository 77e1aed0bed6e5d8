//! `ferret`: the command line. One file per subcommand under `commands/`,
//! each calling one use case of `ferret-app`; this file only parses
//! arguments and maps outcomes to exit codes.
//!
//! Exit codes: 0 success; 1 findings, when `--fail-on-findings` asks;
//! 2 error (bad usage, nothing readable, `--fail-on-error` with errors).

mod allocator;
mod commands;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ferret: fast incident-response toolkit. Sigma detection over Windows
/// EVTX, Linux syslog/auth.log, JSON and CSV logs.
#[derive(Parser)]
#[command(name = "ferret", version, about, long_about = None)]
struct Cli {
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Detect with Sigma rules (ferret's built-in rules plus --rules).
    Hunt(commands::hunt::HuntArgs),
    /// Validate and inspect rule sets.
    #[command(subcommand)]
    Rules(commands::rules::RulesCommand),
}

/// What a command decided about the process's exit.
pub enum Outcome {
    Ok,
    Findings,
    Failed,
}

fn main() -> ExitCode {
    allocator::purge_soon();
    let cli = Cli::parse();
    if let Some(threads) = cli.threads
        && let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build_global()
    {
        eprintln!("ferret: cannot start {threads} threads: {e}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Hunt(args) => commands::hunt::run(args),
        Command::Rules(command) => commands::rules::run(command),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Ok(Outcome::Failed) => ExitCode::from(2),
        Err(e) => {
            eprintln!("ferret: {e:#}");
            ExitCode::from(2)
        }
    }
}
