//! The web and Zeek readers against real logs: `../shared/data/web` (Apache
//! combined logs from elastic/examples and logparser) and
//! `../shared/data/zeek` (zat's Zeek samples: TSV, gzip, and JSON). Each
//! file is read through the public API exactly as `ferret hunt` reads it
//! (sniffing, gzip). The expected counts were computed independently; the
//! commands are beside each assertion (run them in `shared/data`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ferret_model::{Event, FieldNames, SourceKind, Value};
use ferret_read::source::{Input, StreamVisitor, read_input};
use ferret_read::{Format, ReadError, ReadOptions, ReadResult};

/// Everything read from one input.
struct Read {
    names: Arc<FieldNames>,
    formats: Vec<Format>,
    events: Vec<Event>,
    errors: Vec<ReadError>,
    unreadable: Vec<ReadError>,
}

impl StreamVisitor for Read {
    fn stream(&mut self, _: &Arc<str>, format: Format, events: &mut dyn Iterator<Item = ReadResult>) {
        self.formats.push(format);
        for result in events {
            match result {
                Ok(event) => self.events.push(event),
                Err(error) => self.errors.push(error),
            }
        }
    }

    fn unreadable(&mut self, error: ReadError) {
        self.unreadable.push(error);
    }
}

impl Read {
    fn get(&self, event: &Event, name: &str) -> Option<String> {
        event.get(&self.names, name).map(ToString::to_string)
    }

    fn values(&self, event: &Event, name: &str) -> Vec<String> {
        self.names.get(name).map_or_else(Vec::new, |f| event.values(f).map(ToString::to_string).collect())
    }

    /// The event read from line `line` of the file.
    fn line(&self, line: u64) -> &Event {
        let at = ferret_model::Location::Line(line);
        self.events.iter().find(|e| e.provenance.location == at).unwrap_or_else(|| panic!("no event at line {line}"))
    }

    fn count(&self, name: &str, value: &str) -> usize {
        self.events.iter().filter(|e| self.get(e, name).as_deref() == Some(value)).count()
    }

    fn absent(&self, name: &str) -> usize {
        self.events.iter().filter(|e| self.get(e, name).is_none()).count()
    }

    fn time(&self, event: &Event) -> String {
        event.timestamp.expect("a timestamp").to_string()
    }
}

fn read(path: &Path) -> Read {
    let names = FieldNames::new();
    let mut read = Read {
        names: names.clone(),
        formats: Vec::new(),
        events: Vec::new(),
        errors: Vec::new(),
        unreadable: Vec::new(),
    };
    read_input(&Input::File(path.to_owned()), &names, &ReadOptions::default(), &mut read);
    read
}

/// Reads a file that must read cleanly in `format` with `events` events.
fn clean(path: &Path, format: Format, events: usize) -> Read {
    let got = read(path);
    let name = path.display();
    assert!(got.errors.is_empty(), "{name}: {:?}", got.errors.iter().map(ToString::to_string).collect::<Vec<_>>());
    assert!(got.unreadable.is_empty(), "{name}: {:?}", got.unreadable);
    assert_eq!(got.formats, [format], "{name}");
    assert_eq!(got.events.len(), events, "{name}");
    got
}

