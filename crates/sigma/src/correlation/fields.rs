//! Where a correlation reads a field name in the events of each rule it
//! references: the rule's alias, the name itself, then its normalised
//! equivalents, so `group-by: [source.ip]` reads `source.ip` in auth.log,
//! `c-ip` in web logs and `IpAddress` in Windows logons (cross-source
//! correlation without writing aliases).

use ferret_model::{Event, Field, FieldNames};

/// Names that mean the same thing in different sources, ECS name first.
const EQUIVALENT: &[&[&str]] = &[
    &[
        "source.ip",
        "IpAddress",
        "c-ip",
        "src_ip",
        "SourceIp",
        "SourceAddress",
        "id.orig_h",
        "sourceIPAddress",
        "callerIpAddress",
        "client.ip",
        "ClientIP",
    ],
    &["destination.ip", "DestinationIp", "DestAddress", "dst_ip", "id.resp_h", "s-ip"],
    &["user.name", "TargetUserName", "cs-username", "userIdentity.userName", "User", "userName"],
    &["host.name", "Computer", "hostname", "Hostname", "ComputerName", "host.hostname"],
];

/// The names to try, in order, for `name` (already alias-resolved).
pub(crate) fn candidates(name: &str) -> Vec<String> {
    let mut names = vec![name.to_owned()];
    if let Some(group) = EQUIVALENT.iter().find(|g| g.contains(&name)) {
        names.extend(group.iter().filter(|n| **n != name).map(|n| (*n).to_owned()));
    }
    names
}

/// One field a correlation needs from the events of one referenced rule
/// (or from the firings of a referenced correlation).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Lookup {
    /// The name the correlation uses (`group-by` entry, alias, field).
    pub name: String,
    /// Interned candidates, tried in order.
    fields: Vec<Field>,
    /// The same candidates as text, for firings of inner correlations.
    texts: Vec<String>,
}

impl Lookup {
    pub(crate) fn new(name: &str, source_field: &str, names: &FieldNames) -> Self {
        let texts = candidates(source_field);
        Lookup { name: name.to_owned(), fields: texts.iter().map(|t| names.intern(t)).collect(), texts }
    }

    /// The first present, non-null value in the event.
    pub fn read<'e>(&self, event: &'e Event) -> Option<&'e str> {
        self.fields.iter().find_map(|f| event.values(*f).find_map(|v| v.as_str()))
    }

    /// Every value under the first candidate name present in `pairs`.
    pub fn read_pairs<'p>(&self, pairs: &'p [(String, String)]) -> Vec<&'p str> {
        for text in &self.texts {
            let found: Vec<&str> = pairs.iter().filter(|(k, _)| k == text).map(|(_, v)| v.as_str()).collect();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalents_follow_the_name() {
        assert_eq!(candidates("c-ip")[0], "c-ip");
        assert!(candidates("c-ip").contains(&"source.ip".to_owned()));
        assert_eq!(candidates("Whatever"), vec!["Whatever".to_owned()]);
    }
}
