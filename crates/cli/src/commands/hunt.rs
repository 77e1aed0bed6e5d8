//! `ferret hunt`: Sigma detection over logs.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use clap::{Args, ValueEnum};
use ferret_app::rule_cache::{self, CacheReport};
use ferret_app::sinks::{CsvSink, JsonlSink, TableSink, terminal_width};
use ferret_app::{HuntConfig, HuntSummary, Progress, hunt};
use ferret_model::{AlertSink, Level};
use indicatif::{ProgressBar, ProgressStyle};

use crate::Outcome;
use crate::output::writer;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// A table for reading at a terminal.
    Table,
    Csv,
    /// JSON Lines, one alert per line (schema in the README).
    Jsonl,
}

#[derive(Args)]
pub struct HuntArgs {
    /// Log files, directories (recursive), .gz/.zip archives; `-` reads stdin.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Sigma rule file or directory (repeatable).
    #[arg(short, long = "rules", value_name = "DIR|FILE")]
    rules: Vec<PathBuf>,
    /// Do not use ferret's built-in rules.
    #[arg(long)]
    no_builtin: bool,
    /// Logsource mappings and `expand` placeholder values on top of the built-in ones (YAML).
    #[arg(long, value_name = "FILE")]
    mappings: Option<PathBuf>,
    #[arg(short, long, value_enum, default_value = "table")]
    format: Format,
    /// Write alerts to a file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Only report alerts at or above this level.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    min_level: Option<Level>,
    /// The year of syslog timestamps that carry none (default: from the file's modification time).
    #[arg(long, value_name = "YEAR")]
    year: Option<i16>,
    /// Say why each alert fired: selections, fields, modifiers, rule and event values.
    #[arg(long)]
    explain: bool,
    /// Exit with 2 when any record or file could not be read.
    #[arg(long)]
    fail_on_error: bool,
    /// Exit with 1 when there are alerts.
    #[arg(long)]
    fail_on_findings: bool,
    /// Show at most this many read errors (the summary counts all).
    #[arg(long, default_value_t = 20, value_name = "N")]
    max_errors: usize,
    /// Tune a correlation: NAME.SETTING=VALUE with SETTING timespan, threshold, gt, gte, lt, lte, eq or neq
    /// (e.g. ferret_bruteforce.threshold=20, ferret_bruteforce.timespan=30m). Repeatable.
    #[arg(long, value_name = "NAME.SETTING=VALUE")]
    tune: Vec<String>,
    /// Correlation tuning from a YAML file: `NAME: {SETTING: VALUE}`.
    #[arg(long, value_name = "FILE")]
    tune_file: Option<PathBuf>,
    /// Score baseline rules against baselines saved by an earlier run instead of learning them from this data.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Save the baselines learned (or loaded) by this run, for later runs.
    #[arg(long, value_name = "FILE")]
    save_baseline: Option<PathBuf>,
    /// Where compiled rule sets are cached between runs (default: $FERRET_CACHE_DIR, else
    /// $XDG_CACHE_HOME/ferret, else ~/.cache/ferret).
    #[arg(long, value_name = "DIR")]
    rule_cache: Option<PathBuf>,
    /// Always compile the rules: neither read nor write the compiled-rule cache.
    #[arg(long, conflicts_with = "rule_cache")]
    no_rule_cache: bool,
    /// No summary and no progress bar.
    #[arg(short, long)]
    quiet: bool,
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse()
}

pub fn run(args: HuntArgs) -> anyhow::Result<Outcome> {
    let mut config = HuntConfig {
        inputs: args.paths,
        rule_paths: args.rules,
        builtin_rules: !args.no_builtin,
        min_level: args.min_level,
        explain: args.explain,
        mappings: args.mappings,
        baseline: args.baseline,
        save_baseline: args.save_baseline,
        rule_cache: if args.no_rule_cache { None } else { args.rule_cache.or_else(rule_cache::default_dir) },
        ..HuntConfig::default()
    };
    config.read.assume_year = args.year;
    if let Some(path) = &args.tune_file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        config.tuning.push_file(&text, &path.display().to_string()).map_err(anyhow::Error::msg)?;
    }
    for arg in &args.tune {
        config.tuning.push_arg(arg).map_err(anyhow::Error::msg)?;
    }
    let to_stdout = args.output.as_deref().is_none_or(|p| p.as_os_str() == "-");
    let out = writer(args.output.as_deref())?;
    let mut sink: Box<dyn AlertSink> = match args.format {
        // Fit the table to the terminal only when it is printed there.
        Format::Table => Box::new(TableSink::new(out, if to_stdout { terminal_width() } else { None })),
        Format::Csv => Box::new(CsvSink::new(out)),
        Format::Jsonl => Box::new(JsonlSink::new(out)),
    };
    let progress = TerminalProgress::new(!args.quiet && std::io::stderr().is_terminal(), args.max_errors);
    let summary = hunt(&config, sink.as_mut(), &progress)?;
    progress.finish();
    if !args.quiet {
        print_summary(&summary, progress.errors_hidden());
    }
    Ok(if summary.nothing_read() || (args.fail_on_error && summary.had_read_errors()) {
        Outcome::Failed
    } else if args.fail_on_findings && summary.alerts() > 0 {
        Outcome::Findings
    } else {
        Outcome::Ok
    })
}

