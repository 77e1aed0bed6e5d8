//! gen_authlog: the generator.

use crate::*;

/// Probabilities of benign sessions; `LINES_PER_SESSION` follows from them
/// and sets the login rate that gives `--rate` lines per second.
pub(crate) const P_SERVICE: f64 = 0.15;
pub(crate) const P_PASSWORD: f64 = 0.25;
pub(crate) const P_SUDO: f64 = 0.15;
pub(crate) const MEAN_SESSION: f64 = 10.0 * MINUTE as f64;
/// Accepted, session opened, Disconnected, session closed; sudo: 1-3
/// commands of 3 lines, of which about 10% do not fit before the session
/// ends; typos (human password logins): one pam_unix line and 1-2 failures
/// 30% of the time (0.3 + 0.4 lines).
pub(crate) const LINES_PER_SESSION: f64 = 4.0 + P_SUDO * 1.8 * 3.0 + (1.0 - P_SERVICE) * P_PASSWORD * 0.7;
/// Share of the lines that are cron sessions (two lines each).
pub(crate) const CRON_SHARE: f64 = 0.03;
/// Average lines of one campaign (measured).
pub(crate) const LINES_PER_CAMPAIGN: f64 = 390.0;

/// Counts for the summary.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Summary {
    pub(crate) lines: u64,
    pub(crate) first: Option<i64>,
    pub(crate) last: Option<i64>,
    pub(crate) attack_lines: u64,
    pub(crate) campaigns: [u64; 3],
    pub(crate) successes: u64,
}

pub(crate) struct Generator {
    pub(crate) cfg: Config,
    pub(crate) rng: Rng,
    pub(crate) hosts: Vec<String>,
    /// `root`, the service accounts, then the human users.
    pub(crate) accounts: Vec<String>,
    pub(crate) heap: BinaryHeap<Entry>,
    pub(crate) seq: u64,
    pub(crate) pid: u32,
    pub(crate) next_attacker: u32,
    pub(crate) campaigns: u64,
    pub(crate) clock: Clock,
    pub(crate) summary: Summary,
}

pub(crate) const ROOT: u32 = 0;
pub(crate) const HUMANS: u32 = 1 + SERVICE.len() as u32;

impl Generator {
    pub(crate) fn new(cfg: Config) -> Self {
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

    pub(crate) fn push(&mut self, time: i64, actor: Actor) {
        self.seq += 1;
        self.heap.push(Entry { time, seq: self.seq, actor });
    }

    pub(crate) fn next_pid(&mut self) -> u32 {
        self.pid += 1 + self.rng.below(40) as u32;
        if self.pid >= 4_194_304 {
            self.pid = 1000 + self.pid % 1000;
        }
        self.pid
    }

    pub(crate) fn port(&mut self) -> u16 {
        self.rng.range(32768, 60999) as u16
    }

    pub(crate) fn next_attacker_ip(&mut self) -> Ipv4Addr {
        let ip = attacker_ip(self.next_attacker);
        self.next_attacker += 1;
        ip
    }

    pub(crate) fn attack_share(&self) -> f64 {
        if self.cfg.campaign_every == 0 { 0.0 } else { LINES_PER_CAMPAIGN / self.cfg.campaign_every as f64 }
    }

    /// Mean microseconds between two benign logins.
    pub(crate) fn login_interval(&self) -> f64 {
        let benign = (1.0 - CRON_SHARE - self.attack_share()).max(0.05);
        SECOND as f64 * LINES_PER_SESSION / (self.cfg.rate * benign)
    }

    pub(crate) fn cron_interval(&self) -> f64 {
        SECOND as f64 * 2.0 / (self.cfg.rate * CRON_SHARE)
    }

    pub(crate) fn campaign_interval(&mut self) -> i64 {
        let mean = SECOND as f64 * self.cfg.campaign_every as f64 / self.cfg.rate;
        self.rng.exp(mean)
    }

    /// Writes the whole output: `cfg.events` lines to `out`, and the
    /// manifest to `truth` when given.
    pub(crate) fn run(&mut self, out: &mut dyn Write, mut truth: Option<&mut dyn Write>) -> io::Result<()> {
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