#[test]
fn apache_access_log_reads_completely() {
    let Some(data) = common::shared_data("zeek").and_then(|_| common::shared_data("")) else {
        return;
    };
    // wc -l web/apache_access.log → 10000
    let r = clean(&data.join("web/apache_access.log"), Format::Web, 10000);
    assert!(r.events.iter().all(|e| e.kind == SourceKind::Web && e.timestamp.is_some()));
    assert_eq!(r.absent("c-ip"), 0);
    assert_eq!(r.absent("sc-status"), 0);

    let first = r.line(1);
    assert_eq!(r.get(first, "c-ip").as_deref(), Some("83.149.9.216"));
    assert_eq!(r.time(first), "2015-05-17T10:05:03Z");
    assert_eq!(first.get(&r.names, "sc-status"), Some(&Value::number("200")));
    assert_eq!(first.get(&r.names, "sc-bytes"), Some(&Value::number("203023")));
    assert_eq!(
        r.get(first, "c-uri").as_deref(),
        Some("/presentations/logstash-monitorama-2013/images/kibana-search.png")
    );
    assert_eq!(r.get(first, "c-uri-extension").as_deref(), Some("png"));
    assert_eq!(r.get(first, "cs-version").as_deref(), Some("HTTP/1.1"));
    assert_eq!(
        r.get(first, "cs-referer").as_deref(),
        Some("http://semicomplete.com/presentations/logstash-monitorama-2013/")
    );

    // sed -n 8899p: the user agent's closing quote is missing (cut line).
    let cut = r.line(8899);
    assert_eq!(
        r.get(cut, "c-useragent").as_deref(),
        Some("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html")
    );
    assert_eq!(r.get(cut, "cs-referer"), None);
    // sed -n 5851p: Apache's \xhh escapes in the referer stay as written.
    assert_eq!(
        r.get(r.line(5851), "cs-referer").as_deref(),
        Some(r"http://\xe4\xe5\xe3\xf2\xff\xf0\xed\xee\xe5-\xec\xfb\xeb\xee.\xf0\xf4/")
    );

    // awk '{print $9}' web/apache_access.log | sort | uniq -c
    let statuses: Vec<usize> =
        ["200", "206", "301", "304", "403", "404", "416", "500"].iter().map(|s| r.count("sc-status", s)).collect();
    assert_eq!(statuses, [9126, 45, 164, 445, 2, 213, 2, 3]);
    // awk -F'"' '{print $2}' web/apache_access.log | awk '{print $1}' | sort | uniq -c
    let methods: Vec<usize> = ["GET", "HEAD", "POST", "OPTIONS"].iter().map(|m| r.count("cs-method", m)).collect();
    assert_eq!(methods, [9952, 42, 5, 1]);
    // awk '{print $10}' web/apache_access.log | grep -c '^-$' → 669
    assert_eq!(r.absent("sc-bytes"), 669);
    // awk -F'"' '$4 == "-"' web/apache_access.log | wc -l → 4073
    assert_eq!(r.absent("cs-referer"), 4073);
    assert_eq!(r.absent("cs-referrer"), 4073);
    // awk -F'"' '$6 == "-"' web/apache_access.log | wc -l → 190
    assert_eq!(r.absent("c-useragent"), 190);
    // awk -F'"' '{print $2}' web/apache_access.log | awk '{print $2}' | grep -c '?.' → 1258
    assert_eq!(r.events.len() - r.absent("cs-uri-query"), 1258);
    // ... | awk '{print $2}' | sed 's/?.*//; s#.*/##' | grep -o '\.[^.]*$' | sort | uniq -c | sort -rn → 2331 .png
    assert_eq!(r.count("c-uri-extension", "png"), 2331);
    assert_eq!(r.absent("cs-username"), 10000);
}

#[test]
fn hackers_access_log_reads_completely() {
    let Some(data) = common::shared_data("zeek").and_then(|_| common::shared_data("")) else {
        return;
    };
    // wc -l web/hackers-access.log → 3456
    let r = clean(&data.join("web/hackers-access.log"), Format::Web, 3456);
    // [25/Oct/2015:04:11:26 +0100] is 03:11:26 UTC.
    let second = r.line(2);
    assert_eq!(r.time(second), "2015-10-25T03:11:26Z");
    assert_eq!(r.get(second, "c-ip").as_deref(), Some("23.95.237.180"));
    assert_eq!(r.get(second, "c-uri").as_deref(), Some("/join_form"));
    assert_eq!(r.get(second, "cs-version").as_deref(), Some("HTTP/1.0"));
    assert_eq!(r.get(second, "c-uri-extension"), None);
    assert_eq!(
        r.get(second, "cs-user-agent").as_deref(),
        Some("Mozilla/5.0 (Windows NT 5.1; rv:35.0) Gecko/20100101 Firefox/35.0")
    );
    // awk '{print $9}' web/hackers-access.log | sort | uniq -c
    let statuses: Vec<usize> = ["200", "302", "403", "404"].iter().map(|s| r.count("sc-status", s)).collect();
    assert_eq!(statuses, [2846, 585, 13, 12]);
    // awk -F'"' '{print $2}' web/hackers-access.log | awk '{print $1}' | sort | uniq -c
    assert_eq!((r.count("cs-method", "GET"), r.count("cs-method", "POST")), (2376, 1080));
    // awk -F'"' '$4 == "-"' web/hackers-access.log | wc -l → 21
    assert_eq!(r.absent("cs-referer"), 21);
    // awk -F'"' '{print $2}' web/hackers-access.log | awk '{print $2}' | grep -c '?.' → 793
    assert_eq!(r.events.len() - r.absent("c-uri-query"), 793);
}

