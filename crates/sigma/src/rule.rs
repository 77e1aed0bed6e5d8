//! Rule documents: YAML nodes → a compiled [`Rule`], or diagnostics.

use ferret_model::{FieldNames, Level};

use crate::condition::{self, Cond};
use crate::detection::{Detection, Expr, Item, Search, Target};
use crate::diagnostic::{Code, Diagnostic};
use crate::modifiers::{Chain, Modifier, RawValue, compile_value};
use crate::yaml::{Node, NodeKind};

/// What compiling a rule needs besides its text.
pub struct Ctx<'a> {
    pub names: &'a FieldNames,
    /// Values for `expand` placeholders (`%DomainControllers%`).
    pub placeholders: &'a std::collections::HashMap<String, Vec<String>>,
}

/// The abstract log source a rule is written for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Logsource {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

impl std::fmt::Display for Logsource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [("product", &self.product), ("category", &self.category), ("service", &self.service)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
            .collect();
        write!(f, "{{{}}}", parts.join(", "))
    }
}

impl Logsource {
    pub(crate) fn from_node(node: &Node) -> Self {
        let get = |key: &str| node.get(key).and_then(Node::as_str).map(str::to_lowercase);
        Logsource { product: get("product"), category: get("category"), service: get("service") }
    }

    /// Does this (a filter's logsource) contain `other` (a rule's)? Every key
    /// this one sets must be the same in `other`.
    pub fn contains(&self, other: &Logsource) -> bool {
        let within = |a: &Option<String>, b: &Option<String>| a.is_none() || a == b;
        within(&self.product, &other.product)
            && within(&self.category, &other.category)
            && within(&self.service, &other.service)
    }
}

/// A loaded, compiled detection rule.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    /// The rule's `id`; `file:line` of its document when it has none.
    pub id: String,
    pub title: String,
    pub level: Level,
    /// Whether the document states its `level` (see `correlation::set`:
    /// a rule with a level of its own keeps alerting when a correlation
    /// uses it).
    pub has_level: bool,
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub description: Option<String>,
    /// The rule's `name`, by which correlations and filters may refer to it.
    pub name: Option<String>,
    /// SigmaHQ's `regression_tests_path` (relative to the corpus root).
    pub regression_tests_path: Option<String>,
    /// The rule file (`builtin:` prefix for embedded rules) and line.
    pub file: String,
    pub line: usize,
    pub logsource: Logsource,
    pub detection: Detection,
}

impl Rule {
    /// How diagnostics name the rule: its id, or its title when the id was
    /// made up from the file and line.
    pub fn label(&self) -> String {
        if self.id.starts_with(&self.file) { self.title.clone() } else { self.id.clone() }
    }

    /// A diagnostic about this rule, at its document's line.
    pub fn diagnostic(&self, code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic { rule: Some(self.label()), ..Diagnostic::new(code, &self.file, Some(self.line), message) }
    }
}

/// What loading one document gave.
pub enum Loaded {
    Rule(Box<Rule>),
    Filter(Box<crate::filter::Filter>),
    Correlation(Box<crate::correlation::Correlation>),
    /// Not a rule ferret runs (with the reason in a diagnostic).
    Skipped,
}

/// Compiles one YAML document of `file`. Diagnostics (errors and lints) are
/// pushed to `diags`; an error means the document is skipped.
pub fn load_document(doc: &Node, file: &str, ctx: &Ctx<'_>, diags: &mut Vec<Diagnostic>) -> Loaded {
    let start = diags.len();
    let correlation = if doc.get("correlation").is_some() {
        Some(crate::correlation::spec::parse_correlation(doc, file))
    } else if doc.get("baseline").is_some() {
        Some(crate::correlation::spec::parse_baseline(doc, file))
    } else {
        None
    };
    if let Some(parsed) = correlation {
        return match parsed {
            Ok(correlation) => Loaded::Correlation(Box::new(correlation)),
            Err(d) => {
                let label = doc.get("id").or_else(|| doc.get("title")).and_then(Node::as_str).map(str::to_owned);
                diags.push(Diagnostic { rule: label, ..d });
                Loaded::Skipped
            }
        };
    }
    if doc.get("filter").is_some() {
        return match crate::filter::compile_filter(doc, file, ctx, diags) {
            Ok(filter) => Loaded::Filter(Box::new(filter)),
            Err(d) => {
                diags.push(d);
                Loaded::Skipped
            }
        };
    }
    let loaded = compile(doc, file, ctx, diags);
    let label =
        doc.get("id").and_then(Node::as_str).or_else(|| doc.get("title").and_then(Node::as_str)).map(str::to_owned);
    for d in &mut diags[start..] {
        d.rule = d.rule.take().or_else(|| label.clone());
    }
    match loaded {
        Ok(rule) => Loaded::Rule(Box::new(rule)),
        Err(d) => {
            diags.push(Diagnostic { rule: label, ..d });
            Loaded::Skipped
        }
    }
}

