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

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{Value as Json, json};

const USAGE: &str = "usage: gen_authlog [--events N] [--sources M] [--hosts H] [--users U] [--seed S] \
[--start RFC3339] [--rate R] [--campaign-every K] [--disorder SECS] [-o FILE] [--truth FILE]";

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;

// ---------------------------------------------------------------- options

#[derive(Clone, Debug)]
struct Config {
    events: u64,
    sources: u32,
    hosts: u32,
    users: u32,
    seed: u64,
    /// Microseconds since the Unix epoch.
    start: i64,
    rate: f64,
    campaign_every: u64,
    /// Microseconds.
    disorder: i64,
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

struct Args {
    config: Config,
    output: Option<String>,
    truth: Option<String>,
}

fn parse_time(text: &str) -> Result<i64, String> {
    let t: jiff::Timestamp = text.parse().map_err(|e| format!("--start {text:?}: {e}"))?;
    Ok(t.as_microsecond())
}

fn parse_number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.replace('_', "").parse().map_err(|_| format!("{flag}: not a number: {text:?}"))
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
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

// ---------------------------------------------------------------- randomness

/// SplitMix64: small, fast, and good enough for synthetic data.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (`n` > 0), by multiply-shift.
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Microseconds, uniform in `lo..=hi`.
    fn span(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Exponentially distributed microseconds with the given mean (at least 1).
    fn exp(&mut self, mean: f64) -> i64 {
        ((-mean * (1.0 - self.unit()).ln()) as i64).max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// SplitMix64's finaliser: a stateless hash for per-entity attributes
/// (a source's home host, a user's key fingerprint).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `count` distinct indices of `0..len` (`count <= len`), as a random
/// arithmetic progression with a stride coprime to `len`.
fn distinct(rng: &mut Rng, len: u64, count: u64) -> impl Iterator<Item = u64> + use<> {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let start = rng.below(len);
    let mut stride = rng.range(1, len.max(2) - 1).max(1);
    while gcd(stride, len) != 1 {
        stride += 1;
    }
    (0..count.min(len)).map(move |i| (start + i * stride) % len)
}

// ---------------------------------------------------------------- names and addresses

const HOST_PREFIXES: [&str; 10] = ["web", "app", "db", "bastion", "api", "mail", "ci", "vpn", "cache", "build"];

const FIRST: [&str; 64] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "karl", "laura", "mallory",
    "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "ursula", "victor", "wendy", "xavier", "yvonne",
    "zoe", "amir", "bianca", "chen", "dmitri", "elena", "farid", "gita", "hana", "igor", "jamal", "kenji", "lena",
    "mateo", "noor", "olga", "pavel", "rosa", "sanjay", "tomas", "uma", "vera", "wei", "yusuf", "zara", "anton",
    "beatriz", "ciaran", "daria", "emeka", "fatima", "goran", "hiro", "ines", "jonas", "kofi", "lucia", "marek",
    "nadia",
];

const LAST: [&str; 64] = [
    "smith", "jones", "garcia", "muller", "rossi", "kowalski", "nguyen", "kim", "silva", "novak", "dubois", "jensen",
    "larsen", "tanaka", "sato", "ali", "khan", "patel", "singh", "cohen", "levi", "horvat", "popescu", "ivanov",
    "petrov", "santos", "lopez", "martin", "bernard", "moreau", "fischer", "weber", "wagner", "becker", "hoffmann",
    "schulz", "koch", "richter", "klein", "wolf", "brown", "taylor", "wilson", "evans", "thomas", "roberts", "walker",
    "wright", "green", "hall", "wood", "clarke", "hughes", "lewis", "young", "king", "baker", "adams", "mitchell",
    "turner", "parker", "collins", "edwards", "stewart",
];

/// Service accounts: they log in with keys from a few automation sources.
const SERVICE: [&str; 6] = ["deploy", "ansible", "backup", "jenkins", "monitor", "gitlab-runner"];

/// Account names attackers try that do not exist on the hosts.
#[rustfmt::skip]
const INVALID: [&str; 96] = [
    "admin", "test", "user", "oracle", "postgres", "guest", "ftpuser", "pi", "ubuntu", "support", "info", "mysql",
    "git", "hadoop", "nagios", "minecraft", "steam", "teamspeak", "tomcat", "administrator", "user1", "test1", "test2",
    "demo", "web", "www", "webmaster", "sales", "office", "student", "temp", "dev", "developer", "ftp", "mail",
    "postfix", "redis", "elastic", "elasticsearch", "kafka", "zookeeper", "spark", "hdfs", "yarn", "centos", "debian",
    "ec2-user", "azureuser", "vagrant", "docker", "k8s", "kube", "odoo", "zabbix", "grafana", "prometheus", "sonar",
    "nexus", "jira", "confluence", "bitbucket", "svn", "cvs", "rsync", "samba", "nobody", "operator", "manager",
    "supervisor", "service", "system", "sysadmin", "netadmin", "super", "master", "server", "client", "backup1",
    "dbadmin", "sa", "wp", "wordpress", "magento", "shop", "store", "api", "app", "apps", "public", "upload",
    "uploader", "ts3", "csgo", "factorio", "vpn", "openvpn",
];

const SUDO_COMMANDS: [&str; 14] = [
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/systemctl status postgresql",
    "/usr/bin/systemctl reload nginx",
    "/usr/bin/apt-get update",
    "/usr/bin/apt-get upgrade -y",
    "/usr/bin/tail -n 100 /var/log/syslog",
    "/usr/bin/journalctl -u ssh --since today",
    "/usr/bin/docker ps",
    "/usr/bin/docker logs --tail 50 api",
    "/usr/bin/cat /etc/nginx/nginx.conf",
    "/usr/bin/du -sh /var/lib/docker",
    "/usr/sbin/ufw status",
    "/usr/bin/certbot renew",
    "/usr/bin/crontab -l",
];

const KEY_TYPES: [&str; 3] = ["ED25519", "RSA", "ECDSA"];
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Benign sources live in 10.20.0.0-10.255.255.255, 250 per /24.
const MAX_SOURCES: u32 = 250 * 256 * 236;

fn benign_ip(source: u32) -> Ipv4Addr {
    let subnet = source / 250;
    Ipv4Addr::new(10, (20 + subnet / 256) as u8, (subnet % 256) as u8, (source % 250 + 2) as u8)
}

/// The `index`-th attacker address: first the three documentation ranges
/// (762 addresses, in a scrambled order), then 100.64.0.0/10.
fn attacker_ip(index: u32) -> Ipv4Addr {
    const DOC: [[u8; 3]; 3] = [[198, 51, 100], [203, 0, 113], [192, 0, 2]];
    if index < 762 {
        let p = (index as u64 * 367 + 11) % 762;
        let net = DOC[(p / 254) as usize];
        return Ipv4Addr::new(net[0], net[1], net[2], (p % 254 + 1) as u8);
    }
    // An odd multiplier permutes 0..2^22; index 762 maps to offset 1.
    let offset = ((index as u64 - 761).wrapping_mul(0x9E37_79B1) & ((1 << 22) - 1)) as u32;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 64, 0, 0)) + offset)
}

