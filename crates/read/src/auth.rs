//! auth.log semantics: the ECS-style fields of `docs/FIELDS.md`
//! (`event.action`, `user.name`, `source.ip`...) for the messages of sshd,
//! sudo, su, the shadow-utils tools and pam_unix.
//!
//! Recognition is by exact message shape. A line of a known program whose
//! message does not fit a shape gets no fields at all: a wrong `user.name`
//! is worse than none, since rules and analysts trust these fields.
//!
//! Decisions beyond the table in `docs/FIELDS.md`:
//!
//! * `message repeated N times: [ inner ]` (rsyslog's de-duplication) is
//!   read as `inner`, plus `event.count` = N.
//! * `PAM N more authentication failures; ...` (pam_unix's summary of the
//!   failures it did not log one by one) is `ssh_auth_failure` with
//!   `event.count` = N.
//! * `Failed <method> for ...` is an `ssh_login` failure for every method,
//!   `none` included: it is still a login attempt.
//! * pam_unix lines are recognised in both the modern form
//!   (`sshd: pam_unix(sshd:auth): ...`) and the old Red Hat one
//!   (`sshd(pam_unix)[pid]: ...`). For services that switch identity (`su`,
//!   `su-l`, `sudo`, `sudo-i`) the session's user is `user.effective.name`
//!   and the invoking user (`by alice(uid=1000)`) is `user.name`.
//! * An su session opening is `su_session`; its closing, like any other
//!   service's, is `session_closed`.
//! * `event.category` follows the line, not only the action: pam session
//!   lines are `session` (an su session opening too), su's own
//!   success/failure lines and all authentication failures are
//!   `authentication`, sudo commands `process`, account changes `iam`.
//! * A pam_unix authentication failure of a service other than sshd or su
//!   (gdm, login, sudo...) gets `event.category`, `event.outcome` and the
//!   user/remote fields, but no `event.action`: none in the table fits.
//! * A remote host that is not an IP address (sshd with `UseDNS`, PAM's
//!   `rhost=`) goes to `source.address` instead of `source.ip`.
//! * `user.name` is omitted when empty; otherwise it is kept exactly, even
//!   with spaces (OpenSSH logs `Invalid user  0101` for the name ` 0101`).

use std::net::IpAddr;

use ferret_model::{Event, FieldCache, Value};

const AUTHENTICATION: &str = "authentication";
const IAM: &str = "iam";
const SESSION: &str = "session";
const PROCESS: &str = "process";
const SUCCESS: &str = "success";
const FAILURE: &str = "failure";

/// Adds the auth.log fields for one syslog line of `program` with
/// `message` (the text after `program[pid]: `), if it is a known shape.
pub fn annotate(event: &mut Event, program: &str, message: &str, fields: &mut FieldCache) {
    let (message, repeated) = match split_repeated(message) {
        Some((count, inner)) => (inner, Some(count)),
        None => (message, None),
    };
    if let Some(mut auth) = classify(program, message) {
        if repeated.is_some() {
            auth.count = repeated;
        }
        auth.emit(event, fields);
    }
}

/// What one message means, before it becomes fields.
#[derive(Debug, Default)]
struct Auth<'a> {
    category: &'static str,
    action: Option<&'static str>,
    outcome: &'static str,
    user: Option<&'a str>,
    effective: Option<&'a str>,
    source: Option<&'a str>,
    port: Option<&'a str>,
    method: Option<&'a str>,
    command_line: Option<&'a str>,
    group: Option<&'a str>,
    /// sudo's own `KEY=value` fields, in line order.
    sudo: Vec<(&'static str, &'a str)>,
    count: Option<&'a str>,
}

impl<'a> Auth<'a> {
    fn new(category: &'static str, action: &'static str, outcome: &'static str) -> Self {
        Self { category, action: Some(action), outcome, ..Self::default() }
    }

    fn emit(self, event: &mut Event, fields: &mut FieldCache) {
        let mut put = |name: &str, value: Value| event.push(fields.intern(name), value);
        put("event.category", Value::text(self.category));
        if let Some(action) = self.action {
            put("event.action", Value::text(action));
        }
        put("event.outcome", Value::text(self.outcome));
        let texts = [("user.name", self.user), ("user.effective.name", self.effective)];
        for (name, value) in texts {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                put(name, Value::text(value));
            }
        }
        if let Some(source) = self.source.filter(|s| !s.is_empty()) {
            let name = match source.parse::<IpAddr>() {
                Ok(_) => "source.ip",
                Err(_) => "source.address",
            };
            put(name, Value::text(source));
        }
        if let Some(port) = self.port {
            put("source.port", Value::number(port));
        }
        let texts =
            [("ssh.method", self.method), ("process.command_line", self.command_line), ("group.name", self.group)];
        for (name, value) in texts {
            if let Some(value) = value {
                put(name, Value::text(value));
            }
        }
        for (name, value) in self.sudo {
            put(name, Value::text(value));
        }
        if let Some(count) = self.count {
            put("event.count", Value::number(count));
        }
    }
}

