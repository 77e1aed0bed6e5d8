//! Tests of the auth.log semantics, one per message family.
use ferret_model::{FieldNames, Location, Provenance, SourceKind};

use super::*;

fn annotated(program: &str, message: &str) -> (Event, std::sync::Arc<FieldNames>) {
    let names = FieldNames::new();
    let mut cache = FieldCache::new(names.clone());
    let provenance = Provenance { source: "auth.log".into(), location: Location::Line(1) };
    let mut event = Event::new(SourceKind::Syslog, provenance);
    annotate(&mut event, program, message, &mut cache);
    (event, names)
}

/// Asserts the exact fields `annotate` adds, in order. `expected` is
/// `name=value` pairs separated by `|`, with shorthands for the three
/// leading fields: `@authentication ssh_login failure` stands for
/// `event.category`, `event.action` and `event.outcome` (`-` for no
/// action).
fn check<E: AsRef<str>>(cases: &[(&str, &str, E)]) {
    for (program, message, expected) in cases {
        let (event, names) = annotated(program, message);
        let got: Vec<String> = event.fields.iter().map(|(f, v)| format!("{}={v}", names.resolve(*f))).collect();
        let mut want = Vec::new();
        for part in expected.as_ref().split('|').filter(|p| !p.is_empty()) {
            match part.strip_prefix('@') {
                Some(head) => {
                    let [category, action, outcome] = head.split(' ').collect::<Vec<_>>()[..] else {
                        panic!("bad shorthand {head}");
                    };
                    want.push(format!("event.category={category}"));
                    if action != "-" {
                        want.push(format!("event.action={action}"));
                    }
                    want.push(format!("event.outcome={outcome}"));
                }
                None => want.push(part.to_owned()),
            }
        }
        assert_eq!(got, want, "{program}: {message}");
    }
}

#[test]
fn ssh_login_success_and_failure() {
    check(&[
        (
            "sshd",
            "Accepted password for root from 203.0.113.7 port 52144 ssh2",
            "@authentication ssh_login success|user.name=root|source.ip=203.0.113.7|source.port=52144|ssh.method=password",
        ),
        (
            "sshd",
            "Accepted publickey for alice from 2001:db8::5 port 50000 ssh2: RSA SHA256:AbCdEf",
            "@authentication ssh_login success|user.name=alice|source.ip=2001:db8::5|source.port=50000|ssh.method=publickey",
        ),
        (
            "sshd",
            "Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2",
            "@authentication ssh_login failure|user.name=admin|source.ip=203.0.113.7|source.port=52144|ssh.method=password",
        ),
        (
            "sshd",
            "Failed password for root from 203.0.113.7 port 52144 ssh2",
            "@authentication ssh_login failure|user.name=root|source.ip=203.0.113.7|source.port=52144|ssh.method=password",
        ),
        (
            "sshd-session",
            "Failed keyboard-interactive/pam for bob from host.example.com port 22 ssh2",
            "@authentication ssh_login failure|user.name=bob|source.address=host.example.com|source.port=22|ssh.method=keyboard-interactive/pam",
        ),
        // The user name is kept exactly as OpenSSH wrote it.
        (
            "sshd",
            "Failed none for invalid user  0101 from 187.12.249.74 port 40672 ssh2",
            "@authentication ssh_login failure|user.name= 0101|source.ip=187.12.249.74|source.port=40672|ssh.method=none",
        ),
        // rsyslog's de-duplication: the inner message, counted.
        (
            "sshd",
            "message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]",
            "@authentication ssh_login failure|user.name=root|source.ip=5.36.59.76|source.port=42393|ssh.method=password|event.count=5",
        ),
        ("sshd", "message repeated 2 times: [ Connection closed by 1.2.3.4 [preauth]]", ""),
    ]);
    let (event, names) =
        annotated("sshd", "message repeated 5 times: [ Accepted password for root from 203.0.113.7 port 52144 ssh2]");
    assert_eq!(event.get(&names, "source.port"), Some(&Value::Number("52144".into())));
    assert_eq!(event.get(&names, "event.count"), Some(&Value::Number("5".into())));
}

#[test]
fn ssh_invalid_user_with_and_without_port() {
    check(&[
        (
            "sshd",
            "Invalid user admin from 203.0.113.7",
            "@authentication ssh_invalid_user failure|user.name=admin|source.ip=203.0.113.7",
        ),
        (
            "sshd",
            "Invalid user admin from 203.0.113.7 port 52144",
            "@authentication ssh_invalid_user failure|user.name=admin|source.ip=203.0.113.7|source.port=52144",
        ),
        // An empty user name is omitted rather than pushed as "".
        (
            "sshd",
            "Invalid user  from 203.0.113.7 port 1",
            "@authentication ssh_invalid_user failure|source.ip=203.0.113.7|source.port=1",
        ),
    ]);
}