// ---------------------------------------------------------------- time stamps

/// Formats microseconds since the epoch as `2026-11-28T02:47:30.690163+00:00`,
/// caching the date of the last day seen.
#[derive(Default)]
struct Clock {
    day: Option<i64>,
    date: String,
}

impl Clock {
    fn write(&mut self, out: &mut String, micros: i64) {
        let secs = micros.div_euclid(SECOND);
        let frac = micros.rem_euclid(SECOND);
        let day = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        if self.day != Some(day) {
            let (y, m, d) = civil_from_days(day);
            self.date.clear();
            _ = write!(self.date, "{y:04}-{m:02}-{d:02}T");
            self.day = Some(day);
        }
        out.push_str(&self.date);
        _ = write!(out, "{:02}:{:02}:{:02}.{frac:06}+00:00", sod / 3600, sod / 60 % 60, sod % 60);
    }

    fn string(&mut self, micros: i64) -> String {
        let mut s = String::with_capacity(32);
        self.write(&mut s, micros);
        s
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

// ---------------------------------------------------------------- actors

/// Something that writes lines over time: a benign SSH session, a cron job,
/// an attack campaign, or one of the spawners that create them.
enum Actor {
    LoginSpawner,
    CronSpawner,
    CampaignSpawner,
    Session(Session),
    Cron(Cron),
    Campaign(Box<Campaign>),
}

/// A scheduled actor; the heap pops the earliest (then the oldest) first.
struct Entry {
    time: i64,
    seq: u64,
    actor: Actor,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum SessionStep {
    PamFailure,
    Typo,
    Accepted,
    Opened,
    SudoCommand,
    SudoOpened,
    SudoClosed,
    Disconnected,
    Closed,
}

/// A benign SSH login and its session.
struct Session {
    host: u16,
    source: u32,
    /// Index into `Generator::accounts`.
    user: u32,
    port: u16,
    pid: u32,
    password: bool,
    typos: u8,
    sudos: u8,
    tty: u8,
    sudo_command: u8,
    end: i64,
    step: SessionStep,
}

struct Cron {
    host: u16,
    pid: u32,
    user: &'static str,
    opened: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    BruteForce,
    Spray,
    Distributed,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::BruteForce => "brute_force",
            Kind::Spray => "password_spray",
            Kind::Distributed => "distributed_brute_force",
        }
    }
}

struct Account {
    name: String,
    valid: bool,
    used: bool,
}

struct Source {
    ip: Ipv4Addr,
    /// Attempts this address has left to make (distributed campaigns).
    left: u16,
    used: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ConnStep {
    Pre,
    Fail,
    MaxExceeded,
    Disconnecting,
    Closed,
    PamMore,
    Accepted,
    Opened,
}

/// One attacker SSH connection: `fails` failed passwords, then either a
/// successful one or the disconnection lines.
struct Conn {
    source: u16,
    account: u16,
    port: u16,
    pid: u32,
    fails: u8,
    failed: u8,
    success: bool,
    step: ConnStep,
}

struct Campaign {
    id: u64,
    kind: Kind,
    host: u16,
    sources: Vec<Source>,
    accounts: Vec<Account>,
    /// Distributed: the sources with attempts left.
    live: Vec<u16>,
    /// Brute force: failures still to make.
    attempts_left: u32,
    /// Brute force: connections made (round-robin over the accounts);
    /// spray: the next account.
    next_account: u16,
    /// Mean microseconds between attempts.
    gap: f64,
    succeed: bool,
    success_account: u16,
    conn: Option<Conn>,
    // What was written, for the manifest.
    attempts: u64,
    lines: u64,
    first: i64,
    last: i64,
    /// Earliest and latest `Failed password` line.
    attempt_span: Option<(i64, i64)>,
    success: Option<(u16, u16, i64)>,
}

// ---------------------------------------------------------------- the generator

/// Probabilities of benign sessions; `LINES_PER_SESSION` follows from them
/// and sets the login rate that gives `--rate` lines per second.
const P_SERVICE: f64 = 0.15;
const P_PASSWORD: f64 = 0.25;
const P_SUDO: f64 = 0.15;
const MEAN_SESSION: f64 = 10.0 * MINUTE as f64;
/// Accepted, session opened, Disconnected, session closed; sudo: 1-3
/// commands of 3 lines, of which about 10% do not fit before the session
/// ends; typos (human password logins): one pam_unix line and 1-2 failures
/// 30% of the time (0.3 + 0.4 lines).
const LINES_PER_SESSION: f64 = 4.0 + P_SUDO * 1.8 * 3.0 + (1.0 - P_SERVICE) * P_PASSWORD * 0.7;
/// Share of the lines that are cron sessions (two lines each).
const CRON_SHARE: f64 = 0.03;
/// Average lines of one campaign (measured).
const LINES_PER_CAMPAIGN: f64 = 390.0;

/// Counts for the summary.
#[derive(Debug, Default, PartialEq)]
struct Summary {
    lines: u64,
    first: Option<i64>,
    last: Option<i64>,
    attack_lines: u64,
    campaigns: [u64; 3],
    successes: u64,
}

struct Generator {
    cfg: Config,
    rng: Rng,
    hosts: Vec<String>,
    /// `root`, the service accounts, then the human users.
    accounts: Vec<String>,
    heap: BinaryHeap<Entry>,
    seq: u64,
    pid: u32,
    next_attacker: u32,
    campaigns: u64,
    clock: Clock,
    summary: Summary,
}

const ROOT: u32 = 0;
const HUMANS: u32 = 1 + SERVICE.len() as u32;

impl Generator {
    fn new(cfg: Config) -> Self {
        let mut rng = Rng(cfg.seed ^ 0x6665_7272_6574); // "ferret"
        let hosts = (0..cfg.hosts as usize).map(|i| format!("{}-{:02}", HOST_PREFIXES[i % 10], i / 10 + 1)).collect();
        let mut accounts: Vec<String> = vec!["root".to_string()];
        accounts.extend(SERVICE.iter().map(|s| s.to_string()));
        for i in 0..cfg.users as usize {
            let mut name = format!("{}.{}", FIRST[i % 64], LAST[i / 64 % 64]);
            if i >= 64 * 64 {
                _ = write!(name, "{}", i / (64 * 64) + 1);
            }
            accounts.push(name);
        }
        let pid = 2000 + rng.below(100_000) as u32;
        let mut generator = Self {
            heap: BinaryHeap::new(),
            seq: 0,
            pid,
            next_attacker: 0,
            campaigns: 0,
            clock: Clock::default(),
            summary: Summary::default(),
            hosts,
            accounts,
            rng,
            cfg,
        };
        let start = generator.cfg.start;
        generator.push(start, Actor::LoginSpawner);
        generator.push(start, Actor::CronSpawner);
        if generator.cfg.campaign_every > 0 {
            let first = start + generator.campaign_interval();
            generator.push(first, Actor::CampaignSpawner);
        }
        generator
    }

