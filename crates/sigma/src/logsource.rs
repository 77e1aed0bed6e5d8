//! Logsource routing as data: `mappings/logsources.yml` says which events a
//! rule's logsource may see. The mapping is compiled once into [`Route`]s.

use std::collections::HashMap;

use ferret_model::SourceKind;

use crate::rule::Logsource;
use crate::yaml::{self, Node, NodeKind};

/// The mapping shipped with ferret.
pub const BUILTIN_MAPPINGS: &str = include_str!("../mappings/logsources.yml");

/// One way an event can satisfy a logsource. Empty lists mean "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    /// The event kinds this selector applies to; empty: the product's.
    pub kinds: Vec<SourceKind>,
    pub channels: Vec<String>,
    pub providers: Vec<String>,
    pub event_ids: Vec<String>,
    pub programs: Vec<String>,
    /// Extra field equalities (`where: {EventType: [CreateKey]}`).
    pub fields: Vec<(String, Vec<String>)>,
    /// How the rule's field names read this source's events: Sigma name →
    /// the event's field, with an optional value transform.
    pub rename: Vec<(String, Rename)>,
    /// Sigma fields this source can never supply; a rule reads them as
    /// absent (so a `not` filter on them does not hold them against it).
    pub unavailable: Vec<String>,
}

/// Where a Sigma field comes from in an alternative source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rename {
    pub from: String,
    /// More fields joined after `from` with `\` (4657's ObjectName and
    /// ObjectValueName make Sysmon's TargetObject).
    pub join: Vec<String>,
    pub transform: Option<Transform>,
}

/// Value transforms from a source's encoding to the Sigma view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Transform {
    /// `0x1c10` → `7184` (Security log process ids).
    HexToDecimal,
    /// Mandatory-label SIDs (`S-1-16-12288`) → Sysmon's integrity level
    /// names (`High`).
    IntegrityLevel,
    /// Windows Filtering Platform direction codes (`%%14593` outbound) →
    /// Sysmon's `Initiated` (`true`).
    WfpDirection,
    /// IANA protocol numbers (`6`) → names (`tcp`).
    ProtocolName,
    /// Kernel registry paths (`\REGISTRY\MACHINE\SOFTWARE`) → the hive
    /// names Sysmon writes (`HKLM\SOFTWARE`).
    RegistryPath,
}

impl Transform {
    fn parse(name: &str) -> Option<Transform> {
        Some(match name {
            "hex_to_decimal" => Transform::HexToDecimal,
            "integrity_level" => Transform::IntegrityLevel,
            "wfp_direction" => Transform::WfpDirection,
            "protocol_name" => Transform::ProtocolName,
            "registry_path" => Transform::RegistryPath,
            _ => return None,
        })
    }

    /// The value in the Sigma view, or `None` when it has no equivalent.
    pub fn apply(self, value: &str) -> Option<String> {
        let value = value.trim();
        match self {
            Transform::HexToDecimal => {
                let hex = value.strip_prefix("0x").or_else(|| value.strip_prefix("0X"))?;
                u64::from_str_radix(hex, 16).ok().map(|n| n.to_string())
            }
            Transform::IntegrityLevel => Some(
                match value.to_ascii_uppercase().as_str() {
                    "S-1-16-0" => "Untrusted",
                    "S-1-16-4096" => "Low",
                    "S-1-16-8192" => "Medium",
                    "S-1-16-8448" => "Medium Plus",
                    "S-1-16-12288" => "High",
                    "S-1-16-16384" => "System",
                    "S-1-16-20480" => "Protected Process",
                    _ => return None,
                }
                .to_owned(),
            ),
            Transform::WfpDirection => match value {
                "%%14593" => Some("true".to_owned()),
                "%%14592" => Some("false".to_owned()),
                _ => None,
            },
            Transform::RegistryPath => {
                let upper = value.to_ascii_uppercase();
                for (kernel, hive) in [("\\REGISTRY\\MACHINE", "HKLM"), ("\\REGISTRY\\USER", "HKU")] {
                    if upper.starts_with(kernel) {
                        return Some(format!("{hive}{}", &value[kernel.len()..]));
                    }
                }
                Some(value.to_owned())
            }
            Transform::ProtocolName => Some(
                match value {
                    "1" => "icmp",
                    "6" => "tcp",
                    "17" => "udp",
                    "58" => "ipv6-icmp",
                    other => other,
                }
                .to_owned(),
            ),
        }
    }
}

