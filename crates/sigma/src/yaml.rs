//! A small YAML tree that keeps what Sigma needs and typed YAML loaders
//! lose: every scalar's exact text and quoting style (`00000429` is not 429,
//! `yes` is not `true`), line numbers for diagnostics, and an error on
//! duplicate keys (YAML forbids them; PyYAML silently keeps the last).
//! Built from `saphyr-parser` events.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// 1-based line of the node's first character.
    pub line: usize,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Scalar { text: String, plain: bool },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax problem with the line it was found on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A plain (unquoted) `null`, `~` or empty scalar: YAML's null.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, plain: true } if matches!(text.as_str(), "null" | "Null" | "NULL" | "~" | ""))
    }

    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

fn line_of(span: &Span) -> usize {
    span.start.line()
}

/// Parses every document of a YAML text.
pub fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut docs = Vec::new();
    // Open collections: the node being built and, for maps, a pending key.
    // Keys seen per map (duplicates are an error): foldhash, as SipHash was
    // a twentieth of parsing the SigmaHQ corpus.
    let mut stack: Vec<(Node, Option<Node>, foldhash::HashMap<String, usize>)> = Vec::new();
    let mut anchors: foldhash::HashMap<usize, Node> = Default::default();
    let mut anchor_of: Vec<usize> = Vec::new();
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| YamlError { line: e.marker().line(), message: e.info().to_owned() })?;
        let line = line_of(&span);
        let complete = match event {
            Event::Scalar(text, style, anchor, _) => {
                let node = Node {
                    line,
                    kind: NodeKind::Scalar { text: text.into_owned(), plain: style == ScalarStyle::Plain },
                };
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                Some(node)
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => Some(node.clone()),
                None => return Err(YamlError { line, message: "unknown alias".into() }),
            },
            Event::SequenceStart(anchor, _) => {
                anchor_of.push(anchor);
                stack.push((Node { line, kind: NodeKind::Seq(Vec::new()) }, None, Default::default()));
                None
            }
            Event::MappingStart(anchor, _) => {
                anchor_of.push(anchor);
                stack.push((Node { line, kind: NodeKind::Map(Vec::new()) }, None, Default::default()));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, _, _) = stack.pop().expect("balanced collection events");
                let anchor = anchor_of.pop().unwrap_or(0);
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                Some(node)
            }
            _ => None,
        };
        let Some(node) = complete else { continue };
        let Some((parent, pending_key, seen)) = stack.last_mut() else {
            docs.push(node);
            continue;
        };
        match &mut parent.kind {
            NodeKind::Seq(items) => items.push(node),
            NodeKind::Map(entries) => match pending_key.take() {
                None => {
                    if let Some(key) = node.as_str()
                        && let Some(first) = seen.insert(key.to_owned(), node.line)
                    {
                        return Err(YamlError {
                            line: node.line,
                            message: format!("duplicate key '{key}' (first on line {first})"),
                        });
                    }
                    *pending_key = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
            NodeKind::Scalar { .. } => unreachable!("scalars are never on the stack"),
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_scalar_text_and_style() {
        let docs = parse("a: 00000429\nb: 'yes'\nc: yes\nd: null\ne:\nf: \"x\\\\y\"\n").unwrap();
        let doc = &docs[0];
        assert_eq!(doc.get("a").unwrap().as_str(), Some("00000429"));
        assert_eq!(doc.get("b").unwrap().kind, NodeKind::Scalar { text: "yes".into(), plain: false });
        assert_eq!(doc.get("c").unwrap().kind, NodeKind::Scalar { text: "yes".into(), plain: true });
        assert!(doc.get("d").unwrap().is_null() && doc.get("e").unwrap().is_null());
        assert!(!doc.get("b").unwrap().is_null());
        assert_eq!(doc.get("f").unwrap().as_str(), Some("x\\y"), "YAML unescapes double quotes");
        assert_eq!(doc.get("c").unwrap().line, 3);
    }

    #[test]
    fn multi_document_and_duplicate_keys() {
        assert_eq!(parse("a: 1\n---\nb: [1, 2]\n").unwrap().len(), 2);
        let err = parse("detection:\n    sel:\n        A: 1\n        A: 2\n").unwrap_err();
        assert_eq!(err.line, 4);
        assert!(err.message.contains("duplicate key 'A'"));
        assert!(parse("a: [1, 2").is_err());
    }
}