    fn push(&mut self, time: i64, actor: Actor) {
        self.seq += 1;
        self.heap.push(Entry { time, seq: self.seq, actor });
    }

    fn next_pid(&mut self) -> u32 {
        self.pid += 1 + self.rng.below(40) as u32;
        if self.pid >= 4_194_304 {
            self.pid = 1000 + self.pid % 1000;
        }
        self.pid
    }

    fn port(&mut self) -> u16 {
        self.rng.range(32768, 60999) as u16
    }

    fn next_attacker_ip(&mut self) -> Ipv4Addr {
        let ip = attacker_ip(self.next_attacker);
        self.next_attacker += 1;
        ip
    }

    fn attack_share(&self) -> f64 {
        if self.cfg.campaign_every == 0 { 0.0 } else { LINES_PER_CAMPAIGN / self.cfg.campaign_every as f64 }
    }

    /// Mean microseconds between two benign logins.
    fn login_interval(&self) -> f64 {
        let benign = (1.0 - CRON_SHARE - self.attack_share()).max(0.05);
        SECOND as f64 * LINES_PER_SESSION / (self.cfg.rate * benign)
    }

    fn cron_interval(&self) -> f64 {
        SECOND as f64 * 2.0 / (self.cfg.rate * CRON_SHARE)
    }

