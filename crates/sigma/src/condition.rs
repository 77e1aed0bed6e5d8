//! The condition language: `or` < `and` < `not` < `x of` < parentheses
//! (SIGMA.md §1.6). Operators are lowercase only; tokens are whole words,
//! so `orgs and tlds` is two identifiers around `and`.

use std::fmt;

/// A parsed condition over search-identifier names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    Ident(String),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    /// `1 of x*` / `any of x*` (`all: false`) and `all of x*`; `them` is
    /// the pattern `None`.
    Of {
        all: bool,
        pattern: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
    Pipe,
}

/// Tokenizes and parses a condition string.
pub fn parse(text: &str) -> Result<Cond, String> {
    let tokens = tokenize(text)?;
    if tokens.contains(&Token::Pipe) {
        return Err(
            "the pipe syntax (`| count() by ...`) was removed from Sigma; write a correlation rule instead".into()
        );
    }
    let mut parser = CondParser { tokens, pos: 0 };
    let cond = parser.or()?;
    match parser.tokens.get(parser.pos) {
        None => Ok(cond),
        Some(Token::Word(w)) if matches!(w.to_lowercase().as_str(), "and" | "or" | "not") => {
            Err(format!("'{w}': condition operators are lowercase (and, or, not)"))
        }
        Some(token) => Err(format!("unexpected {} after a complete condition", describe(token))),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '|' => {
                chars.next();
                tokens.push(Token::Pipe);
            }
            _ => {
                let mut end = i;
                while let Some(&(j, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '|') {
                        break;
                    }
                    end = j + c.len_utf8();
                    chars.next();
                }
                tokens.push(Token::Word(text[i..end].to_owned()));
            }
        }
    }
    Ok(tokens)
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(w) => format!("'{w}'"),
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::Pipe => "'|'".into(),
    }
}

struct CondParser {
    tokens: Vec<Token>,
    pos: usize,
}

impl CondParser {
    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.pos) {
            Some(Token::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut terms = vec![self.and()?];
        while self.peek_word() == Some("or") {
            self.pos += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 { terms.pop().unwrap() } else { Cond::Or(terms) })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut terms = vec![self.not()?];
        while self.peek_word() == Some("and") {
            self.pos += 1;
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 { terms.pop().unwrap() } else { Cond::And(terms) })
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.peek_word() == Some("not") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Cond, String> {
        let Some(token) = self.tokens.get(self.pos).cloned() else {
            return Err("the condition ends where an identifier or '(' was expected".into());
        };
        self.pos += 1;
        match token {
            Token::Open => {
                let inner = self.or()?;
                match self.tokens.get(self.pos) {
                    Some(Token::Close) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err("missing ')'".into()),
                }
            }
            Token::Close | Token::Pipe => Err(format!("unexpected {}", describe(&token))),
            Token::Word(word) => self.word(word),
        }
    }

    fn word(&mut self, word: String) -> Result<Cond, String> {
        match word.as_str() {
            "and" | "or" | "not" | "of" => Err(format!("'{word}' where an identifier was expected")),
            "near" => {
                Err("'near' (a legacy aggregation) is not part of Sigma 2; write a temporal correlation rule instead"
                    .into())
            }
            "AND" | "OR" | "NOT" | "Not" | "And" | "Or" => {
                Err(format!("'{word}': condition operators are lowercase (and, or, not)"))
            }
            "1" | "any" | "all" if self.peek_word() == Some("of") => {
                self.pos += 1;
                let pattern = match self.tokens.get(self.pos) {
                    Some(Token::Word(p)) if !matches!(p.as_str(), "and" | "or" | "not") => p.clone(),
                    _ => return Err(format!("'{word} of' needs 'them' or an identifier pattern")),
                };
                self.pos += 1;
                Ok(Cond::Of { all: word == "all", pattern: (pattern != "them").then_some(pattern) })
            }
            _ if self.peek_word() == Some("of") => {
                Err(format!("'{word} of': only '1 of', 'any of' and 'all of' are Sigma quantifiers"))
            }
            _ => Ok(Cond::Ident(word)),
        }
    }
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, terms: &[Cond], op: &str| {
            write!(f, "(")?;
            for (i, t) in terms.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{t}")?;
            }
            write!(f, ")")
        };
        match self {
            Cond::Ident(name) => write!(f, "{name}"),
            Cond::Not(inner) => write!(f, "not {inner}"),
            Cond::And(terms) => join(f, terms, "and"),
            Cond::Or(terms) => join(f, terms, "or"),
            Cond::Of { all, pattern } => {
                write!(f, "{} of {}", if *all { "all" } else { "1" }, pattern.as_deref().unwrap_or("them"))
            }
        }
    }
}

/// Does a `1 of`/`all of` pattern (`*` matches any run) select `name`?
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(text: &str) -> String {
        parse(text).map(|c| c.to_string()).unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn precedence_or_and_not() {
        assert_eq!(show("a or b and c"), "(a or (b and c))", "EC-34");
        assert_eq!(show("not a and b"), "(not a and b)", "EC-35");
        assert_eq!(show("not not a"), "not not a");
        assert_eq!(show("( not filter_folder )"), "not filter_folder");
        assert_eq!(
            show("1 of selection_img_* or all of selection_kali_* and not 1 of filter_main_*"),
            "(1 of selection_img_* or (all of selection_kali_* and not 1 of filter_main_*))"
        );
        assert_eq!(show("all of them"), "all of them");
        assert_eq!(show("any of sel*"), "1 of sel*");
    }

    #[test]
    fn words_are_whole_tokens() {
        assert_eq!(show("orgs and tlds"), "(orgs and tlds)", "EC-37");
        assert_eq!(show("android or notes or sel-a"), "(android or notes or sel-a)");
    }

    #[test]
    fn clear_errors() {
        assert!(show("a AND b").contains("lowercase"));
        assert!(show("selection | count() by x > 5").contains("correlation"));
        assert!(show("a near b").contains("near"));
        assert!(show("2 of sel*").contains("quantifiers"));
        assert!(show("(a or b").contains("missing ')'"));
        assert!(show("a and").contains("ends"));
        assert!(show("a b").contains("unexpected 'b'"));
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("sel*", "selection"));
        assert!(pattern_matches("filter_main_*", "filter_main_mdadm.conf"));
        assert!(pattern_matches("*_a*b", "x_aab"));
        assert!(!pattern_matches("sel*", "filter"));
        assert!(pattern_matches("exact", "exact"));
    }
}
