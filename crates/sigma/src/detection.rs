//! The compiled detection: search identifiers made of items, and the
//! condition over them as an expression of identifier indices.

use ferret_model::Field;

use crate::pattern::Pattern;

/// What an item looks at.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Target {
    Field {
        field: Field,
        name: String,
    },
    /// A keyword: any value of the event (or the raw line).
    Keywords,
}

/// One `key: values` entry of a selection.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Item {
    pub target: Target,
    /// OR-groups of patterns; the groups are ORed, or ANDed with `all`.
    pub groups: Vec<Vec<Pattern>>,
    pub all: bool,
    /// `neq`: the whole item is negated (an absent field matches).
    pub negate: bool,
    /// The key as written (`CommandLine|contains|all`), for explanations.
    pub key: String,
    /// The values as written, for explanations.
    pub values: Vec<String>,
    /// How the scanner evaluates the item (worked out on first use).
    #[serde(skip)]
    pub plan: crate::value_set::PlanCell,
}

/// A search identifier: a list of maps (ORed), each map a list of items
/// (ANDed). A plain map is a list of one.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Search {
    pub name: String,
    pub alternatives: Vec<Vec<Item>>,
}

/// The condition with identifiers resolved to indices into the searches.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Expr {
    Search(usize),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Detection {
    pub searches: Vec<Search>,
    pub condition: Expr,
    /// The condition as parsed, precedence made explicit.
    pub condition_text: String,
}