    fn campaign_interval(&mut self) -> i64 {
        let mean = SECOND as f64 * self.cfg.campaign_every as f64 / self.cfg.rate;
        self.rng.exp(mean)
    }

    /// Writes the whole output: `cfg.events` lines to `out`, and the
    /// manifest to `truth` when given.
    fn run(&mut self, out: &mut dyn Write, mut truth: Option<&mut dyn Write>) -> io::Result<()> {
        if let Some(truth) = truth.as_deref_mut() {
            let c = &self.cfg;
            let options = json!({
                "generator": "gen_authlog",
                "seed": c.seed,
                "events": c.events,
                "sources": c.sources,
                "hosts": c.hosts,
                "users": c.users,
                "start": self.clock.string(c.start),
                "rate": c.rate,
                "campaign_every": c.campaign_every,
                "disorder_secs": c.disorder as f64 / SECOND as f64,
            });
            let options = serde_json::to_string(&options)?;
            // Reopen the object to append the campaigns.
            write!(truth, "{},\n\"campaigns\": [", options.strip_suffix('}').unwrap())?;
        }
        let mut written_campaigns = 0u64;
        let mut line = String::with_capacity(512);
        while self.summary.lines < self.cfg.events {
            let Entry { time, mut actor, .. } = self.heap.pop().expect("the spawners never stop");
            let stamp =
                if self.cfg.disorder > 0 { time + self.rng.span(-self.cfg.disorder, self.cfg.disorder) } else { time };
            line.clear();
            self.clock.write(&mut line, stamp);
            line.push(' ');
            let (wrote, next) = self.step(&mut actor, time, stamp, &mut line);
            if wrote {
                line.push('\n');
                out.write_all(line.as_bytes())?;
                let s = &mut self.summary;
                s.lines += 1;
                s.first = Some(s.first.map_or(stamp, |f| f.min(stamp)));
                s.last = Some(s.last.map_or(stamp, |l| l.max(stamp)));
                if matches!(actor, Actor::Campaign(_)) {
                    s.attack_lines += 1;
                }
            }
            match next {
                Some(next) => self.push(next.max(time), actor),
                None => {
                    if let Actor::Campaign(campaign) = actor {
                        self.end_campaign(&campaign);
                        if let Some(truth) = truth.as_deref_mut() {
                            self.write_campaign(truth, &campaign, true, written_campaigns)?;
                            written_campaigns += 1;
                        }
                    }
                }
            }
        }
        // Campaigns cut short by the end of the output.
        let mut open: Vec<Box<Campaign>> = std::mem::take(&mut self.heap)
            .into_iter()
            .filter_map(|e| match e.actor {
                Actor::Campaign(c) if c.lines > 0 => Some(c),
                _ => None,
            })
            .collect();
        open.sort_by_key(|c| c.id);
        for campaign in &open {
            self.end_campaign(campaign);
            if let Some(truth) = truth.as_deref_mut() {
                self.write_campaign(truth, campaign, false, written_campaigns)?;
                written_campaigns += 1;
            }
        }
        if let Some(truth) = truth {
            let s = &self.summary;
            let summary = json!({
                "lines": s.lines,
                "first": s.first.map(|t| self.clock.string(t)),
                "last": s.last.map(|t| self.clock.string(t)),
                "attack_lines": s.attack_lines,
                "campaigns": s.campaigns.iter().sum::<u64>(),
                "brute_force": s.campaigns[0],
                "password_spray": s.campaigns[1],
                "distributed_brute_force": s.campaigns[2],
                "successes": s.successes,
            });
            writeln!(truth, "\n],\n\"summary\": {}}}", serde_json::to_string(&summary)?)?;
            truth.flush()?;
        }
        out.flush()
    }

    fn end_campaign(&mut self, campaign: &Campaign) {
        self.summary.campaigns[campaign.kind as usize] += 1;
        self.summary.successes += u64::from(campaign.success.is_some());
    }

