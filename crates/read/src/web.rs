//! Web server and proxy access logs: Apache/nginx common and combined
//! (`%h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-agent}i"]`, also with a
//! leading `%v` or `%v:%p` virtual host and with extra trailing fields), and
//! the W3C extended format (IIS and others), whose `#Fields:` directive
//! names the columns. One event per line, of kind [`SourceKind::Web`].
//!
//! # Fields
//!
//! Events carry the names Sigma's `webserver` and `proxy` rules use. Some
//! concepts go by two names in the corpus and the taxonomy; both are set:
//!
//! | field | value |
//! | --- | --- |
//! | `c-ip` | client address (`%h`) |
//! | `cs-username` | authenticated user (`%u`), absent when `-` |
//! | `ident` | identd user (`%l`), absent when `-` (common/combined only) |
//! | `cs-method` | request method; absent when the request line is junk |
//! | `c-uri`, `cs-uri` | path and query as requested |
//! | `cs-uri-stem`, `c-uri-stem` | the path (before `?`) |
//! | `cs-uri-query`, `c-uri-query` | the query, without `?`, when not empty |
//! | `c-uri-extension` | extension of the path's last segment, no dot |
//! | `cs-version` | `HTTP/1.1`... |
//! | `sc-status` | status code, a number |
//! | `sc-bytes` | response bytes (`%b`), a number, absent when `-` |
//! | `cs-referer`, `cs-referrer` | Referer, absent when `-` |
//! | `c-useragent`, `cs-user-agent` | User-Agent, absent when `-` |
//! | `cs-host`, `s-port` | the virtual host (`%v[:%p]`) or W3C `cs-host` |
//! | `cs-cookie` | W3C `cs(Cookie)` |
//! | `dst_ip` | W3C `s-ip` |
//!
//! W3C lines also keep every column under its own W3C name (`s-sitename`,
//! `time-taken`, `cs(User-Agent)`...); `-` is an absent value, and IIS's
//! `+` for spaces stays as written. Values keep the log's text: Apache's
//! `\"` and `\xhh` escapes are not decoded.
//!
//! # Time
//!
//! `[10/Oct/2000:13:55:36 -0700]` is converted to UTC. W3C `date` + `time`
//! columns are UTC by definition; without a `date` column the date of the
//! last `#Date:` directive is used.
//!
//! A request line that is not `METHOD URI [VERSION]` (binary junk, `-`) is
//! kept only in the raw line: `c-ip`, the time and `sc-status` are still
//! read. A line without those is a [`crate::ReadError`].

use std::io::BufRead;

use ferret_model::{Event, Field, FieldCache, Location, SourceKind, Timestamp, Value};
use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};

use crate::kv::{LineFeed, line_error};
use crate::lines::Line;
use crate::{ReadResult, SourceContext};

pub(crate) const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// True when `line` is a common/combined access-log line.
pub fn looks_like_access_log(line: &str) -> bool {
    parse_access(line).is_ok()
}

/// True when `line` is a W3C extended-format directive that starts a file.
pub fn looks_like_w3c(line: &str) -> bool {
    ["#Software:", "#Version:", "#Fields:", "#Date:", "#Remark:"].iter().any(|d| line.starts_with(d))
}

/// Streams access-log lines as events.
pub struct WebReader<R> {
    feed: LineFeed<R>,
    ctx: SourceContext,
    names: Names,
    /// The columns of the last `#Fields:` directive: the file is W3C.
    columns: Option<Vec<Column>>,
    /// The date of the last `#Date:` directive.
    date: Option<Date>,
}

/// Declares `Names`, the Sigma field symbols, interned once per reader.
macro_rules! names {
    ($($field:ident = $name:literal,)*) => {
        struct Names {
            $($field: Field,)*
        }

        impl Names {
            fn new(f: &mut FieldCache) -> Self {
                Self { $($field: f.intern($name),)* }
            }
        }
    };
}

