//! gen_authlog: options.

use crate::*;

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) events: u64,
    pub(crate) sources: u32,
    pub(crate) hosts: u32,
    pub(crate) users: u32,
    pub(crate) seed: u64,
    /// Microseconds since the Unix epoch.
    pub(crate) start: i64,
    pub(crate) rate: f64,
    pub(crate) campaign_every: u64,
    /// Microseconds.
    pub(crate) disorder: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            events: 1_000_000,
            sources: 2000,
            hosts: 20,
            users: 3000,
            seed: 1,
            start: parse_time("2026-11-01T00:00:00Z").unwrap(),
            rate: 50.0,
            campaign_every: 20_000,
            disorder: 0,
        }
    }
}

pub(crate) struct Args {
    pub(crate) config: Config,
    pub(crate) output: Option<String>,
    pub(crate) truth: Option<String>,
}

pub(crate) fn parse_time(text: &str) -> Result<i64, String> {
    let t: jiff::Timestamp = text.parse().map_err(|e| format!("--start {text:?}: {e}"))?;
    Ok(t.as_microsecond())
}

pub(crate) fn parse_number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.replace('_', "").parse().map_err(|_| format!("{flag}: not a number: {text:?}"))
}

pub(crate) fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut config = Config::default();
    let (mut output, mut truth) = (None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value.to_string())),
            _ => (arg, None),
        };
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("{flag}: missing value")),
        };
        match flag.as_str() {
            "--events" => config.events = parse_number(&flag, &value)?,
            "--sources" => config.sources = parse_number(&flag, &value)?,
            "--hosts" => config.hosts = parse_number(&flag, &value)?,
            "--users" => config.users = parse_number(&flag, &value)?,
            "--seed" => config.seed = parse_number(&flag, &value)?,
            "--start" => config.start = parse_time(&value)?,
            "--rate" => config.rate = parse_number(&flag, &value)?,
            "--campaign-every" => config.campaign_every = parse_number(&flag, &value)?,
            "--disorder" => {
                let secs: f64 = parse_number(&flag, &value)?;
                if !(0.0..=1e6).contains(&secs) {
                    return Err(format!("--disorder: out of range: {value}"));
                }
                config.disorder = (secs * SECOND as f64) as i64;
            }
            "-o" | "--output" => output = Some(value),
            "--truth" => truth = Some(value),
            _ => return Err(format!("unknown option {flag:?}")),
        }
    }
    if config.sources == 0 || config.sources > MAX_SOURCES {
        return Err(format!("--sources: must be 1..={MAX_SOURCES}"));
    }
    if config.hosts == 0 || config.hosts > u16::MAX as u32 {
        return Err("--hosts: must be 1..=65535".into());
    }
    if config.users == 0 || config.users > 1_000_000 {
        return Err("--users: must be 1..=1000000".into());
    }
    if !(config.rate > 0.0 && config.rate.is_finite()) {
        return Err("--rate: must be positive".into());
    }
    Ok(Args { config, output, truth })
}