    fn write_campaign(&mut self, out: &mut dyn Write, c: &Campaign, complete: bool, index: u64) -> io::Result<()> {
        let sources: Vec<String> = c.sources.iter().filter(|s| s.used).map(|s| s.ip.to_string()).collect();
        let accounts: Vec<&str> = c.accounts.iter().filter(|a| a.used).map(|a| a.name.as_str()).collect();
        let invalid = c.accounts.iter().filter(|a| a.used && !a.valid).count();
        let (success_account, success_source, success_time) = match c.success {
            Some((account, source, time)) => (
                Json::from(c.accounts[account as usize].name.as_str()),
                Json::from(c.sources[source as usize].ip.to_string()),
                Json::from(self.clock.string(time)),
            ),
            None => (Json::Null, Json::Null, Json::Null),
        };
        let entry = json!({
            "id": c.id,
            "type": c.kind.name(),
            "host": self.hosts[c.host as usize],
            "sources": sources,
            "accounts": accounts,
            "invalid_accounts": invalid,
            "first": self.clock.string(c.first),
            "last": self.clock.string(c.last),
            "first_attempt": c.attempt_span.map(|(first, _)| self.clock.string(first)),
            "last_attempt": c.attempt_span.map(|(_, last)| self.clock.string(last)),
            "attempts": c.attempts,
            "lines": c.lines,
            "success": c.success.is_some(),
            "success_account": success_account,
            "success_source": success_source,
            "success_time": success_time,
            "complete": complete,
        });
        let sep = if index == 0 { "\n" } else { ",\n" };
        write!(out, "{sep}{}", serde_json::to_string(&entry)?)
    }

    /// Lets `actor` act at `time`: appends the rest of a line after the
    /// time stamp (returning true) or not, and says when it acts next.
    fn step(&mut self, actor: &mut Actor, time: i64, stamp: i64, line: &mut String) -> (bool, Option<i64>) {
        match actor {
            Actor::LoginSpawner => {
                let session = self.new_session();
                self.push(time, Actor::Session(session));
                (false, Some(time + self.rng.exp(self.login_interval())))
            }
            Actor::CronSpawner => {
                // Cron jobs start just after a minute boundary.
                let at = (time.div_euclid(MINUTE) + 1) * MINUTE + self.rng.span(300_000, 1_500_000);
                let host = self.rng.below(self.cfg.hosts as u64) as u16;
                let pid = self.next_pid();
                let user = *self.rng.pick(&["root", "root", "root", "www-data", "backup"]);
                self.push(at, Actor::Cron(Cron { host, pid, user, opened: false }));
                (false, Some(time + self.rng.exp(self.cron_interval())))
            }
            Actor::CampaignSpawner => {
                let campaign = self.new_campaign();
                self.push(time, Actor::Campaign(Box::new(campaign)));
                (false, Some(time + self.campaign_interval()))
            }
            Actor::Cron(cron) => {
                let host = &self.hosts[cron.host as usize];
                let what = if cron.opened { "closed" } else { "opened" };
                _ = write!(
                    line,
                    "{host} CRON[{}]: pam_unix(cron:session): session {what} for user {}",
                    cron.pid, cron.user
                );
                if !cron.opened {
                    line.push_str(" by (uid=0)");
                }
                let next = (!cron.opened).then(|| time + self.rng.span(10_000, 3 * SECOND));
                cron.opened = true;
                (true, next)
            }
            Actor::Session(session) => {
                let next = self.session_step(session, time, line);
                (true, next)
            }
            Actor::Campaign(campaign) => {
                let attempts = campaign.attempts;
                let next = self.campaign_step(campaign, time, line);
                if campaign.attempts > attempts {
                    let (first, last) = campaign.attempt_span.unwrap_or((stamp, stamp));
                    campaign.attempt_span = Some((first.min(stamp), last.max(stamp)));
                }
                campaign.lines += 1;
                if campaign.lines == 1 {
                    (campaign.first, campaign.last) = (stamp, stamp);
                }
                campaign.first = campaign.first.min(stamp);
                campaign.last = campaign.last.max(stamp);
                if let Some((_, _, t)) = &mut campaign.success
                    && *t == i64::MIN
                {
                    *t = stamp;
                }
                (true, next)
            }
        }
    }

    // ------------------------------------------------------------ benign sessions

    fn new_session(&mut self) -> Session {
        let cfg = &self.cfg;
        let service = self.rng.chance(P_SERVICE);
        let (source, user) = if service {
            // Automation runs from the first few sources.
            let source = self.rng.below(cfg.sources.min(16) as u64) as u32;
            (source, 1 + self.rng.below(SERVICE.len() as u64) as u32)
        } else {
            let source = self.rng.below(cfg.sources as u64) as u32;
            let user = if self.rng.chance(0.75) {
                mix(source as u64 ^ 0x7573_6572) % cfg.users as u64
            } else {
                self.rng.below(cfg.users as u64)
            };
            (source, HUMANS + user as u32)
        };
        let host = if self.rng.chance(0.8) {
            mix(source as u64 ^ 0x686f_7374) % cfg.hosts as u64
        } else {
            self.rng.below(cfg.hosts as u64)
        } as u16;
        let password = !service && self.rng.chance(P_PASSWORD);
        let typos = if !password {
            0
        } else {
            match self.rng.below(10) {
                0..7 => 0,
                7..9 => 1,
                _ => 2,
            }
        };
        let sudos = if self.rng.chance(P_SUDO) { self.rng.range(1, 3) as u8 } else { 0 };
        Session {
            host,
            source,
            user,
            port: self.port(),
            pid: self.next_pid(),
            password,
            typos,
            sudos,
            tty: self.rng.below(8) as u8,
            sudo_command: 0,
            end: 0,
            step: if typos > 0 { SessionStep::PamFailure } else { SessionStep::Accepted },
        }
    }