names! {
    c_ip = "c-ip", ident = "ident", username = "cs-username", method = "cs-method",
    c_uri = "c-uri", cs_uri = "cs-uri", cs_stem = "cs-uri-stem", c_stem = "c-uri-stem",
    cs_query = "cs-uri-query", c_query = "c-uri-query", extension = "c-uri-extension", version = "cs-version",
    status = "sc-status", bytes = "sc-bytes", referer = "cs-referer", referrer = "cs-referrer",
    c_useragent = "c-useragent", cs_user_agent = "cs-user-agent", host = "cs-host", port = "s-port",
    cookie = "cs-cookie", dst_ip = "dst_ip",
}

/// One W3C column: its own field and what it means.
struct Column {
    field: Field,
    role: Role,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Text,
    Number,
    Date,
    Time,
    Uri,
    Stem,
    Query,
    UserAgent,
    Referer,
    Cookie,
    Host,
    ServerIp,
}

fn role(name: &str) -> Role {
    match name.to_ascii_lowercase().as_str() {
        "date" => Role::Date,
        "time" => Role::Time,
        "cs-uri" => Role::Uri,
        "cs-uri-stem" => Role::Stem,
        "cs-uri-query" => Role::Query,
        "cs(user-agent)" => Role::UserAgent,
        "cs(referer)" | "cs(referrer)" => Role::Referer,
        "cs(cookie)" => Role::Cookie,
        "cs-host" | "cs(host)" => Role::Host,
        "s-ip" => Role::ServerIp,
        "sc-status" | "sc-substatus" | "sc-win32-status" | "sc-bytes" | "cs-bytes" | "time-taken" | "s-port"
        | "c-port" => Role::Number,
        _ => Role::Text,
    }
}

impl<R: BufRead> WebReader<R> {
    pub fn new(input: R, mut ctx: SourceContext) -> Self {
        let names = Names::new(&mut ctx.fields);
        Self { feed: LineFeed::new(input, &ctx), ctx, names, columns: None, date: None }
    }

    fn line(&mut self, line: Line) -> Option<ReadResult> {
        let text = line.text.strip_prefix('\u{feff}').unwrap_or(&line.text);
        if let Some(directive) = text.strip_prefix('#') {
            return self.directive(line.number, directive).err().map(Err);
        }
        let mut event = Event::new(SourceKind::Web, self.ctx.provenance(Location::Line(line.number)));
        let parsed = match self.columns {
            Some(_) => self.w3c(text, &mut event),
            None => parse_access(text).map(|access| self.access(&access, &mut event)),
        };
        if let Err(reason) = parsed {
            return Some(Err(line_error(&self.ctx, line.number, reason)));
        }
        event.raw = Some(line.text.into_boxed_str());
        Some(Ok(event))
    }

    /// `#Fields:` and `#Date:` shape what follows; other directives
    /// (`#Software:`, `#Version:`, `#Remark:`...) are comments.
    fn directive(&mut self, number: u64, directive: &str) -> Result<(), crate::ReadError> {
        if let Some(fields) = directive.strip_prefix("Fields:") {
            let columns: Vec<Column> = fields
                .split_whitespace()
                .map(|name| Column { field: self.ctx.fields.intern(name), role: role(name) })
                .collect();
            if columns.is_empty() {
                return Err(line_error(&self.ctx, number, "#Fields: directive names no columns"));
            }
            self.columns = Some(columns);
        } else if let Some(date) = directive.strip_prefix("Date:") {
            let day = date.split_whitespace().next().unwrap_or("");
            self.date = Some(day.parse().map_err(|_| line_error(&self.ctx, number, "bad #Date: directive"))?);
        }
        Ok(())
    }