#[test]
fn ssh_auth_failure_from_pam() {
    check(&[
        (
            "sshd",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root",
            "@authentication ssh_auth_failure failure|user.name=root|source.ip=203.0.113.7",
        ),
        (
            "sshd",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=ec2-52-80-34-196.cn-north-1.compute.amazonaws.com.cn ",
            "@authentication ssh_auth_failure failure|source.address=ec2-52-80-34-196.cn-north-1.compute.amazonaws.com.cn",
        ),
        // Old Red Hat form: the service is in the tag.
        (
            "sshd(pam_unix)",
            "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4  user=guest",
            "@authentication ssh_auth_failure failure|user.name=guest|source.ip=218.188.2.4",
        ),
        (
            "sshd",
            "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=106.5.5.195  user=root",
            "@authentication ssh_auth_failure failure|user.name=root|source.ip=106.5.5.195|event.count=5",
        ),
        (
            "sshd",
            "PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=::ffff:10.1.2.3",
            "@authentication ssh_auth_failure failure|source.ip=::ffff:10.1.2.3|event.count=1",
        ),
        // Another service: category and outcome, but no action fits.
        (
            "gdm(pam_unix)",
            "authentication failure; logname= uid=0 euid=0 tty=:0 ruser= rhost= ",
            "@authentication - failure",
        ),
        ("sshd", "pam_unix(sshd:auth): check pass; user unknown", ""),
    ]);
}

#[test]
fn ssh_too_many_failures_in_all_openssh_wordings() {
    check(&[
        (
            "sshd",
            "error: maximum authentication attempts exceeded for invalid user admin from 203.0.113.7 port 52144 ssh2 [preauth]",
            "@authentication ssh_too_many_failures failure|user.name=admin|source.ip=203.0.113.7|source.port=52144",
        ),
        (
            "sshd",
            "error: maximum authentication attempts exceeded for root from 203.0.113.7 port 52144 ssh2 [preauth]",
            "@authentication ssh_too_many_failures failure|user.name=root|source.ip=203.0.113.7|source.port=52144",
        ),
        (
            "sshd",
            "Disconnecting: Too many authentication failures [preauth]",
            "@authentication ssh_too_many_failures failure",
        ),
        ("sshd", "Disconnecting: Too many authentication failures", "@authentication ssh_too_many_failures failure"),
        (
            "sshd",
            "Disconnecting: Too many authentication failures for root [preauth]",
            "@authentication ssh_too_many_failures failure|user.name=root",
        ),
        (
            "sshd",
            "Disconnecting authenticating user root 203.0.113.7 port 52144: Too many authentication failures [preauth]",
            "@authentication ssh_too_many_failures failure|user.name=root|source.ip=203.0.113.7|source.port=52144",
        ),
        (
            "sshd",
            "Disconnecting invalid user admin 203.0.113.7 port 52144: Too many authentication failures [preauth]",
            "@authentication ssh_too_many_failures failure|user.name=admin|source.ip=203.0.113.7|source.port=52144",
        ),
        ("sshd", "Disconnecting: Change of username or service not allowed", ""),
    ]);
}

#[test]
fn sessions_opened_and_closed() {
    check(&[
        (
            "sshd",
            "pam_unix(sshd:session): session opened for user root by (uid=0)",
            "@session session_opened success|user.name=root",
        ),
        (
            "sshd",
            "pam_unix(sshd:session): session opened for user root(uid=0) by root(uid=0)",
            "@session session_opened success|user.name=root",
        ),
        (
            "sshd",
            "pam_unix(sshd:session): session closed for user root",
            "@session session_closed success|user.name=root",
        ),
        (
            "sshd(pam_unix)",
            "session opened for user test by (uid=509)",
            "@session session_opened success|user.name=test",
        ),
        (
            "sudo",
            "pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
            "@session session_opened success|user.name=alice|user.effective.name=root",
        ),
        (
            "sudo",
            "pam_unix(sudo:session): session closed for user root",
            "@session session_closed success|user.effective.name=root",
        ),
        (
            "login(pam_unix)",
            "session opened for user root by LOGIN(uid=0)",
            "@session session_opened success|user.name=root",
        ),
        (
            "CRON",
            "pam_unix(cron:session): session opened for user root by (uid=0)",
            "@session session_opened success|user.name=root",
        ),
    ]);
}