    fn session_step(&mut self, s: &mut Session, time: i64, line: &mut String) -> Option<i64> {
        let host = &self.hosts[s.host as usize];
        let user = &self.accounts[s.user as usize];
        let ip = benign_ip(s.source);
        let (port, pid) = (s.port, s.pid);
        let rng = &mut self.rng;
        match s.step {
            SessionStep::PamFailure => {
                _ = write!(
                    line,
                    "{host} sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh \
                     ruser= rhost={ip}  user={user}"
                );
                s.step = SessionStep::Typo;
                Some(time + rng.span(SECOND, 3 * SECOND))
            }
            SessionStep::Typo => {
                _ = write!(line, "{host} sshd[{pid}]: Failed password for {user} from {ip} port {port} ssh2");
                s.typos -= 1;
                if s.typos == 0 {
                    s.step = SessionStep::Accepted;
                }
                Some(time + rng.span(2 * SECOND, 9 * SECOND))
            }
            SessionStep::Accepted => {
                if s.password {
                    _ = write!(line, "{host} sshd[{pid}]: Accepted password for {user} from {ip} port {port} ssh2");
                } else {
                    let h = mix(s.user as u64 ^ 0x006b_6579);
                    let key = KEY_TYPES[match h % 20 {
                        0..16 => 0,
                        16..19 => 1,
                        _ => 2,
                    }];
                    _ = write!(
                        line,
                        "{host} sshd[{pid}]: Accepted publickey for {user} from {ip} port {port} ssh2: {key} SHA256:"
                    );
                    let mut f = h;
                    for i in 0..43 {
                        if i % 10 == 0 {
                            f = mix(f);
                        }
                        line.push(BASE64[(f >> (6 * (i % 10))) as usize & 63] as char);
                    }
                }
                let duration = (rng.exp(MEAN_SESSION) + 5 * SECOND).min(8 * 60 * MINUTE);
                s.end = time + duration;
                s.step = SessionStep::Opened;
                Some(time + rng.span(2_000, 15_000))
            }
            SessionStep::Opened => {
                _ = write!(
                    line,
                    "{host} sshd[{pid}]: pam_unix(sshd:session): session opened for user {user} by (uid=0)"
                );
                self.after_session_activity(s, time)
            }
            SessionStep::SudoCommand => {
                s.sudo_command = rng.below(SUDO_COMMANDS.len() as u64) as u8;
                let command = SUDO_COMMANDS[s.sudo_command as usize];
                _ = write!(
                    line,
                    "{host} sudo:   {user} : TTY=pts/{} ; PWD=/home/{user} ; USER=root ; COMMAND={command}",
                    s.tty
                );
                s.step = SessionStep::SudoOpened;
                Some(time + rng.span(1_000, 8_000))
            }
            SessionStep::SudoOpened => {
                _ = write!(line, "{host} sudo: pam_unix(sudo:session): session opened for user root by {user}(uid=0)");
                s.step = SessionStep::SudoClosed;
                Some(time + rng.span(20_000, 5 * SECOND))
            }
            SessionStep::SudoClosed => {
                line.push_str(host);
                line.push_str(" sudo: pam_unix(sudo:session): session closed for user root");
                s.sudos -= 1;
                self.after_session_activity(s, time)
            }
            SessionStep::Disconnected => {
                _ = write!(line, "{host} sshd[{pid}]: Disconnected from user {user} {ip} port {port}");
                s.step = SessionStep::Closed;
                Some(time + rng.span(1_000, 6_000))
            }
            SessionStep::Closed => {
                _ = write!(line, "{host} sshd[{pid}]: pam_unix(sshd:session): session closed for user {user}");
                None
            }
        }
    }

    /// After the session opened or a sudo command ended: the next sudo
    /// command, or the disconnection at the end of the session.
    fn after_session_activity(&mut self, s: &mut Session, time: i64) -> Option<i64> {
        if s.sudos > 0 {
            let at = time + self.rng.exp((s.end - time).max(SECOND) as f64 / (s.sudos as f64 + 1.0));
            if at < s.end {
                s.step = SessionStep::SudoCommand;
                return Some(at);
            }
        }
        s.step = SessionStep::Disconnected;
        Some(s.end.max(time + 1_000))
    }

    // ------------------------------------------------------------ campaigns

    fn valid_account(&mut self) -> Account {
        let index = match self.rng.below(10) {
            0..5 => ROOT,
            5..7 => 1 + self.rng.below(SERVICE.len() as u64) as u32,
            _ => HUMANS + self.rng.below(self.cfg.users as u64) as u32,
        };
        Account { name: self.accounts[index as usize].clone(), valid: true, used: false }
    }