    fn access(&self, a: &Access<'_>, event: &mut Event) {
        let n = &self.names;
        event.timestamp = Some(a.time);
        event.push(n.c_ip, Value::text(a.client));
        if a.ident != "-" {
            event.push(n.ident, Value::text(a.ident));
        }
        if a.user != "-" {
            event.push(n.username, Value::text(a.user));
        }
        if let Some((method, uri, version)) = split_request(a.request) {
            event.push(n.method, Value::text(method));
            if !uri.is_empty() {
                self.uri(event, uri, None, None);
            }
            if let Some(version) = version {
                event.push(n.version, Value::text(version));
            }
        }
        let n = &self.names;
        event.push(n.status, Value::number(a.status));
        if let Some(bytes) = a.bytes.filter(|b| *b != "-") {
            event.push(n.bytes, Value::number(bytes));
        }
        if let Some(referer) = a.referer.filter(|r| *r != "-") {
            event.push(n.referer, Value::text(referer));
            event.push(n.referrer, Value::text(referer));
        }
        if let Some(agent) = a.agent.filter(|u| *u != "-") {
            event.push(n.c_useragent, Value::text(agent));
            event.push(n.cs_user_agent, Value::text(agent));
        }
        if let Some(vhost) = a.vhost {
            let (host, port) = match vhost.rsplit_once(':') {
                Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                    (host, Some(port))
                }
                _ => (vhost, None),
            };
            event.push(n.host, Value::text(host));
            if let Some(port) = port {
                event.push(n.port, Value::number(port));
            }
        }
    }

    /// The URI fields from a full URI, or from a W3C stem and query. Names
    /// in `own` are already set by their W3C columns.
    fn uri(&self, event: &mut Event, uri: &str, stem_query: Option<(&str, Option<&str>)>, own: Option<&[Field]>) {
        let n = &self.names;
        let (full, stem, query) = match stem_query {
            Some((stem, query)) => (query.map_or_else(|| stem.to_owned(), |q| format!("{stem}?{q}")), stem, query),
            None => {
                let (stem, query) = match uri.split_once('?') {
                    Some((stem, query)) => (stem, Some(query)),
                    None => (uri, None),
                };
                (uri.to_owned(), stem, query)
            }
        };
        let mut push = |field: Field, value: &str| {
            if !own.is_some_and(|own| own.contains(&field)) {
                event.push(field, Value::text(value));
            }
        };
        push(n.c_uri, &full);
        push(n.cs_uri, &full);
        push(n.cs_stem, stem);
        push(n.c_stem, stem);
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            push(n.cs_query, query);
            push(n.c_query, query);
        }
        if let Some(ext) = extension(stem) {
            push(n.extension, ext);
        }
    }

    fn w3c(&self, text: &str, event: &mut Event) -> Result<(), String> {
        let columns = self.columns.as_deref().unwrap_or_default();
        let values = w3c_values(text);
        if values.len() != columns.len() {
            return Err(format!("{} values for the {} #Fields: columns", values.len(), columns.len()));
        }
        let (mut date, mut time, mut uri, mut stem, mut query) = (None, None, None, None, None);
        let mut own = Vec::new();
        let mut aliases: Vec<(Field, &str)> = Vec::new();
        let n = &self.names;
        for (column, value) in columns.iter().zip(&values) {
            let value = value.as_str();
            if value == "-" {
                continue;
            }
            own.push(column.field);
            event.push(
                column.field,
                if column.role == Role::Number { Value::number(value) } else { Value::text(value) },
            );
            match column.role {
                Role::Date => date = Some(value),
                Role::Time => time = Some(value),
                Role::Uri => uri = Some(value),
                Role::Stem => stem = Some(value),
                Role::Query => query = Some(value),
                Role::UserAgent => aliases.extend([(n.c_useragent, value), (n.cs_user_agent, value)]),
                Role::Referer => aliases.extend([(n.referer, value), (n.referrer, value)]),
                Role::Cookie => aliases.push((n.cookie, value)),
                Role::Host => aliases.push((n.host, value)),
                Role::ServerIp => aliases.push((n.dst_ip, value)),
                Role::Text | Role::Number => {}
            }
        }
        for (field, value) in aliases {
            if !own.contains(&field) {
                event.push(field, Value::text(value));
            }
        }
        match (uri, stem) {
            (_, Some(stem)) => self.uri(event, "", Some((stem, query)), Some(&own)),
            (Some(uri), None) => self.uri(event, uri, None, Some(&own)),
            (None, None) => {}
        }
        if let Some(time) = time {
            let day = match date {
                Some(date) => Some(date.parse::<Date>().map_err(|_| format!("bad date {date:?}"))?),
                None => self.date,
            };
            if let Some(day) = day {
                let clock = time.parse::<jiff::civil::Time>().map_err(|_| format!("bad time {time:?}"))?;
                let stamp = TimeZone::UTC.to_timestamp(day.to_datetime(clock)).map_err(|e| e.to_string())?;
                event.timestamp = Some(stamp);
            }
        }
        Ok(())
    }
}

