//! The syslog reader and auth.log semantics against real logs from loghub
//! (`../shared/data/linux`, see its LICENSE-loghub). The expected counts
//! were computed independently with grep/awk; the commands are beside each
//! assertion (run them in `shared/data/linux`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufReader;
use std::sync::Arc;

use ferret_model::{Event, FieldNames};
use ferret_read::syslog::SyslogReader;
use ferret_read::{ReadOptions, SourceContext};

struct Summary {
    names: Arc<FieldNames>,
    events: Vec<Event>,
    errors: Vec<String>,
    counts: (u64, u64),
}

impl Summary {
    fn get(&self, event: &Event, name: &str) -> Option<String> {
        event.get(&self.names, name).map(|v| v.to_string())
    }

    /// Events with `event.action` = `action` and `event.outcome` = `outcome`.
    fn actions(&self, action: &str, outcome: &str) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| {
                self.get(e, "event.action").as_deref() == Some(action)
                    && self.get(e, "event.outcome").as_deref() == Some(outcome)
            })
            .collect()
    }

    fn distinct(&self, events: &[&Event], field: &str) -> BTreeSet<String> {
        events.iter().filter_map(|e| self.get(e, field)).collect()
    }

    fn count_where(&self, events: &[&Event], field: &str, value: &str) -> usize {
        events.iter().filter(|e| self.get(e, field).as_deref() == Some(value)).count()
    }
}

