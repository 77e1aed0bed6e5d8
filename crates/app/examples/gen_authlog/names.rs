//! gen_authlog: names and addresses.

use crate::*;

pub(crate) const HOST_PREFIXES: [&str; 10] =
    ["web", "app", "db", "bastion", "api", "mail", "ci", "vpn", "cache", "build"];

pub(crate) const FIRST: [&str; 64] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "karl", "laura", "mallory",
    "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "ursula", "victor", "wendy", "xavier", "yvonne",
    "zoe", "amir", "bianca", "chen", "dmitri", "elena", "farid", "gita", "hana", "igor", "jamal", "kenji", "lena",
    "mateo", "noor", "olga", "pavel", "rosa", "sanjay", "tomas", "uma", "vera", "wei", "yusuf", "zara", "anton",
    "beatriz", "ciaran", "daria", "emeka", "fatima", "goran", "hiro", "ines", "jonas", "kofi", "lucia", "marek",
    "nadia",
];

pub(crate) const LAST: [&str; 64] = [
    "smith", "jones", "garcia", "muller", "rossi", "kowalski", "nguyen", "kim", "silva", "novak", "dubois", "jensen",
    "larsen", "tanaka", "sato", "ali", "khan", "patel", "singh", "cohen", "levi", "horvat", "popescu", "ivanov",
    "petrov", "santos", "lopez", "martin", "bernard", "moreau", "fischer", "weber", "wagner", "becker", "hoffmann",
    "schulz", "koch", "richter", "klein", "wolf", "brown", "taylor", "wilson", "evans", "thomas", "roberts", "walker",
    "wright", "green", "hall", "wood", "clarke", "hughes", "lewis", "young", "king", "baker", "adams", "mitchell",
    "turner", "parker", "collins", "edwards", "stewart",
];

/// Service accounts: they log in with keys from a few automation sources.
pub(crate) const SERVICE: [&str; 6] = ["deploy", "ansible", "backup", "jenkins", "monitor", "gitlab-runner"];

/// Account names attackers try that do not exist on the hosts.
#[rustfmt::skip]
pub(crate) const INVALID: [&str; 96] = [
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

pub(crate) const SUDO_COMMANDS: [&str; 14] = [
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

pub(crate) const KEY_TYPES: [&str; 3] = ["ED25519", "RSA", "ECDSA"];
pub(crate) const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Benign sources live in 10.20.0.0-10.255.255.255, 250 per /24.
pub(crate) const MAX_SOURCES: u32 = 250 * 256 * 236;

pub(crate) fn benign_ip(source: u32) -> Ipv4Addr {
    let subnet = source / 250;
    Ipv4Addr::new(10, (20 + subnet / 256) as u8, (subnet % 256) as u8, (source % 250 + 2) as u8)
}

/// The `index`-th attacker address: first the three documentation ranges
/// (762 addresses, in a scrambled order), then 100.64.0.0/10.
pub(crate) fn attacker_ip(index: u32) -> Ipv4Addr {
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
