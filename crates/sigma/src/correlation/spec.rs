//! Correlation documents (`sigma-correlation-rules-specification.md`
//! v2.1): YAML → [`Correlation`], or a diagnostic naming the line.
//!
//! Decisions where the specification is silent (SIGMA.md C3–C6, D10):
//! `group-by` may be missing (one group for everything); several condition
//! operators are ANDed (a range); a temporal condition defaults to
//! `gte: <number of rules>`; `timespan` also accepts `w`, `M` (30 days) and
//! `y` (365 days), as pySigma does. ferret reads one extension: the
//! standard rule attribute `fields` lists event fields whose distinct values
//! the alert reports (the accounts a brute force tried, for instance).

use ferret_model::Level;
use jiff::SignedDuration;

use crate::diagnostic::{Code, Diagnostic};
use crate::yaml::{Node, NodeKind};

/// The correlation types of the specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
    /// ferret's `baseline` documents: a rate per entity and time bucket
    /// against the entity's learned rate.
    BaselineRate,
    /// ferret's `baseline` documents: a value never seen before for the
    /// entity (a user's new source address).
    FirstSeen,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "event_count" => Kind::EventCount,
            "value_count" => Kind::ValueCount,
            "temporal" => Kind::Temporal,
            "temporal_ordered" => Kind::TemporalOrdered,
            "value_sum" => Kind::ValueSum,
            "value_avg" => Kind::ValueAvg,
            "value_percentile" => Kind::ValuePercentile,
            "baseline_rate" => Kind::BaselineRate,
            "first_seen" => Kind::FirstSeen,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EventCount => "event_count",
            Kind::ValueCount => "value_count",
            Kind::Temporal => "temporal",
            Kind::TemporalOrdered => "temporal_ordered",
            Kind::ValueSum => "value_sum",
            Kind::ValueAvg => "value_avg",
            Kind::ValuePercentile => "value_percentile",
            Kind::BaselineRate => "baseline_rate",
            Kind::FirstSeen => "first_seen",
        }
    }

    /// Types that read a `field` of the events (value_count and metrics).
    pub fn needs_field(self) -> bool {
        !matches!(self, Kind::EventCount | Kind::Temporal | Kind::TemporalOrdered | Kind::BaselineRate)
    }

    pub fn is_temporal(self) -> bool {
        matches!(self, Kind::Temporal | Kind::TemporalOrdered)
    }

    /// Metric types, whose field must hold numbers.
    pub fn is_metric(self) -> bool {
        matches!(self, Kind::ValueSum | Kind::ValueAvg | Kind::ValuePercentile)
    }
}

/// A comparison operator of a correlation condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

impl Op {
    pub fn parse(text: &str) -> Option<Op> {
        [Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::Eq, Op::Neq].into_iter().find(|op| op.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Eq => "eq",
            Op::Neq => "neq",
        }
    }

    fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Op::Gt => value > limit,
            Op::Gte => value >= limit,
            Op::Lt => value < limit,
            Op::Lte => value <= limit,
            Op::Eq => value == limit,
            Op::Neq => value != limit,
        }
    }
}

/// `condition`: operators ANDed, and the field they apply to.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Condition {
    pub ops: Vec<(Op, f64)>,
    /// value_count: the field, or fields whose tuple is counted; metrics:
    /// the numeric field.
    pub field: Vec<String>,
    /// value_percentile: which percentile (ferret reads `percentile`,
    /// default 50, the median).
    pub percentile: f64,
}

impl Condition {
    pub fn holds(&self, value: f64) -> bool {
        self.ops.iter().all(|(op, limit)| op.holds(value, *limit))
    }

    /// Only lower bounds (`gt`/`gte`): once the aggregate reaches the
    /// bound, more events cannot make it false. The smallest integer count
    /// that satisfies them, for capping event windows.
    pub fn lower_bound_count(&self) -> Option<usize> {
        if self.ops.is_empty() || !self.ops.iter().all(|(op, _)| matches!(op, Op::Gt | Op::Gte)) {
            return None;
        }
        let need = self
            .ops
            .iter()
            .map(|(op, limit)| if *op == Op::Gt { limit.floor() + 1.0 } else { limit.ceil() })
            .fold(0.0_f64, f64::max);
        Some(need.max(1.0) as usize)
    }

    pub fn describe(&self) -> String {
        let ops: Vec<String> = self.ops.iter().map(|(op, limit)| format!("{} {limit}", op.as_str())).collect();
        ops.join(" and ")
    }
}

/// A field-name alias: its field in the events of each named rule.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Alias {
    pub name: String,
    pub fields: Vec<(String, String)>,
}