/// `message repeated 5 times: [ Failed password for ...]` → ("5", inner).
fn split_repeated(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("message repeated ")?;
    let (count, rest) = rest.split_once(" times: [")?;
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let inner = rest.trim_end();
    let inner = inner.strip_suffix(']').unwrap_or(inner);
    Some((count, inner.trim()))
}

fn classify<'a>(program: &'a str, message: &'a str) -> Option<Auth<'a>> {
    if let Some(rest) = message.strip_prefix("pam_unix(") {
        let (scope, rest) = rest.split_once("): ")?;
        let service = scope.split_once(':').map_or(scope, |(service, _)| service);
        return pam(service, rest);
    }
    if let Some(service) = program.strip_suffix("(pam_unix)") {
        return pam(service, message);
    }
    let name = program.rsplit('/').next().unwrap_or(program);
    match name {
        // OpenSSH 9.8 split sshd; its per-connection processes log as
        // `sshd-session` and `sshd-auth`.
        "sshd" | "sshd-session" | "sshd-auth" => sshd(message.trim_end()),
        "sudo" => sudo(message.trim()),
        "su" => su(message.trim_end()),
        "useradd" | "userdel" | "usermod" | "groupadd" | "gpasswd" | "passwd" | "chpasswd" => {
            shadow(message.trim_end())
        }
        _ => None,
    }
}

fn sshd(msg: &str) -> Option<Auth<'_>> {
    if let Some(rest) = msg.strip_prefix("Accepted ") {
        return ssh_login(rest, SUCCESS);
    }
    if let Some(rest) = msg.strip_prefix("Failed ") {
        return ssh_login(rest, FAILURE);
    }
    if let Some(rest) = msg.strip_prefix("Invalid user ") {
        let (user, source, port) = user_from(rest)?;
        return Some(Auth {
            user: Some(user),
            source: Some(source),
            port,
            ..Auth::new(AUTHENTICATION, "ssh_invalid_user", FAILURE)
        });
    }
    if let Some(rest) = msg.strip_prefix("error: maximum authentication attempts exceeded for ") {
        let (user, source, port) = user_from(rest)?;
        return Some(too_many(Some(user), Some(source), port));
    }
    if let Some(rest) = msg.strip_prefix("Disconnecting") {
        return disconnecting(rest);
    }
    if let Some(rest) = msg.strip_prefix("PAM ") {
        let (count, rest) = rest.split_once(" more authentication failure")?;
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (_, kv) = rest.split_once("; ")?;
        let kv = PamKv::parse(kv);
        return Some(Auth {
            user: kv.user,
            source: kv.rhost,
            count: Some(count),
            ..Auth::new(AUTHENTICATION, "ssh_auth_failure", FAILURE)
        });
    }
    None
}

/// After `Accepted `/`Failed `: `METHOD for [invalid user ]USER from HOST
/// port PORT ssh2[: KEY]`.
fn ssh_login<'a>(rest: &'a str, outcome: &'static str) -> Option<Auth<'a>> {
    let (method, rest) = rest.split_once(" for ")?;
    if method.is_empty() || method.contains(' ') {
        return None;
    }
    let (user, source, port) = user_from(rest)?;
    Some(Auth {
        user: Some(user),
        source: Some(source),
        port,
        method: Some(method),
        ..Auth::new(AUTHENTICATION, "ssh_login", outcome)
    })
}

/// `[invalid user ]USER from HOST[ port PORT][ ...]`. The last ` from `
/// splits, so a user name containing ` from ` stays whole.
fn user_from(rest: &str) -> Option<(&str, &str, Option<&str>)> {
    let at = rest.rfind(" from ")?;
    let user = &rest[..at];
    let user = user.strip_prefix("invalid user ").unwrap_or(user);
    let mut words = rest[at + 6..].split(' ');
    let host = words.next().filter(|h| !h.is_empty())?;
    let port = match words.next() {
        Some("port") => Some(words.next().filter(|p| is_digits(p))?),
        _ => None,
    };
    Some((user, host, port))
}

fn too_many<'a>(user: Option<&'a str>, source: Option<&'a str>, port: Option<&'a str>) -> Auth<'a> {
    Auth { user, source, port, ..Auth::new(AUTHENTICATION, "ssh_too_many_failures", FAILURE) }
}