    fn new_campaign(&mut self) -> Campaign {
        let kind = match self.rng.below(10) {
            0..4 => Kind::BruteForce,
            4..7 => Kind::Spray,
            _ => Kind::Distributed,
        };
        let id = self.campaigns;
        self.campaigns += 1;
        let host = self.rng.below(self.cfg.hosts as u64) as u16;
        let source = |ip| Source { ip, left: 0, used: false };
        let mut campaign = Campaign {
            id,
            kind,
            host,
            sources: Vec::new(),
            accounts: Vec::new(),
            live: Vec::new(),
            attempts_left: 0,
            next_account: 0,
            gap: 0.0,
            succeed: false,
            success_account: 0,
            conn: None,
            attempts: 0,
            lines: 0,
            first: 0,
            last: 0,
            attempt_span: None,
            success: None,
        };
        match kind {
            Kind::BruteForce => {
                campaign.sources.push(source(self.next_attacker_ip()));
                campaign.accounts.push(self.valid_account());
                for _ in 0..self.rng.below(3) {
                    let account = if self.rng.chance(0.5) {
                        Account { name: self.rng.pick(&INVALID).to_string(), valid: false, used: false }
                    } else {
                        self.valid_account()
                    };
                    if campaign.accounts.iter().all(|a| a.name != account.name) {
                        campaign.accounts.push(account);
                    }
                }
                let attempts = self.rng.range(20, 300);
                campaign.attempts_left = attempts as u32;
                let duration = self.rng.span(MINUTE, 15 * MINUTE);
                campaign.gap = duration as f64 / attempts as f64;
                campaign.succeed = self.rng.chance(1.0 / 3.0);
            }
            Kind::Spray => {
                campaign.sources.push(source(self.next_attacker_ip()));
                let count = self.rng.range(30, 200);
                let invalid = ((count as f64 * (0.4 + 0.4 * self.rng.unit())) as u64).min(INVALID.len() as u64);
                let valid = (count - invalid).min(self.accounts.len() as u64);
                for i in distinct(&mut self.rng, INVALID.len() as u64, invalid) {
                    campaign.accounts.push(Account {
                        name: INVALID[i as usize].to_string(),
                        valid: false,
                        used: false,
                    });
                }
                for i in distinct(&mut self.rng, self.accounts.len() as u64, valid) {
                    campaign.accounts.push(Account {
                        name: self.accounts[i as usize].clone(),
                        valid: true,
                        used: false,
                    });
                }
                // Fisher-Yates: invalid and existing accounts interleaved.
                for i in (1..campaign.accounts.len()).rev() {
                    let j = self.rng.below(i as u64 + 1) as usize;
                    campaign.accounts.swap(i, j);
                }
                let duration = self.rng.span(3 * MINUTE, 30 * MINUTE);
                campaign.gap = duration as f64 / (campaign.accounts.len() as f64 * 1.5);
                let valid: Vec<usize> = (0..campaign.accounts.len()).filter(|&i| campaign.accounts[i].valid).collect();
                campaign.succeed = !valid.is_empty() && self.rng.chance(0.1);
                if campaign.succeed {
                    campaign.success_account = *self.rng.pick(&valid) as u16;
                }
            }
            Kind::Distributed => {
                let account = match self.rng.below(10) {
                    0..2 => Account { name: self.rng.pick(&INVALID[..4]).to_string(), valid: false, used: false },
                    _ => self.valid_account(),
                };
                campaign.succeed = account.valid && self.rng.chance(0.1);
                campaign.accounts.push(account);
                let count = self.rng.range(20, 100);
                let mut total = 0;
                for i in 0..count {
                    let left = self.rng.range(1, 5) as u16;
                    total += left as u64;
                    campaign.sources.push(Source { left, ..source(self.next_attacker_ip()) });
                    campaign.live.push(i as u16);
                }
                let duration = self.rng.span(5 * MINUTE, 40 * MINUTE);
                campaign.gap = duration as f64 / total as f64;
            }
        }
        campaign
    }

    /// The campaign's next connection, or `None` when it is over.
    fn next_conn(&mut self, c: &mut Campaign) -> Option<Conn> {
        let (source, account, fails, success) = match c.kind {
            Kind::BruteForce => {
                if c.attempts_left == 0 {
                    return None;
                }
                let fails = (self.rng.range(1, 6) as u32).min(c.attempts_left);
                c.attempts_left -= fails;
                let last = c.attempts_left == 0;
                let mut account = c.next_account % c.accounts.len() as u16;
                c.next_account += 1;
                if last && c.succeed {
                    account = 0;
                }
                (0, account, fails as u8, last && c.succeed)
            }
            Kind::Spray => {
                if c.next_account as usize == c.accounts.len() {
                    return None;
                }
                let account = c.next_account;
                c.next_account += 1;
                let tries = self.rng.range(1, 2) as u8;
                let success = c.succeed && account == c.success_account;
                (0, account, tries - u8::from(success), success)
            }
            Kind::Distributed => {
                if c.live.is_empty() {
                    return None;
                }
                let i = self.rng.below(c.live.len() as u64) as usize;
                let source = c.live[i];
                let s = &mut c.sources[source as usize];
                let tries = self.rng.range(1, s.left as u64) as u16;
                s.left -= tries;
                if s.left == 0 {
                    c.live.swap_remove(i);
                }
                let success = c.succeed && c.live.is_empty();
                (source, 0, (tries - u16::from(success)) as u8, success)
            }
        };
        let valid = c.accounts[account as usize].valid;
        let step = if !valid || fails > 0 { ConnStep::Pre } else { ConnStep::Accepted };
        Some(Conn { source, account, port: self.port(), pid: self.next_pid(), fails, failed: 0, success, step })
    }