/// A parsed correlation document (references not resolved yet).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Correlation {
    /// The `id`; `file:line` when it has none.
    pub id: String,
    pub title: String,
    pub name: Option<String>,
    pub level: Level,
    /// Whether the document states its `level`.
    pub has_level: bool,
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub file: String,
    pub line: usize,
    pub kind: Kind,
    /// Rule or correlation ids or names.
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan: SignedDuration,
    pub condition: Condition,
    pub aliases: Vec<Alias>,
    /// Whether the referenced rules also alert on their own.
    pub generate: bool,
    /// Fields whose distinct values the alert reports.
    pub fields: Vec<String>,
    /// `baseline` documents (kinds BaselineRate and FirstSeen).
    pub baseline: Option<BaselineParams>,
}

/// How a baseline learns and when it alerts.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BaselineParams {
    /// Rate baselines count per bucket (aligned to the Unix epoch).
    pub bucket: SignedDuration,
    /// The baseline is learned from the first `learn` of the data (from
    /// its first hit), unless a saved baseline is loaded.
    pub learn: SignedDuration,
    /// Alert when a bucket holds more than `multiplier` × the mean...
    pub multiplier: f64,
    /// ...or its robust z-score (median and MAD) exceeds this.
    pub zscore: f64,
    /// Buckets with fewer hits never alert.
    pub min_count: u64,
}

impl Correlation {
    /// How diagnostics and alerts name it.
    pub fn label(&self) -> String {
        if self.id.starts_with(&self.file) { self.title.clone() } else { self.id.clone() }
    }

    pub fn diagnostic(&self, code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic { rule: Some(self.label()), ..Diagnostic::new(code, &self.file, Some(self.line), message) }
    }

    /// Whether the alias `name` is defined, and its field for rule `rule_name`.
    pub fn alias_field(&self, alias: &str, rule_name: Option<&str>) -> Option<Option<&str>> {
        let alias = self.aliases.iter().find(|a| a.name == alias)?;
        Some(rule_name.and_then(|r| alias.fields.iter().find(|(n, _)| n == r).map(|(_, f)| f.as_str())))
    }
}

/// Parses `<int><unit>`: s, m, h, d, w, M (30 days), y (365 days).
pub fn parse_timespan(text: &str) -> Option<SignedDuration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let number: i64 = text[..text.len() - unit.len_utf8()].parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'M' => 30 * 86_400,
        'y' => 365 * 86_400,
        _ => return None,
    };
    Some(SignedDuration::from_secs(number.checked_mul(seconds)?))
}

fn strings(node: &Node) -> Option<Vec<String>> {
    match &node.kind {
        NodeKind::Scalar { text, .. } => Some(vec![text.clone()]),
        NodeKind::Seq(items) => items.iter().map(|n| n.as_str().map(str::to_owned)).collect(),
        NodeKind::Map(_) => None,
    }
}

/// What correlation and baseline documents share: the meta data, the
/// `rules` and `group-by` of their block (`key`), with defaults for the rest.
fn skeleton(doc: &Node, file: &str, key: &str, kind: Kind) -> Result<Correlation, Diagnostic> {
    let err = |line: usize, msg: String| Diagnostic::new(Code::RuleStructure, file, Some(line), msg);
    let block = doc.get(key).expect("called for documents with the block");
    let text = |key: &str| doc.get(key).and_then(Node::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let title = text("title").ok_or_else(|| err(doc.line, "missing 'title'".into()))?;
    let rules_node = block.get("rules").ok_or_else(|| err(block.line, format!("'{key}' without 'rules'")))?;
    let rules = strings(rules_node)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| err(rules_node.line, "'rules' must be a rule id or name, or a list of them".into()))?;
    let group_by = match block.get("group-by") {
        None => Vec::new(),
        Some(node) if node.is_null() => Vec::new(),
        Some(node) => strings(node).ok_or_else(|| err(node.line, "'group-by' must be a list of field names".into()))?,
    };
    let level = match doc.get("level") {
        None => Level::Medium,
        Some(node) => node.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
            err(node.line, "'level' must be one of informational, low, medium, high, critical".into())
        })?,
    };
    let list = |key: &str| doc.get(key).and_then(strings).unwrap_or_default();
    Ok(Correlation {
        id: text("id").unwrap_or_else(|| format!("{file}:{}", doc.line)),
        title: title.trim().to_owned(),
        name: text("name"),
        level,
        has_level: doc.get("level").is_some(),
        status: text("status"),
        tags: list("tags"),
        description: text("description"),
        file: file.to_owned(),
        line: doc.line,
        kind,
        rules,
        group_by,
        timespan: SignedDuration::from_secs(60),
        condition: Condition { ops: Vec::new(), field: Vec::new(), percentile: 50.0 },
        aliases: Vec::new(),
        generate: false,
        fields: list("fields"),
        baseline: None,
    })
}