impl<R: BufRead> Iterator for WebReader<R> {
    type Item = ReadResult;

    fn next(&mut self) -> Option<ReadResult> {
        loop {
            let line = match self.feed.next_line(&self.ctx)? {
                Ok(line) => line,
                Err(e) => return Some(Err(e)),
            };
            if let Some(result) = self.line(line) {
                return Some(result);
            }
        }
    }
}

/// W3C values: separated by spaces (or tabs); a value may be quoted, with
/// `""` for a quote inside it.
fn w3c_values(text: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if quoted[i + 1..].starts_with('"') {
                        value.push('"');
                        chars.next();
                        continue;
                    }
                    end = i + 1;
                    break;
                }
                value.push(c);
            }
            values.push(value);
            rest = quoted[end..].trim_start();
        } else {
            let end = rest.find([' ', '\t']).unwrap_or(rest.len());
            values.push(rest[..end].to_owned());
            rest = rest[end..].trim_start();
        }
    }
    values
}

/// The extension of the last segment of a path, without the dot. Absolute
/// URIs (proxies) lose their scheme and authority first; authority-form
/// targets (`CONNECT host:443`) and paths without a dot have none.
fn extension(stem: &str) -> Option<&str> {
    let path = match stem.find("://") {
        Some(i) => &stem[i + 3..][stem[i + 3..].find('/')?..],
        None => stem,
    };
    if !path.starts_with('/') {
        return None;
    }
    let last = &path[path.rfind('/')? + 1..];
    let ext = &last[last.rfind('.')? + 1..];
    (!ext.is_empty()).then_some(ext)
}

/// `METHOD URI [HTTP/x.y]`, or `None` when the first word is no method.
fn split_request(request: &str) -> Option<(&str, &str, Option<&str>)> {
    let (method, rest) = request.split_once(' ').unwrap_or((request, ""));
    let is_method = !method.is_empty()
        && method.len() <= 32
        && method.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        && method.bytes().any(|b| b.is_ascii_alphabetic());
    if !is_method || rest.is_empty() {
        return None;
    }
    match rest.rsplit_once(' ') {
        Some((uri, version)) if version.starts_with("HTTP/") => Some((method, uri, Some(version))),
        _ => Some((method, rest, None)),
    }
}

/// One common/combined line, cut into its parts.
struct Access<'a> {
    vhost: Option<&'a str>,
    client: &'a str,
    ident: &'a str,
    user: &'a str,
    time: Timestamp,
    request: &'a str,
    status: &'a str,
    bytes: Option<&'a str>,
    referer: Option<&'a str>,
    agent: Option<&'a str>,
}

fn parse_access(line: &str) -> Result<Access<'_>, String> {
    const NOT: &str = "not an access log line";
    // The time stamp: the first ` [` followed by a digit.
    let open = line.match_indices(" [").find(|(i, _)| line.as_bytes().get(i + 2).is_some_and(u8::is_ascii_digit));
    let open = open.ok_or(NOT)?.0;
    let close = open + line[open..].find(']').ok_or(NOT)?;
    let words: Vec<&str> = line[..open].split_whitespace().collect();
    let (vhost, client, ident, user) = match words[..] {
        [client, ident, user] => (None, client, ident, user),
        [vhost, client, ident, user] => (Some(vhost), client, ident, user),
        _ => return Err(NOT.into()),
    };
    let time = clf_time(&line[open + 2..close]).ok_or_else(|| format!("bad time {:?}", &line[open + 2..close]))?;
    let rest = line[close + 1..].trim_start();
    let body = rest.strip_prefix('"').ok_or("no quoted request after the time")?;
    // The request ends at the first unescaped quote followed by a status.
    let (request, after) = status_quote(body).ok_or("no status after the request")?;
    let mut words = after.trim_start().splitn(2, ' ');
    let status = words.next().unwrap_or("");
    let rest = words.next().unwrap_or("").trim_start();
    let (bytes, rest) = match rest.split_once(' ') {
        Some((bytes, rest)) => (Some(bytes), rest.trim_start()),
        None => ((!rest.is_empty()).then_some(rest), ""),
    };
    let (referer, rest) = quoted(rest);
    let (agent, _) = quoted(rest.trim_start());
    Ok(Access { vhost, client, ident, user, time, request, status, bytes, referer, agent })
}

