//! Diagnostics: data, not printed strings. Each has a stable code, the rule
//! file, the line and a message; the CLI renders them and `--format json`
//! serializes them.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The rule was loaded; something about it deserves a look.
    Warning,
    /// The rule (or document) could not be loaded and does not run.
    Error,
}

/// Stable diagnostic codes. Never renumber: users filter on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Code {
    /// The file is not valid YAML (or not UTF-8).
    #[serde(rename = "E001")]
    YamlSyntax,
    /// A required key is missing or has the wrong shape.
    #[serde(rename = "E002")]
    RuleStructure,
    /// The condition does not parse.
    #[serde(rename = "E003")]
    ConditionSyntax,
    /// The condition names an identifier that is not defined, or a
    /// selector that selects none.
    #[serde(rename = "E004")]
    UndefinedIdentifier,
    /// A modifier that Sigma does not define.
    #[serde(rename = "E005")]
    UnknownModifier,
    /// Modifiers in an order or combination that has no meaning.
    #[serde(rename = "E006")]
    InvalidModifierChain,
    /// A value its modifier cannot take (bad regex, CIDR with host bits...).
    #[serde(rename = "E007")]
    InvalidValue,
    /// A Sigma feature this version of ferret does not run yet.
    #[serde(rename = "E008")]
    Unsupported,
    /// The logsource is one no reader can supply (ETW-only sources).
    #[serde(rename = "E009")]
    UnsupportedLogsource,
    /// `expand` with a placeholder that no configuration defines.
    #[serde(rename = "E010")]
    UnresolvedPlaceholder,
    /// Two rules share an id; the later one is not loaded.
    #[serde(rename = "E011")]
    DuplicateId,
    /// A correlation names a rule or correlation that is not loaded.
    #[serde(rename = "E012")]
    UnknownReference,
    /// Correlations that reference each other in a cycle.
    #[serde(rename = "E013")]
    CorrelationCycle,
    /// `all` on a single value, `null` inside a value list...
    #[serde(rename = "W101")]
    Lint,
    /// A logsource no mapping knows; the rule runs on generic JSON/CSV.
    #[serde(rename = "W102")]
    UnmappedLogsource,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::YamlSyntax => "E001",
            Code::RuleStructure => "E002",
            Code::ConditionSyntax => "E003",
            Code::UndefinedIdentifier => "E004",
            Code::UnknownModifier => "E005",
            Code::InvalidModifierChain => "E006",
            Code::InvalidValue => "E007",
            Code::Unsupported => "E008",
            Code::UnsupportedLogsource => "E009",
            Code::UnresolvedPlaceholder => "E010",
            Code::DuplicateId => "E011",
            Code::UnknownReference => "E012",
            Code::CorrelationCycle => "E013",
            Code::Lint => "W101",
            Code::UnmappedLogsource => "W102",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Code::Lint | Code::UnmappedLogsource => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// A short name for summaries.
    pub fn name(self) -> &'static str {
        match self {
            Code::YamlSyntax => "yaml-syntax",
            Code::RuleStructure => "rule-structure",
            Code::ConditionSyntax => "condition-syntax",
            Code::UndefinedIdentifier => "undefined-identifier",
            Code::UnknownModifier => "unknown-modifier",
            Code::InvalidModifierChain => "invalid-modifier-chain",
            Code::InvalidValue => "invalid-value",
            Code::Unsupported => "unsupported-feature",
            Code::UnsupportedLogsource => "unsupported-logsource",
            Code::UnresolvedPlaceholder => "unresolved-placeholder",
            Code::DuplicateId => "duplicate-id",
            Code::UnknownReference => "unknown-reference",
            Code::CorrelationCycle => "correlation-cycle",
            Code::Lint => "lint",
            Code::UnmappedLogsource => "unmapped-logsource",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// The rule file (`builtin:` prefix for ferret's embedded rules).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The rule's id or title, when it got that far.
    pub rule: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(code: Code, file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        Self { code, severity: code.severity(), file: file.to_owned(), line, rule: None, message: message.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}[{}]: {}", self.code.as_str(), self.message)?;
        match self.line {
            Some(line) => write!(f, "\n  --> {}:{line}", self.file)?,
            None => write!(f, "\n  --> {}", self.file)?,
        }
        if let Some(rule) = &self.rule {
            write!(f, " (rule {rule})")?;
        }
        Ok(())
    }
}