fn compile(doc: &Node, file: &str, ctx: &Ctx<'_>, diags: &mut Vec<Diagnostic>) -> Result<Rule, Diagnostic> {
    let err = |code, line: usize, msg: String| Diagnostic::new(code, file, Some(line), msg);
    if !matches!(doc.kind, NodeKind::Map(_)) {
        return Err(err(
            Code::RuleStructure,
            doc.line,
            format!("a rule is a mapping, this document is {}", doc.kind_name()),
        ));
    }
    let text = |key: &str| doc.get(key).and_then(Node::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let title = text("title").ok_or_else(|| err(Code::RuleStructure, doc.line, "missing 'title'".into()))?;
    let logsource_node =
        doc.get("logsource").ok_or_else(|| err(Code::RuleStructure, doc.line, "missing 'logsource'".into()))?;
    let detection_node =
        doc.get("detection").ok_or_else(|| err(Code::RuleStructure, doc.line, "missing 'detection'".into()))?;
    let level = match doc.get("level") {
        None => Level::Medium,
        Some(node) => node.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
            err(
                Code::RuleStructure,
                node.line,
                "'level' must be one of informational, low, medium, high, critical".to_owned(),
            )
        })?,
    };
    let tags = match doc.get("tags").map(|n| &n.kind) {
        Some(NodeKind::Seq(items)) => items.iter().filter_map(Node::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let logsource = Logsource::from_node(logsource_node);
    let detection = compile_detection(detection_node, &["condition"], file, ctx, diags)?;
    Ok(Rule {
        // Rules without an id still need a unique one for alerts.
        id: text("id").unwrap_or_else(|| format!("{file}:{}", doc.line)),
        title,
        level,
        has_level: doc.get("level").is_some(),
        status: text("status"),
        tags,
        description: text("description"),
        regression_tests_path: text("regression_tests_path"),
        name: text("name"),
        file: file.to_owned(),
        line: doc.line,
        logsource,
        detection,
    })
}

/// Compiles a detection block; keys in `reserved` other than `condition`
/// (a filter's `rules`) are not search identifiers.
pub(crate) fn compile_detection(
    node: &Node,
    reserved: &[&str],
    file: &str,
    ctx: &Ctx<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Detection, Diagnostic> {
    let err = |code, line: usize, msg: String| Diagnostic::new(code, file, Some(line), msg);
    let NodeKind::Map(entries) = &node.kind else {
        return Err(err(Code::RuleStructure, node.line, "'detection' must be a mapping".into()));
    };
    let mut searches = Vec::new();
    let mut condition_node = None;
    for (key, value) in entries {
        let name = key.as_str().unwrap_or_default();
        if name == "condition" {
            condition_node = Some(value);
            continue;
        }
        if reserved.contains(&name) {
            continue;
        }
        if name == "timeframe" {
            return Err(err(
                Code::Unsupported,
                key.line,
                "'timeframe' belongs to the removed aggregation syntax; use a correlation rule".into(),
            ));
        }
        let search = compile_search(name, value, file, ctx, diags)?;
        searches.push(search);
    }
    let condition_node =
        condition_node.ok_or_else(|| err(Code::RuleStructure, node.line, "'detection' has no 'condition'".into()))?;
    let conditions: Vec<&Node> = match &condition_node.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        _ => vec![condition_node],
    };
    let mut exprs = Vec::new();
    let mut texts = Vec::new();
    for cond_node in conditions {
        let text = cond_node
            .as_str()
            .ok_or_else(|| err(Code::ConditionSyntax, cond_node.line, "a condition is a string".into()))?;
        let cond = condition::parse(text)
            .map_err(|m| err(Code::ConditionSyntax, cond_node.line, format!("{m} in condition '{text}'")))?;
        exprs.push(resolve(&cond, &searches).map_err(|m| err(Code::UndefinedIdentifier, cond_node.line, m))?);
        texts.push(cond.to_string());
    }
    let condition = if exprs.len() == 1 { exprs.pop().unwrap() } else { Expr::Or(exprs) };
    Ok(Detection { searches, condition, condition_text: texts.join(" or ") })
}

/// Resolves identifier names and `x of` selectors to search indices.
fn resolve(cond: &Cond, searches: &[Search]) -> Result<Expr, String> {
    Ok(match cond {
        Cond::Ident(name) => Expr::Search(
            searches
                .iter()
                .position(|s| s.name == *name)
                .ok_or_else(|| format!("the condition names '{name}', which the detection does not define"))?,
        ),
        Cond::Not(inner) => Expr::Not(Box::new(resolve(inner, searches)?)),
        Cond::And(terms) => Expr::And(terms.iter().map(|t| resolve(t, searches)).collect::<Result<_, _>>()?),
        Cond::Or(terms) => Expr::Or(terms.iter().map(|t| resolve(t, searches)).collect::<Result<_, _>>()?),
        Cond::Of { all, pattern } => {
            let selected: Vec<Expr> = searches
                .iter()
                .enumerate()
                .filter(|(_, s)| match pattern {
                    None => !s.name.starts_with('_'),
                    Some(p) => condition::pattern_matches(p, &s.name),
                })
                .map(|(i, _)| Expr::Search(i))
                .collect();
            if selected.is_empty() {
                return Err(format!("'{cond}' selects no search identifier"));
            }
            if *all { Expr::And(selected) } else { Expr::Or(selected) }
        }
    })
}

fn compile_search(
    name: &str,
    node: &Node,
    file: &str,
    ctx: &Ctx<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Search, Diagnostic> {
    let err = |code, line: usize, msg: String| Diagnostic::new(code, file, Some(line), msg);
    let alternatives = match &node.kind {
        NodeKind::Map(entries) => {
            if entries.is_empty() {
                return Err(err(Code::RuleStructure, node.line, format!("search identifier '{name}' is empty")));
            }
            vec![compile_map(entries, file, ctx, diags)?]
        }
        NodeKind::Seq(items) if items.iter().all(|i| matches!(i.kind, NodeKind::Map(_))) && !items.is_empty() => items
            .iter()
            .map(|i| match &i.kind {
                NodeKind::Map(entries) => compile_map(entries, file, ctx, diags),
                _ => unreachable!(),
            })
            .collect::<Result<_, _>>()?,
        NodeKind::Seq(items)
            if items.iter().all(|i| matches!(i.kind, NodeKind::Scalar { .. })) && !items.is_empty() =>
        {
            vec![vec![compile_item(None, &[], node, node.line, file, ctx, diags)?]]
        }
        NodeKind::Scalar { .. } if !node.is_null() => {
            vec![vec![compile_item(None, &[], node, node.line, file, ctx, diags)?]]
        }
        _ => {
            return Err(err(
                Code::RuleStructure,
                node.line,
                format!("search identifier '{name}' must be a mapping, a list of mappings or a list of keywords"),
            ));
        }
    };
    Ok(Search { name: name.to_owned(), alternatives })
}

fn compile_map(
    entries: &[(Node, Node)],
    file: &str,
    ctx: &Ctx<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Vec<Item>, Diagnostic> {
    entries
        .iter()
        .map(|(key, value)| {
            let key_text = key.as_str().unwrap_or_default();
            let mut parts = key_text.split('|');
            let field = parts.next().unwrap_or_default();
            let mods: Vec<&str> = parts.collect();
            let field = (!field.is_empty()).then_some(field);
            compile_item(field, &mods, value, key.line, file, ctx, diags)
        })
        .collect()
}

fn compile_item(
    field: Option<&str>,
    mod_names: &[&str],
    values: &Node,
    line: usize,
    file: &str,
    ctx: &Ctx<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Item, Diagnostic> {
    let err = |(code, msg): (Code, String)| Diagnostic::new(code, file, Some(line), msg);
    let mut chain = Chain::parse(mod_names).map_err(err)?;
    if field.is_none() {
        let positional = [Modifier::Contains, Modifier::StartsWith, Modifier::EndsWith, Modifier::Re, Modifier::Cidr];
        if chain.mods.iter().any(|m| matches!(m, Modifier::Exists | Modifier::FieldRef)) {
            return Err(err((Code::InvalidModifierChain, "keywords cannot take 'exists' or 'fieldref'".into())));
        }
        // Keywords are substring searches (SIGMA.md D2).
        if !chain.mods.iter().any(|m| positional.contains(m)) {
            chain.mods.push(Modifier::Contains);
        }
    }
    let raw: Vec<&Node> = match &values.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        _ => vec![values],
    };
    if let Some(bad) = raw.iter().find(|n| !matches!(n.kind, NodeKind::Scalar { .. })) {
        return Err(Diagnostic::new(Code::RuleStructure, file, Some(bad.line), "values must be scalars"));
    }
    let key = std::iter::once(field.unwrap_or("")).chain(mod_names.iter().copied()).collect::<Vec<_>>().join("|");
    if chain.all && raw.len() == 1 {
        diags.push(Diagnostic::new(
            Code::Lint,
            file,
            Some(line),
            format!("'{key}': 'all' on a single value has no effect"),
        ));
    }
    if raw.len() > 1 && raw.iter().any(|n| n.is_null()) {
        diags.push(Diagnostic::new(Code::Lint, file, Some(line), format!("'{key}': null inside a value list")));
    }
    let mut groups = Vec::new();
    let mut resolve = |name: &str| ctx.names.intern(name);
    let placeholders = ctx.placeholders;
    for node in &raw {
        let value = RawValue { text: node.as_str().unwrap_or_default(), null: node.is_null() };
        groups.push(compile_value(&chain, &value, placeholders, &mut resolve).map_err(err)?);
    }
    if raw.is_empty() {
        // `A: []` means null (SIGMA.md EC-62).
        groups.push(vec![crate::pattern::Pattern::Null]);
    }
    let target = match field {
        Some(name) => Target::Field { field: ctx.names.intern(name), name: name.to_owned() },
        None => Target::Keywords,
    };
    let values = raw
        .iter()
        .map(|n| if n.is_null() { "null".to_owned() } else { n.as_str().unwrap_or_default().to_owned() })
        .collect();
    Ok(Item { target, groups, all: chain.all, negate: chain.negate, key, values, plan: Default::default() })
}