/// A progress bar on stderr (when it is a terminal) and read errors printed
/// as they happen, up to a limit.
struct TerminalProgress {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
    max_errors: usize,
    errors: AtomicUsize,
}

impl TerminalProgress {
    fn new(enabled: bool, max_errors: usize) -> Self {
        Self { bar: Mutex::new(None), enabled, max_errors, errors: AtomicUsize::new(0) }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap().take() {
            bar.finish_and_clear();
        }
    }

    fn errors_hidden(&self) -> usize {
        self.errors.load(Ordering::Relaxed).saturating_sub(self.max_errors)
    }
}

impl Progress for TerminalProgress {
    fn inputs(&self, count: usize) {
        if self.enabled {
            let bar = ProgressBar::new(count as u64);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            *self.bar.lock().unwrap() = Some(bar);
        }
    }

    fn input_done(&self, name: &str, _events: u64) {
        if let Some(bar) = self.bar.lock().unwrap().as_ref() {
            bar.set_message(name.to_owned());
            bar.inc(1);
        }
    }

    fn read_error(&self, error: &ferret_app::ReadError) {
        let n = self.errors.fetch_add(1, Ordering::Relaxed);
        if n >= self.max_errors {
            return;
        }
        let line = format!("warning: {error}");
        match self.bar.lock().unwrap().as_ref() {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

fn print_summary(s: &HuntSummary, hidden_errors: usize) {
    if hidden_errors > 0 {
        eprintln!("warning: {hidden_errors} more read errors not shown (--max-errors)");
    }
    let formats: Vec<String> = s.formats.iter().map(|(f, n)| format!("{n} {f}")).collect();
    eprintln!();
    eprintln!("Summary");
    eprintln!("  files        {} ({} streams: {})", s.files, s.streams, formats.join(", "));
    eprintln!("  events read  {}", s.events);
    eprintln!("  skipped      {} records/chunks, {} unreadable files", s.records_skipped, s.unreadable.len());
    eprintln!(
        "  rules        {} loaded, {} not loaded (errors), {} with warnings (`ferret rules check` shows why)",
        s.rules_loaded, s.rules_with_errors, s.rules_with_warnings
    );
    match &s.rule_cache {
        CacheReport::Disabled => {}
        CacheReport::Loaded(path) => eprintln!("  rule cache   compiled rules loaded from {}", path.display()),
        CacheReport::Stored { path, replaced } => {
            eprintln!("  rule cache   rules compiled and stored in {}", path.display());
            if let Some(why) = replaced {
                eprintln!("               (the file there was refused: {why})");
            }
        }
        CacheReport::Unusable(why) => eprintln!("  rule cache   not used: {why}"),
    }
    if s.correlations_loaded > 0 {
        let c = &s.correlation;
        let mut notes = Vec::new();
        if c.untimed > 0 {
            notes.push(format!("{} matches without a timestamp not correlated", c.untimed));
        }
        if c.excluded > 0 {
            notes.push(format!("{} non-numeric metric values excluded", c.excluded));
        }
        if !c.unused_baselines.is_empty() {
            notes.push(format!("saved baselines for unknown rules ignored: {}", c.unused_baselines.join(", ")));
        }
        if c.spilled > 0 {
            notes.push(format!("{} hits sorted on disk", c.spilled));
        }
        let notes = if notes.is_empty() { String::new() } else { format!("; {}", notes.join("; ")) };
        eprintln!("  correlation  {} rules, {} hits in time order{notes}", s.correlations_loaded, c.hits);
    }
    let levels: Vec<String> =
        Level::ALL.iter().rev().filter_map(|l| s.alerts_by_level.get(l).map(|n| format!("{n} {l}"))).collect();
    let levels = if levels.is_empty() { "none".to_owned() } else { levels.join(", ") };
    eprintln!("  alerts       {} ({levels})", s.alerts());
    eprintln!("  elapsed      {:.2?}", s.elapsed);
}