/// The block under `key`, which must be a mapping.
fn block<'d>(doc: &'d Node, file: &str, key: &str) -> Result<&'d Node, Diagnostic> {
    let block = doc.get(key).expect("called for documents with the block");
    if !matches!(block.kind, NodeKind::Map(_)) {
        return Err(Diagnostic::new(Code::RuleStructure, file, Some(block.line), format!("'{key}' must be a mapping")));
    }
    Ok(block)
}

/// Compiles a document with a `correlation` block.
pub fn parse_correlation(doc: &Node, file: &str) -> Result<Correlation, Diagnostic> {
    let err = |line: usize, msg: String| Diagnostic::new(Code::RuleStructure, file, Some(line), msg);
    let block = block(doc, file, "correlation")?;
    let kind_node = block.get("type").ok_or_else(|| err(block.line, "correlation without 'type'".into()))?;
    let kind = kind_node
        .as_str()
        .and_then(Kind::parse)
        .filter(|k| !matches!(k, Kind::BaselineRate | Kind::FirstSeen))
        .ok_or_else(|| {
            err(
                kind_node.line,
                format!(
                    "unknown correlation type '{}' (expected event_count, value_count, temporal, temporal_ordered, value_sum, value_avg or value_percentile)",
                    kind_node.as_str().unwrap_or("?")
                ),
            )
        })?;
    let mut correlation = skeleton(doc, file, "correlation", kind)?;
    let span_node = block.get("timespan").ok_or_else(|| err(block.line, "correlation without 'timespan'".into()))?;
    correlation.timespan = span_node.as_str().and_then(parse_timespan).ok_or_else(|| {
        err(
            span_node.line,
            format!("bad timespan '{}' (a number and s, m, h, d: 90m)", span_node.as_str().unwrap_or("?")),
        )
    })?;
    correlation.condition = parse_condition(block.get("condition"), kind, correlation.rules.len(), file, block.line)?;
    correlation.aliases = parse_aliases(block.get("aliases"), file)?;
    correlation.generate = match block.get("generate").or_else(|| doc.get("generate")) {
        None => false,
        Some(node) => match node.as_str() {
            Some("true") => true,
            Some("false") => false,
            _ => return Err(err(node.line, "'generate' must be true or false".into())),
        },
    };
    Ok(correlation)
}

/// Compiles a document with a ferret `baseline` block:
///
/// ```yaml
/// baseline:
///     type: rate            # or first_seen
///     rules: [ssh_failed_login]
///     group-by: [user.name] # the entity
///     field: source.ip      # first_seen: the value that must be known
///     bucket: 1h            # rate: the counting bucket
///     learn: 1d             # learn from the first day of the data
///     multiplier: 3.0       # rate: bucket > 3 × the learned mean...
///     zscore: 3.5           # ...or robust z-score above 3.5
///     min_count: 5          # rate: smaller buckets never alert
/// ```
pub fn parse_baseline(doc: &Node, file: &str) -> Result<Correlation, Diagnostic> {
    let err = |line: usize, msg: String| Diagnostic::new(Code::RuleStructure, file, Some(line), msg);
    let block = block(doc, file, "baseline")?;
    let kind = match block.get("type").and_then(Node::as_str) {
        Some("rate") => Kind::BaselineRate,
        Some("first_seen") => Kind::FirstSeen,
        _ => return Err(err(block.line, "a baseline needs 'type: rate' or 'type: first_seen'".into())),
    };
    let mut baseline = skeleton(doc, file, "baseline", kind)?;
    let field = match block.get("field") {
        None => Vec::new(),
        Some(node) => strings(node).ok_or_else(|| err(node.line, "'field' must be a field name or a list".into()))?,
    };
    if kind == Kind::FirstSeen && field.is_empty() {
        return Err(err(block.line, "a first_seen baseline needs 'field' (the value that must be known)".into()));
    }
    let span = |key: &str, default: i64| -> Result<SignedDuration, Diagnostic> {
        match block.get(key) {
            None => Ok(SignedDuration::from_secs(default)),
            Some(node) => node.as_str().and_then(parse_timespan).ok_or_else(|| {
                err(node.line, format!("bad {key} '{}' (a number and s, m, h, d)", node.as_str().unwrap_or("?")))
            }),
        }
    };
    let number = |key: &str, default: f64| -> Result<f64, Diagnostic> {
        match block.get(key) {
            None => Ok(default),
            Some(node) => node
                .as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| err(node.line, format!("'{key}' must be a non-negative number"))),
        }
    };
    let params = BaselineParams {
        bucket: span("bucket", 3600)?,
        learn: span("learn", 86_400)?,
        multiplier: number("multiplier", 3.0)?,
        zscore: number("zscore", 3.5)?,
        min_count: number("min_count", 5.0)? as u64,
    };
    // Windows and sweeps work in buckets.
    baseline.timespan = params.bucket;
    baseline.condition.field = field;
    baseline.baseline = Some(params);
    Ok(baseline)
}