/// After `Disconnecting`: `: Too many authentication failures[ for USER]
/// [preauth]` (OpenSSH < 7.5) or ` authenticating user USER HOST port
/// PORT: Too many authentication failures [preauth]` (and `invalid user`).
fn disconnecting(rest: &str) -> Option<Auth<'_>> {
    const TOO_MANY: &str = "Too many authentication failures";
    let rest = rest.strip_suffix(" [preauth]").unwrap_or(rest);
    if let Some(tail) = rest.strip_prefix(": ").and_then(|r| r.strip_prefix(TOO_MANY)) {
        return match tail {
            "" => Some(too_many(None, None, None)),
            _ => Some(too_many(Some(tail.strip_prefix(" for ")?), None, None)),
        };
    }
    let who = rest.strip_suffix(TOO_MANY)?.strip_suffix(": ")?;
    let who = who.strip_prefix(" authenticating user ").or_else(|| who.strip_prefix(" invalid user "))?;
    // USER HOST port PORT, split from the right (the user may hold spaces).
    let (who, port) = who.rsplit_once(" port ")?;
    let (user, host) = who.rsplit_once(' ')?;
    Some(too_many(Some(user), Some(host), Some(port).filter(|p| is_digits(p))))
}

/// The `key=value` pairs of a pam_unix failure line that name people.
#[derive(Default)]
struct PamKv<'a> {
    logname: Option<&'a str>,
    ruser: Option<&'a str>,
    rhost: Option<&'a str>,
    user: Option<&'a str>,
}

impl<'a> PamKv<'a> {
    fn parse(kv: &'a str) -> Self {
        let mut out = Self::default();
        for (key, value) in kv.split_whitespace().filter_map(|t| t.split_once('=')) {
            let value = Some(value).filter(|v| !v.is_empty());
            match key {
                "logname" => out.logname = value,
                "ruser" => out.ruser = value,
                "rhost" => out.rhost = value,
                "user" => out.user = value,
                _ => {}
            }
        }
        out
    }
}

/// A pam_unix message of `service` (`sshd`, `su`, `sudo`...).
fn pam<'a>(service: &'a str, rest: &'a str) -> Option<Auth<'a>> {
    let rest = rest.trim_end();
    let su = matches!(service, "su" | "su-l");
    let switches = su || matches!(service, "sudo" | "sudo-i");
    if let Some(kv) = rest.strip_prefix("authentication failure; ") {
        let kv = PamKv::parse(kv);
        return Some(match service {
            "sshd" => {
                Auth { user: kv.user, source: kv.rhost, ..Auth::new(AUTHENTICATION, "ssh_auth_failure", FAILURE) }
            }
            _ if su => Auth {
                user: kv.ruser.or(kv.logname),
                effective: kv.user,
                ..Auth::new(AUTHENTICATION, "su_session", FAILURE)
            },
            _ => {
                Auth { category: AUTHENTICATION, outcome: FAILURE, user: kv.user, source: kv.rhost, ..Auth::default() }
            }
        });
    }
    if let Some(rest) = rest.strip_prefix("session opened for user ") {
        let (target, by) = match rest.split_once(" by ") {
            Some((target, by)) => (without_uid(target), Some(without_uid(by))),
            None => (without_uid(rest), None),
        };
        let action = if su { "su_session" } else { "session_opened" };
        let auth = Auth::new(SESSION, action, SUCCESS);
        return Some(match switches {
            true => Auth { user: by, effective: Some(target), ..auth },
            false => Auth { user: Some(target), ..auth },
        });
    }
    if let Some(user) = rest.strip_prefix("session closed for user ") {
        let user = without_uid(user);
        let auth = Auth::new(SESSION, "session_closed", SUCCESS);
        return Some(match switches {
            true => Auth { effective: Some(user), ..auth },
            false => Auth { user: Some(user), ..auth },
        });
    }
    if let Some(user) = rest.strip_prefix("password changed for ") {
        return Some(Auth { user: Some(user), ..Auth::new(IAM, "password_changed", SUCCESS) });
    }
    None
}

/// `root(uid=0)` → `root`; `(uid=0)` → `` (pam names no one).
fn without_uid(who: &str) -> &str {
    match who.find("(uid=") {
        Some(at) if who.ends_with(')') => &who[..at],
        _ => who,
    }
}