/// Every Zeek TSV file: grep -c '^[^#]' zeek/<file>.
const ZEEK_TSV: &[(&str, usize)] = &[
    ("conn.log", 360),
    ("conn_date_issue.log", 3),
    ("dhcp.log", 2),
    ("dhcp_002.log", 2),
    ("dns.log", 54),
    ("files.log", 113),
    ("ftp.log", 7),
    ("http.log", 150),
    ("http_empty.log", 0),
    ("notice.log", 2),
    ("smtp.log", 3),
    ("ssl.log", 37),
    ("tor_ssl.log", 733),
    ("weird.log", 12),
    ("x509.log", 13),
    // A Zeek intel feed (input framework): `#fields` only, no `#path`.
    ("intel_example.intel", 500),
    // zcat zeek/<file> | grep -c '^[^#]'
    ("dhcp.log.gz", 2),
    ("dhcp_002.log.gz", 2),
    ("http.log.gz", 150),
];

#[test]
fn zeek_tsv_files_read_completely() {
    let Some(data) = common::shared_data("zeek").and_then(|_| common::shared_data("")) else {
        return;
    };
    let dir = data.join("zeek");
    let mut listed: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("LICENSE") && n != "http.log.corrupt.gz")
        .collect();
    listed.sort();
    let mut expected: Vec<String> = ZEEK_TSV.iter().map(|(n, _)| n.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected, "a Zeek sample is not covered");

    for (name, count) in ZEEK_TSV {
        let r = clean(&dir.join(name), Format::Zeek, *count);
        assert!(r.events.iter().all(|e| e.kind == SourceKind::Zeek), "{name}");
        if !name.ends_with(".intel") {
            assert!(r.events.iter().all(|e| e.timestamp.is_some() && r.get(e, "ts").is_some()), "{name}");
        }
    }

    let conn = read(&dir.join("conn.log"));
    let first = conn.line(9);
    assert_eq!(conn.time(first), "2013-09-15T23:44:27.706265Z");
    assert_eq!(first.get(&conn.names, "ts"), Some(&Value::number("1379288667.706265")));
    assert_eq!(conn.get(first, "_path").as_deref(), Some("conn"));
    assert_eq!(conn.get(first, "uid").as_deref(), Some("CoyZrY2g74UvMMgp4a"));
    assert_eq!(conn.get(first, "id.orig_h").as_deref(), Some("192.168.33.10"));
    assert_eq!(first.get(&conn.names, "id.resp_p"), Some(&Value::number("80")));
    assert_eq!(first.get(&conn.names, "duration"), Some(&Value::number("0.447460")));
    assert_eq!(conn.get(first, "local_orig"), None, "unset (-) is absent");
    assert_eq!(conn.get(first, "tunnel_parents").as_deref(), Some(""), "(empty) is present and empty");
    // awk -F'\t' '!/^#/ {print $7}' zeek/conn.log | sort | uniq -c
    let protos: BTreeMap<String, usize> = conn.events.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(conn.get(e, "proto").unwrap()).or_default() += 1;
        m
    });
    let want: BTreeMap<String, usize> = [("icmp", 20), ("tcp", 115), ("udp", 225)].map(|(p, n)| (p.into(), n)).into();
    assert_eq!(protos, want);

    // sed -n 10p zeek/dns.log: a vector of two answers and two TTLs.
    let dns = read(&dir.join("dns.log"));
    let answers = dns.line(10);
    assert_eq!(dns.values(answers, "answers"), ["guyspy.com", "54.245.228.191"]);
    assert_eq!(dns.values(answers, "TTLs"), ["1000.000000", "36.000000"]);
    assert_eq!(answers.get(&dns.names, "RD"), Some(&Value::Bool(true)));
    assert_eq!(answers.get(&dns.names, "AA"), Some(&Value::Bool(false)));

    // x509.log line 11 (Zeek 2.5): `\\,` is an escaped backslash.
    let x509 = read(&dir.join("x509.log"));
    assert_eq!(
        x509.get(x509.line(11), "certificate.issuer").as_deref(),
        Some(
            r"CN=Entrust Certification Authority - L1K,OU=(c) 2012 Entrust\, Inc. - for authorized use only,OU=See www.entrust.net/legal-terms,O=Entrust\, Inc.,C=US"
        )
    );
    // ssl.log line 9 (Bro 2.2) wrote the backslash unescaped: kept as written.
    let ssl = read(&dir.join("ssl.log"));
    assert_eq!(
        ssl.get(ssl.line(9), "subject").as_deref(),
        Some(r"CN=*.cloudfront.net,O=Amazon.com\, Inc.,L=Seattle,ST=Washington,C=US")
    );
    // files.log: a table[addr] and a table[string] of two.
    let files = read(&dir.join("files.log"));
    assert_eq!(files.values(files.line(9), "analyzers"), ["MD5", "SHA1"]);

    let intel = read(&dir.join("intel_example.intel"));
    assert_eq!(intel.get(intel.line(2), "indicator").as_deref(), Some("0-de-franchise.ca"));
    assert_eq!(intel.get(intel.line(2), "meta.do_notice").as_deref(), Some("F"));
    assert_eq!(intel.get(intel.line(2), "_path"), None);

    // The gzip copy reads exactly like the plain file.
    let http = read(&dir.join("http.log"));
    let http_gz = read(&dir.join("http.log.gz"));
    let fields = |r: &Read| -> Vec<String> {
        r.events.iter().map(|e| serde_json::to_string(&e.fields_json(&r.names)).unwrap()).collect()
    };
    assert_eq!(fields(&http), fields(&http_gz));
    // awk -F'\t' '!/^#/ {print $8}' zeek/http.log | sort | uniq -c → 133 GET, 10 POST, 7 OPTIONS
    let methods = ["GET", "POST", "OPTIONS"].map(|m| http.count("method", m));
    assert_eq!(methods, [133, 10, 7]);
}

