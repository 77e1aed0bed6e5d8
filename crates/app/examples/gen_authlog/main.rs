//! Synthetic Linux auth.log generator, for benchmarks and tests of the
//! brute force / password spray correlation rules.
//!
//! ```text
//! cargo run --release -p ferret-app --example gen_authlog -- [OPTIONS]
//!
//!   --events N          lines to write (default 1000000)
//!   --sources M         distinct benign client addresses, in 10.0.0.0/8 (default 2000)
//!   --hosts H           hostnames (default 20): web-01, app-01, db-01...
//!   --users U           benign user accounts (default 3000)
//!   --seed S            PRNG seed (default 1); same options and seed, same bytes
//!   --start TIME        RFC 3339 time of the first line (default 2026-11-01T00:00:00Z)
//!   --rate R            lines per second on average (default 50)
//!   --campaign-every K  one attack campaign per K lines on average (default 20000; 0: none)
//!   --disorder SECS     jitter every timestamp by up to ±SECS (default 0: non-decreasing)
//!   -o FILE             output file (default: stdout)
//!   --truth FILE        JSON ground-truth manifest of the attack campaigns
//! ```
//!
//! Lines are RFC 3339-stamped rsyslog lines
//! (`2026-11-28T02:47:30.690163+00:00 web-01 sshd[804161]: Failed password for ...`)
//! of the shapes ferret's auth.log reader understands (`docs/FIELDS.md`).
//!
//! Benign activity: SSH logins from the sources (mostly public key; password
//! logins now and then preceded by one or two typos), each with its pam_unix
//! session opened/closed lines, sudo commands inside some sessions, and CRON
//! sessions. Attack campaigns, started at random times (a Poisson process
//! with one campaign per `--campaign-every` lines on average), come from
//! addresses of 198.51.100.0/24, 203.0.113.0/24 and 192.0.2.0/24, then
//! 100.64.0.0/10, each address used by one campaign only:
//!
//! * `brute_force`: one address, 1-3 accounts, 20-300 `Failed password`
//!   lines over 1-15 minutes; a third end with `Accepted password` from the
//!   same address (for the first account, which always exists).
//! * `password_spray`: one address, 30-200 distinct accounts (40-80% of them
//!   `invalid user`), 1-2 attempts each over 3-30 minutes; one in ten ends
//!   with an `Accepted password` for one of the existing accounts.
//! * `distributed_brute_force`: 20-100 addresses against one account, 1-5
//!   attempts each over 5-40 minutes; one in ten (existing accounts only) ends
//!   with an `Accepted password`.
//!
//! Attempts are grouped into SSH connections as sshd logs them: `Invalid
//! user` or a pam_unix `authentication failure` before the first failure,
//! `Connection closed ... [preauth]` (or, after six failures, `maximum
//! authentication attempts exceeded` and `Disconnecting ...: Too many
//! authentication failures`) and `PAM N more authentication failures`
//! after the last. A campaign's `attempts` in the manifest counts its
//! `Failed password` lines only.
//!
//! The manifest (`--truth`) is one JSON object: the options, `campaigns`
//! (one object per campaign that wrote at least one line, in the order they
//! ended: `id`, `type`, `host`, `sources`, `accounts`, `invalid_accounts`,
//! `first`, `last`, `first_attempt`, `last_attempt`, `attempts`, `lines`,
//! `success`, `success_account`, `success_source`, `success_time`,
//! `complete`; `complete` is false for a campaign cut short by the end of
//! the output) and `summary`. `first` and `last` are the earliest and latest
//! timestamps of all the campaign's lines, `first_attempt` and
//! `last_attempt` those of its `Failed password` lines (with `--disorder`,
//! after jitter); `sources` and `accounts` list only those that appear in
//! the output.
//!
//! Memory does not grow with `--events`: lines are streamed, campaigns and
//! sessions are created when their time comes, and manifest entries are
//! written as campaigns end.
//!
//! Tests: `cargo test -p ferret-app --example gen_authlog`.

