//! gen_authlog: actors.

use crate::*;

/// Something that writes lines over time: a benign SSH session, a cron job,
/// an attack campaign, or one of the spawners that create them.
pub(crate) enum Actor {
    LoginSpawner,
    CronSpawner,
    CampaignSpawner,
    Session(Session),
    Cron(Cron),
    Campaign(Box<Campaign>),
}

/// A scheduled actor; the heap pops the earliest (then the oldest) first.
pub(crate) struct Entry {
    pub(crate) time: i64,
    pub(crate) seq: u64,
    pub(crate) actor: Actor,
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
pub(crate) enum SessionStep {
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
pub(crate) struct Session {
    pub(crate) host: u16,
    pub(crate) source: u32,
    /// Index into `Generator::accounts`.
    pub(crate) user: u32,
    pub(crate) port: u16,
    pub(crate) pid: u32,
    pub(crate) password: bool,
    pub(crate) typos: u8,
    pub(crate) sudos: u8,
    pub(crate) tty: u8,
    pub(crate) sudo_command: u8,
    pub(crate) end: i64,
    pub(crate) step: SessionStep,
}

pub(crate) struct Cron {
    pub(crate) host: u16,
    pub(crate) pid: u32,
    pub(crate) user: &'static str,
    pub(crate) opened: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    BruteForce,
    Spray,
    Distributed,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::BruteForce => "brute_force",
            Kind::Spray => "password_spray",
            Kind::Distributed => "distributed_brute_force",
        }
    }
}

pub(crate) struct Account {
    pub(crate) name: String,
    pub(crate) valid: bool,
    pub(crate) used: bool,
}

pub(crate) struct Source {
    pub(crate) ip: Ipv4Addr,
    /// Attempts this address has left to make (distributed campaigns).
    pub(crate) left: u16,
    pub(crate) used: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ConnStep {
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
pub(crate) struct Conn {
    pub(crate) source: u16,
    pub(crate) account: u16,
    pub(crate) port: u16,
    pub(crate) pid: u32,
    pub(crate) fails: u8,
    pub(crate) failed: u8,
    pub(crate) success: bool,
    pub(crate) step: ConnStep,
}

pub(crate) struct Campaign {
    pub(crate) id: u64,
    pub(crate) kind: Kind,
    pub(crate) host: u16,
    pub(crate) sources: Vec<Source>,
    pub(crate) accounts: Vec<Account>,
    /// Distributed: the sources with attempts left.
    pub(crate) live: Vec<u16>,
    /// Brute force: failures still to make.
    pub(crate) attempts_left: u32,
    /// Brute force: connections made (round-robin over the accounts);
    /// spray: the next account.
    pub(crate) next_account: u16,
    /// Mean microseconds between attempts.
    pub(crate) gap: f64,
    pub(crate) succeed: bool,
    pub(crate) success_account: u16,
    pub(crate) conn: Option<Conn>,
    // What was written, for the manifest.
    pub(crate) attempts: u64,
    pub(crate) lines: u64,
    pub(crate) first: i64,
    pub(crate) last: i64,
    /// Earliest and latest `Failed password` line.
    pub(crate) attempt_span: Option<(i64, i64)>,
    pub(crate) success: Option<(u16, u16, i64)>,
}