fn parse_condition(
    node: Option<&Node>,
    kind: Kind,
    rule_count: usize,
    file: &str,
    block_line: usize,
) -> Result<Condition, Diagnostic> {
    let err = |line: usize, msg: String| Diagnostic::new(Code::RuleStructure, file, Some(line), msg);
    let mut condition = Condition { ops: Vec::new(), field: Vec::new(), percentile: 50.0 };
    let Some(node) = node else {
        if kind.is_temporal() {
            // pySigma's default: every referenced rule seen.
            condition.ops.push((Op::Gte, rule_count as f64));
            return Ok(condition);
        }
        return Err(err(block_line, format!("a {} correlation needs a 'condition'", kind.as_str())));
    };
    let NodeKind::Map(entries) = &node.kind else {
        return Err(err(node.line, "'condition' must be a mapping such as {gte: 10}".into()));
    };
    for (key, value) in entries {
        let name = key.as_str().unwrap_or_default();
        match name {
            "field" => {
                condition.field = strings(value)
                    .filter(|f| !f.is_empty())
                    .ok_or_else(|| err(value.line, "'field' must be a field name or a list of them".into()))?;
            }
            "percentile" => {
                condition.percentile = value
                    .as_str()
                    .and_then(|s| s.parse::<f64>().ok())
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| err(value.line, "'percentile' must be a number from 0 to 100".into()))?;
            }
            _ => {
                let op = Op::parse(name).ok_or_else(|| {
                    err(key.line, format!("unknown condition operator '{name}' (gt, gte, lt, lte, eq, neq, field)"))
                })?;
                let limit = value
                    .as_str()
                    .and_then(|s| s.parse::<f64>().ok())
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| err(value.line, format!("'{name}' needs a number")))?;
                condition.ops.push((op, limit));
            }
        }
    }
    if condition.ops.is_empty() {
        if kind.is_temporal() {
            condition.ops.push((Op::Gte, rule_count as f64));
        } else {
            return Err(err(node.line, "the condition has no operator (gt, gte, lt, lte, eq, neq)".into()));
        }
    }
    if kind.needs_field() && condition.field.is_empty() {
        return Err(err(node.line, format!("a {} correlation needs 'field' in its condition", kind.as_str())));
    }
    if kind.is_metric() && condition.field.len() > 1 {
        return Err(err(node.line, format!("a {} correlation reads one numeric field", kind.as_str())));
    }
    Ok(condition)
}

fn parse_aliases(node: Option<&Node>, file: &str) -> Result<Vec<Alias>, Diagnostic> {
    let err = |line: usize, msg: &str| Diagnostic::new(Code::RuleStructure, file, Some(line), msg);
    let Some(node) = node else { return Ok(Vec::new()) };
    let NodeKind::Map(entries) = &node.kind else {
        return Err(err(node.line, "'aliases' must map alias names to {rule name: field}"));
    };
    let mut aliases = Vec::new();
    for (key, value) in entries {
        let NodeKind::Map(per_rule) = &value.kind else {
            return Err(err(value.line, "an alias maps rule names to field names"));
        };
        let fields = per_rule
            .iter()
            .map(|(rule, field)| match (rule.as_str(), field.as_str()) {
                (Some(r), Some(f)) => Ok((r.to_owned(), f.to_owned())),
                _ => Err(err(field.line, "an alias maps rule names to field names")),
            })
            .collect::<Result<_, _>>()?;
        aliases.push(Alias { name: key.as_str().unwrap_or_default().to_owned(), fields });
    }
    Ok(aliases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("90m"), Some(SignedDuration::from_secs(5400)));
        assert_eq!(parse_timespan("1d"), Some(SignedDuration::from_secs(86_400)));
        assert_eq!(parse_timespan("2w"), Some(SignedDuration::from_secs(14 * 86_400)));
        assert_eq!(parse_timespan("0s"), None);
        assert_eq!(parse_timespan("5"), None);
        assert_eq!(parse_timespan("5x"), None);
        assert_eq!(parse_timespan("m"), None);
    }

    #[test]
    fn lower_bounds() {
        let c = |ops: Vec<(Op, f64)>| Condition { ops, field: vec![], percentile: 50.0 };
        assert_eq!(c(vec![(Op::Gte, 10.0)]).lower_bound_count(), Some(10));
        assert_eq!(c(vec![(Op::Gt, 10.0)]).lower_bound_count(), Some(11));
        assert_eq!(c(vec![(Op::Gt, 100.0), (Op::Lte, 200.0)]).lower_bound_count(), None);
        assert!(c(vec![(Op::Gt, 100.0), (Op::Lte, 200.0)]).holds(150.0));
        assert!(!c(vec![(Op::Gt, 100.0), (Op::Lte, 200.0)]).holds(201.0));
    }
}
