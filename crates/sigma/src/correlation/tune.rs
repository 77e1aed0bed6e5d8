//! Tuning correlations without editing their files: a responder raises a
//! brute-force threshold for a noisy VPN gateway, or widens a window, from
//! the command line (`--tune ferret_bruteforce.gte=20`) or a file.
//!
//! Settings: `timespan` (`30m`), `threshold` (replaces the lower bounds
//! `gt`/`gte` with `gte: N`), and any condition operator (`gt`, `gte`,
//! `lt`, `lte`, `eq`, `neq`), which replaces the same operator or adds it.
//! A correlation is named by its `name` or `id`.

use super::set::CorrelationSet;
use super::spec::{Op, parse_timespan};
use crate::yaml::{self, NodeKind};

/// Overrides, in the order given (later ones win).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tuning {
    entries: Vec<(String, String, String)>,
}

impl Tuning {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds one `name.setting=value` override.
    pub fn push_arg(&mut self, arg: &str) -> Result<(), String> {
        let bad = || {
            format!(
                "bad tuning '{arg}': expected <correlation name or id>.<setting>=<value>, e.g. ferret_bruteforce.gte=20"
            )
        };
        let (key, value) = arg.split_once('=').ok_or_else(bad)?;
        let (name, setting) = key.rsplit_once('.').ok_or_else(bad)?;
        if name.is_empty() || setting.is_empty() || value.is_empty() {
            return Err(bad());
        }
        self.entries.push((name.trim().into(), setting.trim().into(), value.trim().into()));
        Ok(())
    }

    /// Adds the overrides of a YAML file: `{name: {setting: value}}`.
    pub fn push_file(&mut self, text: &str, file: &str) -> Result<(), String> {
        let docs = yaml::parse(text).map_err(|e| format!("{file}:{}: {}", e.line, e.message))?;
        for doc in docs {
            let NodeKind::Map(entries) = &doc.kind else {
                return Err(format!("{file}:{}: expected correlation names mapped to settings", doc.line));
            };
            for (name, settings) in entries {
                let NodeKind::Map(settings) = &settings.kind else {
                    return Err(format!("{file}:{}: expected settings such as `gte: 20`", settings.line));
                };
                for (setting, value) in settings {
                    match (name.as_str(), setting.as_str(), value.as_str()) {
                        (Some(n), Some(s), Some(v)) => self.entries.push((n.into(), s.into(), v.into())),
                        _ => return Err(format!("{file}:{}: a setting is `name: value`", setting.line)),
                    }
                }
            }
        }
        Ok(())
    }
}

impl CorrelationSet {
    /// Applies `tuning`; an unknown correlation or setting is an error that
    /// names the correlations there are.
    pub fn tune(&mut self, tuning: &Tuning) -> Result<(), String> {
        for (name, setting, value) in &tuning.entries {
            let targets: Vec<usize> = (0..self.correlations.len())
                .filter(|&i| {
                    let spec = &self.correlations[i].spec;
                    spec.id == *name || spec.name.as_deref() == Some(name.as_str())
                })
                .collect();
            if targets.is_empty() {
                let mut known: Vec<&str> =
                    self.correlations.iter().map(|c| c.spec.name.as_deref().unwrap_or(&c.spec.id)).collect();
                known.sort_unstable();
                return Err(format!("no correlation named '{name}' to tune (loaded: {})", known.join(", ")));
            }
            for i in targets {
                let spec = &mut self.correlations[i].spec;
                match setting.as_str() {
                    "timespan" => {
                        spec.timespan =
                            parse_timespan(value).ok_or_else(|| format!("{name}.timespan: bad timespan '{value}'"))?;
                    }
                    "threshold" => {
                        let n = number(name, setting, value)?;
                        spec.condition.ops.retain(|(op, _)| !matches!(op, Op::Gt | Op::Gte));
                        spec.condition.ops.push((Op::Gte, n));
                    }
                    other => {
                        let op = Op::parse(other).ok_or_else(|| {
                            format!("{name}.{other}: unknown setting (timespan, threshold, gt, gte, lt, lte, eq, neq)")
                        })?;
                        let n = number(name, setting, value)?;
                        spec.condition.ops.retain(|(o, _)| *o != op);
                        spec.condition.ops.push((op, n));
                    }
                }
            }
        }
        Ok(())
    }
}

fn number(name: &str, setting: &str, value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("{name}.{setting}: '{value}' is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_and_files_parse() {
        let mut t = Tuning::default();
        t.push_arg("ferret_bruteforce.gte=20").unwrap();
        t.push_arg("a.b.c.timespan=30m").unwrap();
        assert!(t.push_arg("nodot=3").is_err());
        assert!(t.push_arg("x.gte").is_err());
        t.push_file("ferret_password_spray:\n  threshold: 25\n  timespan: 2h\n", "t.yml").unwrap();
        assert_eq!(t.entries.len(), 4);
        assert_eq!(t.entries[1], ("a.b.c".into(), "timespan".into(), "30m".into()));
        assert!(t.push_file("- 1\n", "t.yml").unwrap_err().starts_with("t.yml:1"));
    }
}