#[test]
fn sudo_commands_and_refusals() {
    check(&[
        (
            "sudo",
            "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash",
            "@process sudo_command success|user.name=alice|user.effective.name=root|process.command_line=/bin/bash\
          |TTY=pts/0|PWD=/home/alice|USER=root|COMMAND=/bin/bash",
        ),
        // COMMAND runs to the end of the line, ` ; ` and all.
        (
            "sudo",
            "alice : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id -u ; echo x",
            "@process sudo_command failure|user.name=alice|user.effective.name=root|process.command_line=/usr/bin/id -u ; echo x\
          |TTY=pts/1|PWD=/tmp|USER=root|COMMAND=/usr/bin/id -u ; echo x",
        ),
        (
            "sudo",
            "bob : user NOT in sudoers ; TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls",
            "@process sudo_command failure|user.name=bob|user.effective.name=root|process.command_line=/bin/ls\
          |TTY=pts/0|PWD=/home/bob|USER=root|COMMAND=/bin/ls",
        ),
        (
            "sudo",
            "alice : TTY=pts/0 ; PWD=/ ; USER=root ; TSID=000001 ; COMMAND=/usr/bin/true",
            "@process sudo_command success|user.name=alice|user.effective.name=root|process.command_line=/usr/bin/true\
          |TTY=pts/0|PWD=/|USER=root|COMMAND=/usr/bin/true",
        ),
        ("sudo", "alice : unknown ; stuff ; here", ""),
        ("sudo", "pam_unix(sudo:auth): conversation failed", ""),
    ]);
}

#[test]
fn su_sessions_in_shadow_util_linux_and_pam_forms() {
    let people = "|user.name=alice|user.effective.name=root";
    let cases = [
        ("su", "Successful su for root by alice", "@authentication su_session success"),
        ("su", "FAILED su for root by alice", "@authentication su_session failure"),
        ("su", "(to root) alice on pts/0", "@authentication su_session success"),
        ("su", "FAILED SU (to root) alice on pts/0", "@authentication su_session failure"),
        ("su", "pam_unix(su:session): session opened for user root by alice(uid=1000)", "@session su_session success"),
        (
            "su",
            "pam_unix(su-l:session): session opened for user root(uid=0) by alice(uid=1000)",
            "@session su_session success",
        ),
        (
            "su",
            "pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=root",
            "@authentication su_session failure",
        ),
    ];
    check(&cases.map(|(program, message, head)| (program, message, format!("{head}{people}"))));
    check(&[
        // pam names no invoking user here, so none is guessed.
        (
            "su(pam_unix)",
            "session opened for user cyrus by (uid=0)",
            "@session su_session success|user.effective.name=cyrus",
        ),
        ("su(pam_unix)", "session closed for user cyrus", "@session session_closed success|user.effective.name=cyrus"),
        ("su", "+ pts/0 alice:root", ""),
    ]);
}

#[test]
fn account_and_group_changes() {
    check(&[
        (
            "useradd",
            "new user: name=backdoor, UID=1001, GID=1001, home=/home/backdoor, shell=/bin/bash, from=/dev/pts/0",
            "@iam user_created success|user.name=backdoor",
        ),
        ("userdel", "delete user 'backdoor'", "@iam user_deleted success|user.name=backdoor"),
        ("groupadd", "new group: name=backdoor, GID=1001", "@iam group_created success|group.name=backdoor"),
        ("useradd", "new group: name=backdoor, GID=1001", "@iam group_created success|group.name=backdoor"),
        (
            "usermod",
            "add 'backdoor' to group 'sudo'",
            "@iam user_added_to_group success|user.name=backdoor|group.name=sudo",
        ),
        (
            "gpasswd",
            "user backdoor added by root to group sudo",
            "@iam user_added_to_group success|user.name=backdoor|group.name=sudo",
        ),
        // The /etc/gshadow twins of lines above: not counted twice.
        ("usermod", "add 'backdoor' to shadow group 'sudo'", ""),
        ("groupadd", "group added to /etc/group: name=backdoor, GID=1001", ""),
        (
            "passwd",
            "pam_unix(passwd:chauthtok): password changed for backdoor",
            "@iam password_changed success|user.name=backdoor",
        ),
        (
            "chpasswd",
            "pam_unix(chpasswd:chauthtok): password changed for backdoor",
            "@iam password_changed success|user.name=backdoor",
        ),
        ("passwd", "password for 'backdoor' changed by 'root'", "@iam password_changed success|user.name=backdoor"),
        ("usermod", "change user 'backdoor' password", "@iam password_changed success|user.name=backdoor"),
    ]);
}

#[test]
fn other_programs_and_unknown_shapes_get_nothing() {
    check(&[
        ("sshd", "Connection closed by 1.2.3.4 [preauth]", ""),
        ("sshd", "input_userauth_request: invalid user webmaster [preauth]", ""),
        ("sshd", "Failed to release session: Interrupted system call", ""),
        ("sshd", "Invalid user admin", ""),
        ("sshd", "Accepted password for root from 1.2.3.4 port notaport ssh2", ""),
        ("ftpd", "Failed password for root from 1.2.3.4 port 22 ssh2", ""),
        ("kernel", "session opened for user root by (uid=0)", ""),
        ("useradd", "failed adding user 'x', data deleted", ""),
    ]);
}