/// Where a rule runs: the event kinds, and selectors (ORed; empty = any
/// event of those kinds). `and` holds a second selector set that must also
/// hold (a rule with both a category and a service).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Route {
    pub kinds: Vec<SourceKind>,
    pub selectors: Vec<Selector>,
    pub and: Vec<Selector>,
}

/// A logsource the mapping routes nowhere on purpose, or knows nothing of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteProblem {
    /// No reader can supply it (the reason says why).
    Unsupported(String),
}

#[derive(Clone, Debug, Default)]
struct Product {
    /// The event kinds the product's logs arrive as.
    kinds: Vec<SourceKind>,
    services: HashMap<String, Vec<Selector>>,
    categories: HashMap<String, Vec<Selector>>,
    unsupported: HashMap<String, String>,
}

/// The compiled mapping file.
#[derive(Clone, Debug, Default)]
pub struct Mappings {
    products: HashMap<String, Product>,
    /// Values for `expand` placeholders, from a top-level `placeholders:`
    /// map (`DomainControllers: [dc01, dc02]`).
    pub placeholders: HashMap<String, Vec<String>>,
    /// The user's mapping file laid over the built-in one, as read (what
    /// the compiled-rule cache keys on besides the rules).
    overrides: Option<String>,
}

impl Mappings {
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_MAPPINGS).expect("the built-in mapping file is valid")
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let docs = yaml::parse(text).map_err(|e| format!("line {}: {}", e.line, e.message))?;
        let Some(NodeKind::Map(products)) = docs.first().map(|d| &d.kind) else {
            return Err("the mapping file must be a mapping of products".into());
        };
        let mut out = Mappings::default();
        for (name, body) in products {
            let name = name.as_str().unwrap_or_default().to_owned();
            if name == "placeholders" {
                if let NodeKind::Map(entries) = &body.kind {
                    for (key, values) in entries {
                        let values = match &values.kind {
                            NodeKind::Seq(items) => items.iter().filter_map(Node::as_str).map(str::to_owned).collect(),
                            _ => values.as_str().map(str::to_owned).into_iter().collect(),
                        };
                        out.placeholders.insert(key.as_str().unwrap_or_default().to_owned(), values);
                    }
                }
                continue;
            }
            let mut product = Product { kinds: parse_kinds(body)?, ..Product::default() };
            for (section, target) in [("services", &mut product.services), ("categories", &mut product.categories)] {
                if let Some(NodeKind::Map(entries)) = body.get(section).map(|n| &n.kind) {
                    for (key, selectors) in entries {
                        target.insert(key.as_str().unwrap_or_default().to_owned(), parse_selectors(selectors)?);
                    }
                }
            }
            if let Some(NodeKind::Map(entries)) = body.get("unsupported").map(|n| &n.kind) {
                for (key, reason) in entries {
                    let key = key.as_str().unwrap_or_default().to_owned();
                    product.unsupported.insert(key, reason.as_str().unwrap_or_default().to_owned());
                }
            }
            out.products.insert(name, product);
        }
        Ok(out)
    }

    /// Adds `other` on top of these mappings: its entries replace entries
    /// with the same product and name; its placeholders replace ours.
    pub fn merge(&mut self, other: Mappings) {
        for (name, product) in other.products {
            let ours = self.products.entry(name).or_default();
            // A source the user maps is no longer unsupported.
            for key in product.services.keys().chain(product.categories.keys()) {
                ours.unsupported.remove(key);
            }
            ours.services.extend(product.services);
            ours.categories.extend(product.categories);
            ours.unsupported.extend(product.unsupported);
        }
        self.placeholders.extend(other.placeholders);
    }

    /// The built-in mappings with the user's file on top.
    pub fn with_overrides(text: &str) -> Result<Self, String> {
        let mut mappings = Self::builtin();
        mappings.merge(Self::parse(text)?);
        mappings.overrides = Some(text.to_owned());
        Ok(mappings)
    }

    /// The user's mapping text, when one was laid over the built-in one.
    pub fn overrides(&self) -> Option<&str> {
        self.overrides.as_deref()
    }

    /// The route of a rule's logsource. `Ok((route, false))` when the
    /// product is unmapped and the rule runs on generic JSON/CSV events.
    pub fn route(&self, logsource: &Logsource) -> Result<(Route, bool), RouteProblem> {
        let generic = vec![SourceKind::Json, SourceKind::Csv];
        // Logsources without a product (`category: webserver`) are under `_any`.
        let Some(product) = self.products.get(logsource.product.as_deref().unwrap_or("_any")) else {
            return Ok((Route { kinds: generic, ..Route::default() }, false));
        };
        if logsource.product.is_none() && logsource.category.is_none() && logsource.service.is_none() {
            return Ok((Route { kinds: generic, ..Route::default() }, false));
        }
        for key in [&logsource.category, &logsource.service].into_iter().flatten() {
            if let Some(reason) = product.unsupported.get(key) {
                return Err(RouteProblem::Unsupported(reason.clone()));
            }
        }
        let lookup = |table: &HashMap<String, Vec<Selector>>,
                      key: &Option<String>|
         -> Result<Option<Vec<Selector>>, RouteProblem> {
            match key {
                None => Ok(None),
                Some(k) => table.get(k).cloned().map(Some).ok_or_else(|| {
                    RouteProblem::Unsupported(match logsource.product.as_deref() {
                        Some(product) => format!("no reader or mapping for '{k}' on {product}"),
                        None => format!("no reader or mapping for '{k}' logs"),
                    })
                }),
            }
        };
        let category = lookup(&product.categories, &logsource.category)?;
        let service = lookup(&product.services, &logsource.service)?;
        let (mut selectors, and) = match (category, service) {
            (Some(c), Some(s)) => (c, s),
            (Some(c), None) => (c, Vec::new()),
            (None, Some(s)) => (s, Vec::new()),
            (None, None) => (Vec::new(), Vec::new()),
        };
        // A selector without kinds takes the product's.
        for selector in &mut selectors {
            if selector.kinds.is_empty() {
                selector.kinds = product.kinds.clone();
            }
        }
        let mut kinds: Vec<SourceKind> = selectors.iter().flat_map(|s| s.kinds.iter().copied()).collect();
        if selectors.is_empty() {
            kinds = product.kinds.clone();
        }
        kinds.sort();
        kinds.dedup();
        if kinds.is_empty() {
            return Ok((Route { kinds: generic, selectors, and }, false));
        }
        Ok((Route { kinds, selectors, and }, true))
    }
}

