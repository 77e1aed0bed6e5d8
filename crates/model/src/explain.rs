//! Why a rule fired (or did not): the trace an analyst reads to trust an
//! alert, and a detection engineer reads to fix a rule.

use serde::Serialize;

/// One `key: values` entry of a selection and how the event met it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemTrace {
    /// The key as the rule wrote it, modifiers included (`Image|endswith`);
    /// empty for keywords.
    pub key: String,
    /// The rule's values as written.
    pub rule_values: Vec<String>,
    /// The event value that satisfied the item, when one did.
    pub event_value: Option<String>,
    pub matched: bool,
}

/// A search identifier (selection) and whether it was true.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SelectionTrace {
    pub name: String,
    pub matched: bool,
    /// The items of the map that decided it (the first map of a list of
    /// maps that matched, or every map when none did).
    pub items: Vec<ItemTrace>,
}

/// A rule evaluated on one event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The rule's condition as parsed (precedence made explicit).
    pub condition: String,
    /// Whether the event belongs to the rule's logsource at all.
    pub routed: bool,
    pub matched: bool,
    pub selections: Vec<SelectionTrace>,
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.routed {
            return write!(f, "the event is not from the rule's logsource");
        }
        write!(f, "condition {} is {}", self.condition, self.matched)?;
        for s in &self.selections {
            write!(f, "\n  {}: {}", s.name, s.matched)?;
            for item in &s.items {
                let mark = if item.matched { "✓" } else { "✗" };
                let key = if item.key.is_empty() { "keywords" } else { &item.key };
                write!(f, "\n    {mark} {key} {:?}", item.rule_values)?;
                if let Some(v) = &item.event_value {
                    write!(f, " ← {v:?}")?;
                }
            }
        }
        Ok(())
    }
}