/// Reads `name` from the shared data set, or `None` (with a note) when the
/// data set is not checked out next to this workspace.
fn read(name: &str) -> Option<Summary> {
    let path = common::shared_data(&format!("linux/{name}"))?;
    let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let names = FieldNames::new();
    let options = ReadOptions { assume_year: Some(2016), ..ReadOptions::default() };
    let ctx = SourceContext::new(name, names.clone(), options);
    let mut reader = SyslogReader::new(BufReader::new(file), ctx);
    let (mut events, mut errors) = (Vec::new(), Vec::new());
    for result in reader.by_ref() {
        match result {
            Ok(event) => events.push(event),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let counts = reader.counts();
    Some(Summary { names, events, errors, counts })
}

#[test]
fn openssh_2k_parses_fully_with_exact_auth_counts() {
    let Some(s) = read("OpenSSH_2k.log") else {
        return;
    };
    // 2,000 lines (the last has no newline, so `wc -l` says 1999).
    assert_eq!(s.errors, Vec::<String>::new());
    assert_eq!(s.counts, (2000, 0));
    assert_eq!(s.events.len(), 2000);
    assert!(s.events.iter().all(|e| s.get(e, "hostname").as_deref() == Some("LabSZ")));
    assert!(s.events.iter().all(|e| s.get(e, "program").as_deref() == Some("sshd")));
    assert_eq!(s.events[0].timestamp.unwrap().to_string(), "2016-12-10T06:55:46Z");
    assert_eq!(s.events[1999].timestamp.unwrap().to_string(), "2016-12-10T11:04:45Z");

    // grep -cE 'sshd\[[0-9]+\]: (message repeated [0-9]+ times: \[ )?Failed [^ ]+ for .* from [^ ]+ port [0-9]+ ssh2' OpenSSH_2k.log  → 524
    let failed = s.actions("ssh_login", "failure");
    assert_eq!(failed.len(), 524);
    // grep -cE 'Failed [^ ]+ for root from' OpenSSH_2k.log  → 370
    assert_eq!(s.count_where(&failed, "user.name", "root"), 370);
    // grep -cE 'sshd\[[0-9]+\]: Failed none ' OpenSSH_2k.log  → 4
    assert_eq!(s.count_where(&failed, "ssh.method", "none"), 4);
    // grep -oE 'Failed [^ ]+ for .* from [^ ]+ port [0-9]+ ssh2' OpenSSH_2k.log | awk '{print $(NF-3)}' | sort -u | wc -l  → 24
    assert_eq!(s.distinct(&failed, "source.ip").len(), 24);
    // grep -oE 'message repeated [0-9]+ times: \[ Failed' OpenSSH_2k.log | awk '{s+=$3} END {print s}'  → 10 over 2 lines
    let repeated: Vec<String> = failed.iter().filter_map(|e| s.get(e, "event.count")).collect();
    assert_eq!(repeated, ["5", "5"]);

    // grep -cE 'sshd\[[0-9]+\]: Accepted ' OpenSSH_2k.log  → 1
    let accepted = s.actions("ssh_login", "success");
    assert_eq!(accepted.len(), 1);
    assert_eq!(s.get(accepted[0], "user.name").as_deref(), Some("fztu"));
    assert_eq!(s.get(accepted[0], "source.ip").as_deref(), Some("119.137.62.142"));
    assert_eq!(s.get(accepted[0], "source.port").as_deref(), Some("49116"));

    // grep -cE 'sshd\[[0-9]+\]: Invalid user ' OpenSSH_2k.log  → 113
    let invalid = s.actions("ssh_invalid_user", "failure");
    assert_eq!(invalid.len(), 113);
    // grep -oE 'Invalid user .* from ' OpenSSH_2k.log | sed -E 's/^Invalid user //; s/ from $//' | sort -u | wc -l  → 57
    assert_eq!(s.distinct(&invalid, "user.name").len(), 57);

    // grep -cE 'sshd\[[0-9]+\]: (pam_unix\(sshd:auth\): authentication failure;|PAM [0-9]+ more authentication failures?;)' OpenSSH_2k.log  → 504
    let pam = s.actions("ssh_auth_failure", "failure");
    assert_eq!(pam.len(), 504);
    // ... | grep -cv ' user='  → 118 without a user
    assert_eq!(pam.iter().filter(|e| s.get(e, "user.name").is_none()).count(), 118);
    // ... | grep -oE 'rhost=[^ ]*' | grep -cvE 'rhost=[0-9.]+$'  → 7 host names
    assert_eq!(pam.iter().filter(|e| s.get(e, "source.address").is_some()).count(), 7);
    assert_eq!(pam.iter().filter(|e| s.get(e, "source.ip").is_some()).count(), 497);
    // grep -cE 'sshd\[[0-9]+\]: PAM [0-9]+ more authentication failures?;' OpenSSH_2k.log  → 10
    assert_eq!(pam.iter().filter(|e| s.get(e, "event.count").is_some()).count(), 10);

    // grep -cE 'sshd\[[0-9]+\]: (Disconnecting: Too many authentication failures|error: maximum authentication attempts exceeded)' OpenSSH_2k.log  → 3
    assert_eq!(s.actions("ssh_too_many_failures", "failure").len(), 3);
    // grep -c 'session opened' OpenSSH_2k.log; grep -c 'session closed' OpenSSH_2k.log  → 1, 1
    assert_eq!(s.actions("session_opened", "success").len(), 1);
    assert_eq!(s.actions("session_closed", "success").len(), 1);

    // Everything else is plain sshd chatter with no auth fields:
    // 2000 - 524 - 1 - 113 - 504 - 3 - 2 = 853.
    let plain = s.events.iter().filter(|e| s.get(e, "event.category").is_none()).count();
    assert_eq!(plain, 853);
}

#[test]
fn linux_2k_parses_fully_with_exact_auth_counts() {
    let Some(s) = read("Linux_2k.log") else {
        return;
    };
    assert_eq!(s.errors, Vec::<String>::new());
    assert_eq!(s.counts, (2000, 0));
    assert_eq!(s.events.len(), 2000);
    // awk '{print $1}' Linux_2k.log | uniq -c  → 604 Jun, then 1396 Jul: no rollover.
    assert_eq!(s.events[0].timestamp.unwrap().to_string(), "2016-06-14T15:16:01Z");
    assert_eq!(s.events[1999].timestamp.unwrap().to_string(), "2016-07-27T14:42:00Z");

    // grep -cE '^.{15} combo +(syslogd 1|--)' Linux_2k.log  → 8 untagged lines
    let untagged = s.events.iter().filter(|e| s.get(e, "program").is_none()).count();
    assert_eq!(untagged, 8);
    // awk '{print $5}' Linux_2k.log | sed 's/\[.*//' | grep -c '^ftpd'  → 916
    let ftpd = s.events.iter().filter(|e| s.get(e, "program").as_deref() == Some("ftpd")).count();
    assert_eq!(ftpd, 916);

    // grep -c 'sshd(pam_unix)\[[0-9]*\]: authentication failure;' Linux_2k.log  → 489
    let pam = s.actions("ssh_auth_failure", "failure");
    assert_eq!(pam.len(), 489);
    // ... | grep -c ' user=root'  → 351
    assert_eq!(s.count_where(&pam, "user.name", "root"), 351);
    // ... | grep -cE 'rhost=[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+ '  → 300 addresses, the rest host names
    assert_eq!(pam.iter().filter(|e| s.get(e, "source.ip").is_some()).count(), 300);
    assert_eq!(pam.iter().filter(|e| s.get(e, "source.address").is_some()).count(), 189);
    // ... | grep -oE 'rhost=[^ ]+' | sort -u | wc -l  → 47
    let hosts: BTreeSet<String> =
        pam.iter().filter_map(|e| s.get(e, "source.ip").or_else(|| s.get(e, "source.address"))).collect();
    assert_eq!(hosts.len(), 47);

    // grep -c 'su(pam_unix)\[[0-9]*\]: session opened' Linux_2k.log  → 86 (43 cyrus, 43 news)
    let su = s.actions("su_session", "success");
    assert_eq!(su.len(), 86);
    let targets: BTreeMap<String, usize> = su.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(s.get(e, "user.effective.name").unwrap()).or_default() += 1;
        m
    });
    assert_eq!(targets, BTreeMap::from([("cyrus".into(), 43), ("news".into(), 43)]));
    // grep -E '\(pam_unix\)\[[0-9]+\]: session opened' Linux_2k.log | grep -vc 'su(pam_unix)'  → 37 (sshd 36, login 1)
    assert_eq!(s.actions("session_opened", "success").len(), 37);
    // grep -cE '\(pam_unix\)\[[0-9]+\]: session closed' Linux_2k.log  → 123
    assert_eq!(s.actions("session_closed", "success").len(), 123);
    // grep -cE '\(pam_unix\)\[[0-9]+\]: authentication failure;' Linux_2k.log  → 490: the
    // sshd ones plus one from gdm, which has no action of its own.
    let failures = s.events.iter().filter(|e| s.get(e, "event.outcome").as_deref() == Some("failure")).count();
    assert_eq!(failures, 490);
}