#[test]
fn corrupt_gzip_is_reported_by_name() {
    let Some(data) = common::shared_data("zeek").and_then(|_| common::shared_data("")) else {
        return;
    };
    // `gzip -t` says "unexpected end of file": the gzip trailer is missing.
    // Every record before the cut is still read (zcat | grep -c '^[^#]' → 150).
    let path = data.join("zeek/http.log.corrupt.gz");
    let r = read(&path);
    assert!(r.unreadable.is_empty(), "{:?}", r.unreadable);
    assert_eq!(r.events.len(), 150);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    let message = r.errors[0].to_string();
    assert!(message.contains("http.log.corrupt.gz") && message.contains("read error"), "{message}");
}

#[test]
fn zeek_json_logs_are_recognised() {
    let Some(data) = common::shared_data("zeek").and_then(|_| common::shared_data("")) else {
        return;
    };
    // wc -l zeek/json/*.log; the Zeek ones have `ts` and `uid`, `uids`,
    // `id.orig_h`, `fuid` or `certificate.serial`.
    let expected: &[(&str, usize, usize)] = &[
        ("capture_loss.log", 2, 0),
        ("conn.log", 50, 50),
        ("dce_rpc.log", 7, 7),
        ("dhcp.log", 1, 1),
        ("dns.log", 50, 50),
        ("files.log", 50, 50),
        ("http.log", 28, 28),
        ("kerberos.log", 14, 14),
        ("loaded_scripts.log", 50, 0),
        ("ntp.log", 2, 2),
        ("packet_filter.log", 1, 0),
        ("smb_files.log", 2, 2),
        ("smb_mapping.log", 7, 7),
        ("ssl.log", 50, 50),
        ("stats.log", 7, 0),
        // The second weird has no connection: plain JSON.
        ("weird.log", 2, 1),
        ("x509.log", 50, 50),
    ];
    let (mut all, mut zeek) = (0, 0);
    for (name, events, zeek_events) in expected {
        let r = clean(&data.join("zeek/json").join(name), Format::Json, *events);
        let z = r.events.iter().filter(|e| e.kind == SourceKind::Zeek).count();
        assert_eq!(z, *zeek_events, "{name}");
        assert!(r.events.iter().all(|e| e.kind == SourceKind::Zeek || e.kind == SourceKind::Json), "{name}");
        all += events;
        zeek += z;
    }
    assert_eq!((all, zeek), (373, 312));

    let smb = read(&data.join("zeek/json/smb_mapping.log"));
    let first = smb.line(1);
    assert_eq!(smb.time(first), "2019-12-03T22:45:22.273108Z");
    assert_eq!(smb.get(first, "path").as_deref(), Some(r"\\Icemaiden-DC\IPC$"));
    assert_eq!(smb.get(first, "_path"), None, "zat's JSON files carry no _path");
}

/// Events per second on the largest shared file of each format. A debug
/// build (the dev profile is opt-level 1): run with
/// `cargo test -p ferret-read --test web_zeek_shared_data -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let Some(data) = common::shared_data("zeek").and_then(|_| common::shared_data("")) else {
        return;
    };
    for (file, rounds) in [("web/apache_access.log", 5), ("zeek/tor_ssl.log", 20), ("zeek/conn.log", 40)] {
        let start = Instant::now();
        let mut events = 0;
        for _ in 0..rounds {
            events += read(&data.join(file)).events.len();
        }
        let secs = start.elapsed().as_secs_f64();
        eprintln!("{file}: {events} events in {secs:.3}s = {:.0} events/s", events as f64 / secs);
    }
}