/// In `body` (after a request's opening quote), the request text and what
/// follows its closing quote: the first unescaped quote that is followed by
/// a numeric status, so a raw quote inside the request does not end it.
fn status_quote(body: &str) -> Option<(&str, &str)> {
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'"' => {
                let after = &body[i + 1..];
                let status = after.strip_prefix(' ').and_then(|a| a.split(' ').next()).unwrap_or("");
                if (1..=3).contains(&status.len()) && status.bytes().all(|c| c.is_ascii_digit()) {
                    return Some((&body[..i], after));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A leading quoted string (Apache's `\"` escape does not end it; an
/// unterminated one runs to the end of the line) and what follows it.
fn quoted(text: &str) -> (Option<&str>, &str) {
    let Some(body) = text.strip_prefix('"') else {
        return (None, text);
    };
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'"' => return (Some(&body[..i]), &body[i + 1..]),
            _ => {}
        }
        i += 1;
    }
    (Some(body), "")
}

/// `10/Oct/2000:13:55:36 -0700` (strftime `%d/%b/%Y:%H:%M:%S %z`) in UTC.
fn clf_time(text: &str) -> Option<Timestamp> {
    let (stamp, zone) = text.split_once(' ')?;
    let mut parts = stamp.splitn(3, '/');
    let day: i8 = parts.next()?.parse().ok()?;
    let name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == name)? as i8 + 1;
    let mut clock = parts.next()?.split(':');
    let year: i16 = clock.next()?.parse().ok()?;
    let mut number = || clock.next()?.parse::<i8>().ok();
    let (hour, minute, second) = (number()?, number()?, number()?);
    let dt = DateTime::new(year, month, day, hour, minute, second.min(59), 0).ok()?;
    let zone = zone.as_bytes();
    let sign = match zone.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    if zone.len() != 5 || !zone[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digits = |a: usize| i32::from(zone[a] - b'0') * 10 + i32::from(zone[a + 1] - b'0');
    let offset = Offset::from_seconds(sign * (digits(1) * 3600 + digits(3) * 60)).ok()?;
    offset.to_timestamp(dt).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferret_model::FieldNames;

    fn read(input: &str) -> (std::sync::Arc<FieldNames>, Vec<ReadResult>) {
        let names = FieldNames::new();
        let ctx = SourceContext::new("access.log", names.clone(), Default::default());
        let results = WebReader::new(input.as_bytes(), ctx).collect();
        (names, results)
    }

    fn field<'a>(names: &FieldNames, result: &'a ReadResult, name: &str) -> Option<&'a Value> {
        result.as_ref().unwrap().get(names, name)
    }

    #[test]
    fn odd_requests_still_give_client_time_and_status() {
        let (names, got) = read(concat!(
            "10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] \"\\x16\\x03\\x01\\x00\" 400 0 \"-\" \"-\"\n",
            "10.0.0.2 - - [01/Jan/2026:00:00:01 +0000] \"-\" 408 -\n",
            "10.0.0.3 - - [01/Jan/2026:00:00:02 +0000] \"GET /a b/c.PHP HTTP/1.1\" 404 10\n",
            "10.0.0.4 - - [01/Jan/2026:00:00:03 +0000] \"GET /x\"y\" 200 1 \"-\" \"unterminated\n",
            "www.example.com:8443 10.0.0.5 - - [01/Jan/2026:00:00:04 +0100] \"CONNECT example.org:443 HTTP/1.1\" 200 0 \"-\" \"curl/8\" rt=0.1 \"x\"\n",
            "garbage line\n",
        ));
        for (i, status) in ["400", "408", "404", "200", "200"].iter().enumerate() {
            assert_eq!(field(&names, &got[i], "sc-status").unwrap().to_string(), *status);
            assert!(field(&names, &got[i], "c-ip").is_some());
            assert!(got[i].as_ref().unwrap().timestamp.is_some());
        }
        assert_eq!(field(&names, &got[0], "cs-method"), None);
        assert_eq!(field(&names, &got[0], "cs-referer"), None);
        assert_eq!(field(&names, &got[1], "sc-bytes"), None);
        assert_eq!(field(&names, &got[2], "c-uri").unwrap().to_string(), "/a b/c.PHP");
        assert_eq!(field(&names, &got[2], "c-uri-extension").unwrap().to_string(), "PHP");
        assert_eq!(field(&names, &got[3], "c-uri").unwrap().to_string(), "/x\"y");
        assert_eq!(field(&names, &got[3], "c-useragent").unwrap().to_string(), "unterminated");
        assert_eq!(field(&names, &got[4], "cs-host").unwrap().to_string(), "www.example.com");
        assert_eq!(field(&names, &got[4], "s-port"), Some(&Value::number("8443")));
        assert_eq!(field(&names, &got[4], "c-uri-extension"), None);
        assert_eq!(got[4].as_ref().unwrap().timestamp.unwrap().to_string(), "2025-12-31T23:00:04Z");
        let err = got[5].as_ref().unwrap_err();
        assert_eq!(err.location, Some(Location::Line(6)));
        assert_eq!(got.len(), 6);
    }

    #[test]
    fn w3c_columns_dates_and_aliases() {
        let (names, got) = read(concat!(
            "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2026-03-03 07:00:00\n",
            "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus time-taken\n",
            "2026-03-03 07:01:12 10.0.0.10 GET /shell.aspx cmd=whoami 443 - 203.0.113.7 Mozilla/5.0+(Windows+NT+10.0) - 200 0 15\n",
            "2026-03-03 07:01:13 10.0.0.10 GET / - 443\n",
            "#Fields: time c-ip cs-uri sc-status\n",
            "07:02:00.5 203.0.113.8 /a/b.js?x=1 304\n",
        ));
        assert_eq!(got.len(), 3);
        let e = &got[0];
        assert_eq!(e.as_ref().unwrap().timestamp.unwrap().to_string(), "2026-03-03T07:01:12Z");
        assert_eq!(field(&names, e, "cs(User-Agent)").unwrap().to_string(), "Mozilla/5.0+(Windows+NT+10.0)");
        assert_eq!(field(&names, e, "c-useragent").unwrap().to_string(), "Mozilla/5.0+(Windows+NT+10.0)");
        assert_eq!(field(&names, e, "c-uri").unwrap().to_string(), "/shell.aspx?cmd=whoami");
        assert_eq!(field(&names, e, "c-uri-extension").unwrap().to_string(), "aspx");
        assert_eq!(field(&names, e, "dst_ip").unwrap().to_string(), "10.0.0.10");
        assert_eq!(field(&names, e, "time-taken"), Some(&Value::number("15")));
        assert_eq!(field(&names, e, "cs-username"), None);
        assert_eq!(field(&names, e, "cs-referer"), None);
        let stems = e.as_ref().unwrap().values(names.get("cs-uri-stem").unwrap()).count();
        assert_eq!(stems, 1, "a W3C column is not repeated by its alias");
        assert!(got[1].as_ref().unwrap_err().message.contains("7 values for the 14"));
        assert_eq!(got[2].as_ref().unwrap().timestamp.unwrap().to_string(), "2026-03-03T07:02:00.5Z");
        assert_eq!(field(&names, &got[2], "cs-uri-query").unwrap().to_string(), "x=1");
        assert_eq!(field(&names, &got[2], "c-uri-extension").unwrap().to_string(), "js");
    }

    #[test]
    fn quoted_w3c_values_and_extensions() {
        assert_eq!(w3c_values(r#"a "b c" "say ""hi""" -"#), ["a", "b c", "say \"hi\"", "-"]);
        assert_eq!(extension("/a/b.tar.gz"), Some("gz"));
        assert_eq!(extension("/a.b/c"), None);
        assert_eq!(extension("/a/b."), None);
        assert_eq!(extension("http://example.com"), None);
        assert_eq!(extension("http://example.com/x.exe"), Some("exe"));
        assert_eq!(extension("example.com:443"), None);
        assert!(looks_like_access_log(r#"::1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1"#));
        assert!(!looks_like_access_log("Dec 10 06:55:46 LabSZ sshd[24200]: x"));
        assert!(!looks_like_access_log(r#"a b c [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" x 1"#));
    }
}
