//! Sigma filters (meta filters, `sigma-filters-specification.md`): a
//! document with a `filter` block that narrows other rules without editing
//! them, e.g. to exclude an administrator's account in one environment.
//!
//! Semantics follow pySigma (SIGMA.md D9/G1-G5): the filter's condition is
//! ANDed with the rule's, `(rule condition) and (filter condition)`, so an
//! exclusion is written `condition: not selection`; a filter applies to the
//! rules it names (by id or `name`, or `any`) whose logsource its own
//! logsource contains.

use crate::detection::{Expr, Search};
use crate::diagnostic::{Code, Diagnostic};
use crate::rule::{Ctx, Logsource, Rule, compile_detection};
use crate::yaml::{Node, NodeKind};

/// Which rules a filter applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    /// Every rule whose logsource the filter's contains.
    Any,
    /// Rule ids or names.
    Rules(Vec<String>),
}

/// A compiled filter document.
#[derive(Clone, Debug)]
pub struct Filter {
    pub title: String,
    pub file: String,
    pub line: usize,
    pub logsource: Logsource,
    pub targets: Targets,
    searches: Vec<Search>,
    condition: Expr,
    condition_text: String,
}

pub(crate) fn compile_filter(
    doc: &Node,
    file: &str,
    ctx: &Ctx<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Filter, Diagnostic> {
    let err = |line: usize, msg: &str| Diagnostic::new(Code::RuleStructure, file, Some(line), msg);
    let title = doc.get("title").and_then(Node::as_str).ok_or_else(|| err(doc.line, "filter without 'title'"))?;
    let logsource =
        doc.get("logsource").map(Logsource::from_node).ok_or_else(|| err(doc.line, "filter without 'logsource'"))?;
    let block = doc.get("filter").expect("called for filter documents");
    let targets = match block.get("rules").map(|n| &n.kind) {
        Some(NodeKind::Scalar { text, .. }) if text == "any" => Targets::Any,
        Some(NodeKind::Scalar { text, .. }) => Targets::Rules(vec![text.clone()]),
        Some(NodeKind::Seq(items)) if items.is_empty() => Targets::Any,
        Some(NodeKind::Seq(items)) => {
            Targets::Rules(items.iter().filter_map(Node::as_str).map(str::to_owned).collect())
        }
        _ => return Err(err(block.line, "a filter needs 'rules': a list of rule ids or names, or 'any'")),
    };
    let detection = compile_detection(block, &["rules"], file, ctx, diags)?;
    if !detection.condition_text.contains("not ") {
        diags.push(Diagnostic::new(
            Code::Lint,
            file,
            Some(block.line),
            "the filter's condition has no 'not': it is ANDed with the rule's, so it restricts the rule to matching events instead of excluding them",
        ));
    }
    Ok(Filter {
        title: title.to_owned(),
        file: file.to_owned(),
        line: doc.line,
        logsource,
        targets,
        searches: detection.searches,
        condition: detection.condition,
        condition_text: detection.condition_text,
    })
}

impl Filter {
    /// Does the filter apply to `rule`?
    pub fn applies_to(&self, rule: &Rule) -> bool {
        let named = match &self.targets {
            Targets::Any => true,
            Targets::Rules(refs) => refs.iter().any(|r| *r == rule.id || rule.name.as_deref() == Some(r)),
        };
        named && self.logsource.contains(&rule.logsource)
    }

    /// Appends the filter to the rule: its searches (renamed so they cannot
    /// collide) and `and (filter condition)`.
    pub fn apply(&self, rule: &mut Rule, nth: usize) {
        let detection = &mut rule.detection;
        let offset = detection.searches.len();
        for search in &self.searches {
            let mut search = search.clone();
            search.name = format!("_filter{nth}_{}", search.name);
            detection.searches.push(search);
        }
        let filter_expr = shift(&self.condition, offset);
        let original = std::mem::replace(&mut detection.condition, Expr::Or(Vec::new()));
        detection.condition = Expr::And(vec![original, filter_expr]);
        detection.condition_text =
            format!("({}) and filter '{}' ({})", detection.condition_text, self.title, self.condition_text);
    }
}

fn shift(expr: &Expr, offset: usize) -> Expr {
    match expr {
        Expr::Search(i) => Expr::Search(i + offset),
        Expr::Not(inner) => Expr::Not(Box::new(shift(inner, offset))),
        Expr::And(terms) => Expr::And(terms.iter().map(|t| shift(t, offset)).collect()),
        Expr::Or(terms) => Expr::Or(terms.iter().map(|t| shift(t, offset)).collect()),
    }
}