/// A `kinds:` list of event kinds (`windows`, `syslog`, `web`, `cloud`...).
fn parse_kinds(node: &Node) -> Result<Vec<SourceKind>, String> {
    match node.get("kinds").map(|n| &n.kind) {
        None => Ok(Vec::new()),
        Some(NodeKind::Seq(items)) => items
            .iter()
            .map(|i| {
                let name = i.as_str().unwrap_or_default();
                SourceKind::parse(name).ok_or_else(|| format!("line {}: unknown event kind '{name}'", i.line))
            })
            .collect(),
        Some(_) => Err(format!("line {}: 'kinds' is a list", node.line)),
    }
}

fn parse_selectors(node: &Node) -> Result<Vec<Selector>, String> {
    let NodeKind::Seq(items) = &node.kind else {
        return Err(format!("line {}: a mapping entry is a list of selectors", node.line));
    };
    items.iter().map(parse_selector).collect()
}

fn parse_selector(node: &Node) -> Result<Selector, String> {
    let list = |key: &str, lower: bool| -> Vec<String> {
        match node.get(key).map(|n| &n.kind) {
            Some(NodeKind::Seq(items)) => items
                .iter()
                .filter_map(Node::as_str)
                .map(|s| if lower { s.to_lowercase() } else { s.to_owned() })
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut fields = Vec::new();
    if let Some(NodeKind::Map(entries)) = node.get("where").map(|n| &n.kind) {
        for (key, values) in entries {
            let values = match &values.kind {
                NodeKind::Seq(items) => items.iter().filter_map(Node::as_str).map(str::to_owned).collect(),
                _ => values.as_str().map(str::to_owned).into_iter().collect(),
            };
            fields.push((key.as_str().unwrap_or_default().to_owned(), values));
        }
    }
    if !matches!(node.kind, NodeKind::Map(_)) {
        return Err(format!("line {}: a selector is a mapping", node.line));
    }
    let mut rename = Vec::new();
    if let Some(NodeKind::Map(entries)) = node.get("rename").map(|n| &n.kind) {
        for (key, value) in entries {
            let sigma = key.as_str().unwrap_or_default().to_owned();
            let (from, join, transform) = match (&value.kind, value.get("from")) {
                (NodeKind::Scalar { text, .. }, _) => (text.clone(), Vec::new(), None),
                (_, Some(from)) => {
                    let transform = match value.get("transform").and_then(Node::as_str) {
                        None => None,
                        Some(name) => Some(
                            Transform::parse(name)
                                .ok_or_else(|| format!("line {}: unknown transform '{name}'", value.line))?,
                        ),
                    };
                    let mut names: Vec<String> = match &from.kind {
                        NodeKind::Seq(items) => items.iter().filter_map(Node::as_str).map(str::to_owned).collect(),
                        _ => from.as_str().map(str::to_owned).into_iter().collect(),
                    };
                    if names.is_empty() {
                        return Err(format!("line {}: 'from' names no field", from.line));
                    }
                    let first = names.remove(0);
                    (first, names, transform)
                }
                _ => return Err(format!("line {}: a rename is a field name or {{from, transform}}", value.line)),
            };
            rename.push((sigma, Rename { from, join, transform }));
        }
    }
    Ok(Selector {
        kinds: parse_kinds(node)?,
        rename,
        unavailable: list("unavailable", false),
        channels: list("channels", true),
        providers: list("providers", true),
        event_ids: list("event_ids", false),
        programs: list("programs", true),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(product: &str, category: Option<&str>, service: Option<&str>) -> Logsource {
        Logsource {
            product: Some(product.into()),
            category: category.map(Into::into),
            service: service.map(Into::into),
        }
    }

    #[test]
    fn builtin_mapping_routes_the_common_sources() {
        let m = Mappings::builtin();
        let (route, mapped) = m.route(&ls("windows", Some("process_creation"), None)).unwrap();
        assert!(mapped);
        assert_eq!(route.selectors[0].channels, ["microsoft-windows-sysmon/operational"]);
        assert_eq!(route.selectors[0].event_ids, ["1"]);
        let (route, _) = m.route(&ls("windows", None, Some("security"))).unwrap();
        assert_eq!(route.selectors[0].channels, ["security"]);
        assert!(matches!(m.route(&ls("windows", Some("file_access"), None)), Err(RouteProblem::Unsupported(_))));
        let (route, _) = m.route(&ls("linux", None, Some("sshd"))).unwrap();
        assert_eq!(route.kinds, [SourceKind::Syslog]);
        assert_eq!(route.selectors[0].programs, ["sshd"]);
        let (route, mapped) = m.route(&ls("aws", None, Some("cloudtrail"))).unwrap();
        assert!(mapped);
        assert_eq!(route.kinds, [SourceKind::Cloud]);
        assert_eq!(route.selectors[0].fields[1], ("cloud.service".to_owned(), vec!["cloudtrail".to_owned()]));
        let (route, _) = m.route(&Logsource { category: Some("webserver".into()), ..Logsource::default() }).unwrap();
        assert_eq!(route.kinds, [SourceKind::Web]);
        let (route, _) = m.route(&ls("linux", None, Some("auditd"))).unwrap();
        assert_eq!(route.kinds, [SourceKind::Auditd]);
        let (route, mapped) = m.route(&ls("jvm", Some("application"), None)).unwrap();
        assert!(!mapped, "unknown products run on generic JSON/CSV");
        assert_eq!(route.kinds, [SourceKind::Json, SourceKind::Csv]);
    }

    #[test]
    fn security_4688_is_an_alternative_for_process_creation() {
        let m = Mappings::builtin();
        let (route, _) = m.route(&ls("windows", Some("process_creation"), None)).unwrap();
        let security = route.selectors.iter().find(|s| s.event_ids == ["4688"]).unwrap();
        assert_eq!(security.channels, ["security"]);
        let image = security.rename.iter().find(|(k, _)| k == "Image").unwrap();
        assert_eq!(image.1.from, "NewProcessName");
        assert!(security.unavailable.contains(&"OriginalFileName".to_owned()));
    }

    #[test]
    fn transforms() {
        assert_eq!(Transform::HexToDecimal.apply("0x1c10").as_deref(), Some("7184"));
        assert_eq!(Transform::HexToDecimal.apply("7184"), None);
        assert_eq!(Transform::IntegrityLevel.apply("S-1-16-12288").as_deref(), Some("High"));
        assert_eq!(Transform::WfpDirection.apply("%%14593").as_deref(), Some("true"));
        assert_eq!(Transform::ProtocolName.apply("17").as_deref(), Some("udp"));
        assert_eq!(
            Transform::RegistryPath.apply("\\REGISTRY\\MACHINE\\SOFTWARE\\x").as_deref(),
            Some("HKLM\\SOFTWARE\\x")
        );
    }
}