pub(crate) use std::cmp::Ordering;
pub(crate) use std::collections::BinaryHeap;
pub(crate) use std::fmt::Write as _;
pub(crate) use std::fs::File;
pub(crate) use std::io::{self, BufWriter, Write};
pub(crate) use std::net::Ipv4Addr;
pub(crate) use std::process::ExitCode;
pub(crate) use std::time::Instant;

pub(crate) use serde_json::{Value as Json, json};

mod actors;
mod clock;
mod generator;
mod names;
mod options;
mod rng;

pub(crate) use actors::*;
pub(crate) use clock::*;
pub(crate) use generator::*;
pub(crate) use names::*;
pub(crate) use options::*;
pub(crate) use rng::*;

pub(crate) const USAGE: &str = "usage: gen_authlog [--events N] [--sources M] [--hosts H] [--users U] [--seed S] \
[--start RFC3339] [--rate R] [--campaign-every K] [--disorder SECS] [-o FILE] [--truth FILE]";

pub(crate) const SECOND: i64 = 1_000_000;
pub(crate) const MINUTE: i64 = 60 * SECOND;

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("gen_authlog: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(if message.is_empty() { 0 } else { 2 });
        }
    };
    match generate(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_authlog: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(args: &Args) -> io::Result<()> {
    let started = Instant::now();
    let open = |path: &str| -> io::Result<BufWriter<Box<dyn Write>>> {
        let sink: Box<dyn Write> =
            if path == "-" { Box::new(io::stdout().lock()) } else { Box::new(File::create(path)?) };
        Ok(BufWriter::with_capacity(1 << 20, sink))
    };
    let mut out = open(args.output.as_deref().unwrap_or("-"))?;
    let mut truth = args.truth.as_deref().map(open).transpose()?;
    let mut generator = Generator::new(args.config.clone());
    generator.run(&mut out, truth.as_mut().map(|t| t as &mut dyn Write))?;
    let s = &generator.summary;
    let elapsed = started.elapsed().as_secs_f64();
    let mut span = |t: Option<i64>| t.map(|t| generator.clock.string(t)).unwrap_or_default();
    let (first, last) = (span(s.first), span(s.last));
    eprintln!(
        "gen_authlog: {} lines ({} attack lines; {} campaigns: {} brute force, {} spray, {} distributed; \
         {} successful), {first} .. {last}, {:.2} s ({:.0} lines/s)",
        s.lines,
        s.attack_lines,
        s.campaigns.iter().sum::<u64>(),
        s.campaigns[0],
        s.campaigns[1],
        s.campaigns[2],
        s.successes,
        elapsed,
        s.lines as f64 / elapsed.max(1e-9),
    );
    Ok(())
}

// ---------------------------------------------------------------- tests

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use ferret_model::FieldNames;
    use ferret_read::syslog::SyslogReader;
    use ferret_read::{ReadOptions, SourceContext};

    use super::*;

    fn generate(config: Config) -> (String, Json) {
        let mut out = Vec::new();
        let mut truth = Vec::new();
        Generator::new(config).run(&mut out, Some(&mut truth)).unwrap();
        (String::from_utf8(out).unwrap(), serde_json::from_slice(&truth).unwrap())
    }

    fn small(seed: u64) -> Config {
        Config { events: 60_000, seed, campaign_every: 5_000, ..Config::default() }
    }

    #[test]
    fn same_seed_same_output_and_other_seed_other_output() {
        let (a, truth_a) = generate(small(7));
        let (b, truth_b) = generate(small(7));
        assert!(a == b && truth_a == truth_b);
        let (c, _) = generate(small(8));
        assert_ne!(a, c);
    }

    #[test]
    fn timestamps_format_like_jiff() {
        let mut clock = Clock::default();
        for micros in [0, 1, -1, 951_782_400_000_000, 1_795_998_450_690_163, 4_107_542_399_999_999, -86_400_000_001] {
            let text = clock.string(micros);
            let parsed: jiff::Timestamp = text.parse().unwrap();
            assert_eq!(parsed.as_microsecond(), micros, "{text}");
        }
    }

    #[test]
    fn attacker_addresses_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000 {
            let ip = attacker_ip(i);
            assert!(!ip.is_unspecified() && ip.octets()[0] != 10);
            assert!(seen.insert(ip), "{i}: {ip}");
        }
    }

    /// Every line is an event for ferret's reader, timestamps never go
    /// back, and the failed logins the reader sees from each campaign's
    /// addresses are the campaign's attempts.
    #[test]
    fn output_reads_back_and_matches_the_manifest() {
        let (text, truth) = generate(small(3));
        assert_eq!(text.lines().count(), 60_000);
        let names = FieldNames::new();
        let ctx = SourceContext::new("gen.log", names.clone(), ReadOptions::default());
        let mut failures: HashMap<String, u64> = HashMap::new();
        let mut successes: HashMap<String, u64> = HashMap::new();
        let mut previous = None;
        for event in SyslogReader::new(text.as_bytes(), ctx) {
            let event = event.unwrap();
            let time = event.timestamp.unwrap();
            assert!(previous.is_none_or(|p| p <= time));
            previous = Some(time);
            let get = |name| event.get(&names, name).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            if get("event.action") == "ssh_login" {
                let counts = if get("event.outcome") == "failure" { &mut failures } else { &mut successes };
                *counts.entry(get("source.ip")).or_default() += 1;
            }
        }
        let campaigns = truth["campaigns"].as_array().unwrap();
        assert!(campaigns.len() >= 6, "{}", campaigns.len());
        for kind in ["brute_force", "password_spray", "distributed_brute_force"] {
            assert!(campaigns.iter().any(|c| c["type"] == kind), "no {kind}");
        }
        let mut attack_lines = 0;
        for c in campaigns {
            let sources: Vec<&str> = c["sources"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
            let seen: u64 = sources.iter().map(|s| failures.get(*s).copied().unwrap_or(0)).sum();
            assert_eq!(seen, c["attempts"].as_u64().unwrap(), "{c}");
            let won: u64 = sources.iter().map(|s| successes.get(*s).copied().unwrap_or(0)).sum();
            assert_eq!(won, u64::from(c["success"] == true), "{c}");
            let times: Vec<&str> =
                ["first", "first_attempt", "last_attempt", "last"].iter().filter_map(|k| c[*k].as_str()).collect();
            assert!(times.is_sorted(), "{c}");
            attack_lines += c["lines"].as_u64().unwrap();
        }
        assert_eq!(truth["summary"]["attack_lines"].as_u64(), Some(attack_lines));
        assert_eq!(truth["summary"]["lines"].as_u64(), Some(60_000));
    }

    #[test]
    fn disorder_stays_within_bounds() {
        let config = Config { events: 5_000, disorder: 2 * SECOND, ..Config::default() };
        let (text, _) = generate(config);
        let time = |line: &str| line.split(' ').next().unwrap().parse::<jiff::Timestamp>().unwrap().as_microsecond();
        // Each time is its line's true time ±2 s, and true times never go back.
        let mut backwards = 0;
        let mut previous = i64::MIN;
        for line in text.lines() {
            let t = time(line);
            backwards += u64::from(t < previous);
            assert!(previous == i64::MIN || t >= previous - 4 * SECOND);
            previous = t;
        }
        assert!(backwards > 0);
    }

    #[test]
    fn options_parse() {
        let args = parse_args(
            ["--events", "1_000", "--sources=5", "--seed", "9", "--start", "2026-01-02T03:04:05+01:00", "-o", "x"]
                .map(String::from),
        )
        .unwrap();
        assert_eq!(args.config.events, 1000);
        assert_eq!(args.config.sources, 5);
        assert_eq!(args.config.seed, 9);
        assert_eq!(args.config.start, parse_time("2026-01-02T02:04:05Z").unwrap());
        assert_eq!(args.output.as_deref(), Some("x"));
        assert!(parse_args(["--events".to_string()]).is_err());
        assert!(parse_args(["--bogus".to_string(), "1".to_string()]).is_err());
    }
}