    /// Writes the campaign's next line; returns when it acts next, or
    /// `None` when that was its last line.
    fn campaign_step(&mut self, c: &mut Campaign, time: i64, line: &mut String) -> Option<i64> {
        if c.conn.is_none() {
            c.conn = self.next_conn(c);
        }
        let conn = c.conn.as_mut().expect("a campaign is scheduled only while it has connections to make");
        let host = &self.hosts[c.host as usize];
        let source = &mut c.sources[conn.source as usize];
        source.used = true;
        let ip = source.ip;
        let account = &mut c.accounts[conn.account as usize];
        account.used = true;
        let (user, valid) = (&account.name, account.valid);
        let (port, pid) = (conn.port, conn.pid);
        let invalid = if valid { "" } else { "invalid user " };
        let who = if valid { "authenticating user" } else { "invalid user" };
        _ = write!(line, "{host} sshd[{pid}]: ");
        let rng = &mut self.rng;
        let short = rng.span(500, 200_000);
        let next = match conn.step {
            ConnStep::Pre => {
                if valid {
                    _ = write!(
                        line,
                        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  \
                         user={user}"
                    );
                } else {
                    _ = write!(line, "Invalid user {user} from {ip} port {port}");
                }
                conn.step = if conn.fails > 0 { ConnStep::Fail } else { ConnStep::Accepted };
                time + rng.span(100_000, 2 * SECOND)
            }
            ConnStep::Fail => {
                _ = write!(line, "Failed password for {invalid}{user} from {ip} port {port} ssh2");
                c.attempts += 1;
                conn.failed += 1;
                if conn.failed < conn.fails {
                    time + rng.exp(c.gap)
                } else if conn.success {
                    conn.step = ConnStep::Accepted;
                    time + rng.exp(c.gap)
                } else {
                    conn.step = if conn.fails >= 6 { ConnStep::MaxExceeded } else { ConnStep::Closed };
                    time + short
                }
            }
            ConnStep::MaxExceeded => {
                _ = write!(
                    line,
                    "error: maximum authentication attempts exceeded for {invalid}{user} from {ip} port {port} ssh2 \
                     [preauth]"
                );
                conn.step = ConnStep::Disconnecting;
                time + short
            }
            ConnStep::Disconnecting => {
                _ = write!(
                    line,
                    "Disconnecting {who} {user} {ip} port {port}: Too many authentication failures [preauth]"
                );
                conn.step = ConnStep::PamMore;
                time + short
            }
            ConnStep::Closed => {
                _ = write!(line, "Connection closed by {who} {user} {ip} port {port} [preauth]");
                conn.step = ConnStep::PamMore;
                time + short
            }
            ConnStep::PamMore => {
                // Only reached for existing accounts with two or more failures (see below).
                _ = write!(
                    line,
                    "PAM {} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}",
                    conn.fails - 1
                );
                c.conn = None;
                time + rng.exp(c.gap)
            }
            ConnStep::Accepted => {
                _ = write!(line, "Accepted password for {user} from {ip} port {port} ssh2");
                c.success = Some((conn.account, conn.source, i64::MIN)); // time filled in by `step`
                conn.step = ConnStep::Opened;
                time + rng.span(2_000, 15_000)
            }
            ConnStep::Opened => {
                _ = write!(line, "pam_unix(sshd:session): session opened for user {user} by (uid=0)");
                c.conn = None;
                time + rng.exp(c.gap)
            }
        };
        // The PAM summary line exists only for existing accounts that failed twice or more.
        if let Some(conn) = &mut c.conn
            && conn.step == ConnStep::PamMore
            && !(valid && conn.fails >= 2)
        {
            c.conn = None;
        }
        if c.conn.is_none() && !self.has_more(c) {
            return None;
        }
        Some(next)
    }

    fn has_more(&self, c: &Campaign) -> bool {
        match c.kind {
            Kind::BruteForce => c.attempts_left > 0,
            Kind::Spray => (c.next_account as usize) < c.accounts.len(),
            Kind::Distributed => !c.live.is_empty(),
        }
    }
}

// ---------------------------------------------------------------- main

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
