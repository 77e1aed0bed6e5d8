use std::collections::hash_map::Entry;
use std::io::{self, Write};
use std::sync::Arc;

use ferret_model::{Alert, AlertRule, AlertSink};
use serde_json::value::RawValue;

/// One JSON object per alert and line; the schema is documented on
/// [`ferret_model::Alert`].
pub struct JsonlSink<W: Write> {
    out: W,
    /// Each rule's JSON object, serialized on its first alert: a rule
    /// object (tags, ATT&CK ids, file) is about half of a line, and the
    /// same rule fires on many events. Keyed by the shared rule's address;
    /// the `Arc` held here keeps that address from being reused.
    rules: foldhash::HashMap<*const AlertRule, (Arc<AlertRule>, Box<RawValue>)>,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(out: W) -> Self {
        Self { out, rules: foldhash::HashMap::default() }
    }
}

impl<W: Write> AlertSink for JsonlSink<W> {
    fn alert(&mut self, alert: &Alert) -> io::Result<()> {
        let (_, rule) = match self.rules.entry(Arc::as_ptr(&alert.rule)) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => {
                let json = serde_json::value::to_raw_value(&*alert.rule)?;
                new.insert((alert.rule.clone(), json))
            }
        };
        alert.serialize_with_rule(&**rule, &mut serde_json::Serializer::new(&mut self.out))?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use ferret_model::{Level, Location, MatchedField, Provenance};

    use super::*;

    fn alert(rule: &Arc<AlertRule>, record: u64) -> Alert {
        Alert {
            timestamp: None,
            rule: rule.clone(),
            host: Some("ws-01".into()),
            matched: vec![MatchedField { field: "Image".into(), value: "C:\\x\\\"a\".exe".into() }],
            provenance: Provenance { source: "a.evtx".into(), location: Location::Record(record) },
            explanation: None,
            correlation: None,
        }
    }

    #[test]
    fn lines_are_what_serde_writes_for_the_alert() {
        let rule = |title: &str| {
            Arc::new(AlertRule {
                id: "r1".into(),
                title: title.into(),
                level: Level::High,
                status: None,
                tags: vec!["attack.t1003".into()],
                attack: vec!["T1003".into()],
                source: "r.yml".into(),
            })
        };
        let (first, second) = (rule("Quote \" and \\ in a title"), rule("Another"));
        let alerts = [alert(&first, 1), alert(&second, 2), alert(&first, 3)];
        let mut sink = JsonlSink::new(Vec::new());
        for a in &alerts {
            sink.alert(a).unwrap();
        }
        let want: String = alerts.iter().map(|a| serde_json::to_string(a).unwrap() + "\n").collect();
        assert_eq!(String::from_utf8(sink.out).unwrap(), want);
        assert_eq!(sink.rules.len(), 2);
    }
}