/// `alice : [REASON ; ]TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash`.
/// A leading segment that is not `KEY=value` is why sudo refused.
fn sudo(msg: &str) -> Option<Auth<'_>> {
    let (user, mut rest) = msg.split_once(" : ")?;
    if user.is_empty() || user.contains(char::is_whitespace) {
        return None;
    }
    let mut auth = Auth { user: Some(user), ..Auth::new(PROCESS, "sudo_command", SUCCESS) };
    let mut first = true;
    loop {
        // COMMAND comes last and may itself contain ` ; `.
        if let Some(command) = rest.strip_prefix("COMMAND=") {
            auth.command_line = Some(command);
            auth.sudo.push(("COMMAND", command));
            break;
        }
        let (segment, next) = rest.split_once(" ; ").unwrap_or((rest, ""));
        match segment.split_once('=') {
            Some((key, value)) if !key.is_empty() && key.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
                match key {
                    "TTY" => auth.sudo.push(("TTY", value)),
                    "PWD" => auth.sudo.push(("PWD", value)),
                    "USER" => {
                        auth.effective = Some(value);
                        auth.sudo.push(("USER", value));
                    }
                    _ => {}
                }
            }
            _ if first => auth.outcome = FAILURE,
            _ => return None,
        }
        first = false;
        if next.is_empty() {
            break;
        }
        rest = next;
    }
    (!auth.sudo.is_empty()).then_some(auth)
}

fn su(msg: &str) -> Option<Auth<'_>> {
    // shadow-utils: `Successful su for root by alice`, `FAILED su for root by alice`.
    for (prefix, outcome) in [("Successful su for ", SUCCESS), ("FAILED su for ", FAILURE)] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let (target, by) = rest.split_once(" by ")?;
            return Some(su_session(by, target, outcome));
        }
    }
    // util-linux: `(to root) alice on pts/0`, `FAILED SU (to root) alice on pts/0`.
    let (rest, outcome) = match msg.strip_prefix("FAILED SU ") {
        Some(rest) => (rest, FAILURE),
        None => (msg, SUCCESS),
    };
    let (target, rest) = rest.strip_prefix("(to ")?.split_once(") ")?;
    let (by, _tty) = rest.rsplit_once(" on ")?;
    Some(su_session(by, target, outcome))
}

fn su_session<'a>(by: &'a str, target: &'a str, outcome: &'static str) -> Auth<'a> {
    Auth { user: Some(by), effective: Some(target), ..Auth::new(AUTHENTICATION, "su_session", outcome) }
}

/// shadow-utils: useradd, userdel, usermod, groupadd, gpasswd, passwd.
fn shadow(msg: &str) -> Option<Auth<'_>> {
    let iam = |action| Auth::new(IAM, action, SUCCESS);
    if let Some(rest) = msg.strip_prefix("new user: name=") {
        return Some(Auth { user: Some(up_to_comma(rest)), ..iam("user_created") });
    }
    if let Some(rest) = msg.strip_prefix("new group: name=") {
        return Some(Auth { group: Some(up_to_comma(rest)), ..iam("group_created") });
    }
    if let Some(rest) = msg.strip_prefix("delete user ") {
        let (user, "") = quoted(rest)? else {
            return None;
        };
        return Some(Auth { user: Some(user), ..iam("user_deleted") });
    }
    // `add 'bob' to group 'sudo'`; the `to shadow group` twin is the same
    // change written to /etc/gshadow, so it is not counted again.
    if let Some(rest) = msg.strip_prefix("add ") {
        let (user, rest) = quoted(rest)?;
        let (group, "") = quoted(rest.strip_prefix(" to group ")?)? else {
            return None;
        };
        return Some(Auth { user: Some(user), group: Some(group), ..iam("user_added_to_group") });
    }
    // gpasswd: `user bob added by root to group sudo`.
    if let Some(rest) = msg.strip_prefix("user ") {
        let (user, rest) = rest.split_once(" added by ")?;
        let (_by, group) = rest.split_once(" to group ")?;
        return Some(Auth { user: Some(user), group: Some(group), ..iam("user_added_to_group") });
    }
    // passwd: `password for 'bob' changed by 'root'`.
    if let Some(rest) = msg.strip_prefix("password for ") {
        let (user, rest) = quoted(rest)?;
        rest.strip_prefix(" changed by ")?;
        return Some(Auth { user: Some(user), ..iam("password_changed") });
    }
    // usermod -p: `change user 'bob' password`.
    if let Some(rest) = msg.strip_prefix("change user ") {
        let (user, " password") = quoted(rest)? else {
            return None;
        };
        return Some(Auth { user: Some(user), ..iam("password_changed") });
    }
    None
}

fn up_to_comma(s: &str) -> &str {
    s.split_once(',').map_or(s, |(value, _)| value)
}

/// `'text'rest` → (`text`, `rest`).
fn quoted(s: &str) -> Option<(&str, &str)> {
    s.strip_prefix('\'')?.split_once('\'')
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
