//! The per-thread matcher: all mutable matching state of a [`RuleSet`]
//! lives here, so the rule set itself stays immutable and shared.

use ferret_model::value::Num;
use ferret_model::{Event, Explanation, Field, ItemTrace, SelectionTrace, SourceKind, Value};

use crate::detection::{Expr, Item, Target};
use crate::lowercase::{push_lowercase, push_to_fold};
use crate::pattern::{Pattern, compare_fields};
use crate::prefilter::{Haystack, Seen, Segment, Segments};
use crate::route::{Accept, EventKeys, Resolved, View, set_key};
use crate::route_memo::{RouteMemo, Routing};
use crate::ruleset::RuleSet;
use crate::value_cache::ValueCache;

/// A rule that matched an event, with the fields that made it match.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub rule: usize,
    pub fields: Vec<(String, String)>,
}

/// Per-thread matching state: lowercased copies of the current event's
/// values, made once per value and only when a rule needs them.
pub struct Scanner<'r> {
    set: &'r RuleSet,
    /// Lowercased values of the current event, all in one buffer (no
    /// allocation per value); `lower[i]` is value i's range, made once and
    /// only when needed. The buffer, `\0`-separated, is also the
    /// prefilter's haystack.
    lower_buf: String,
    lower: Vec<Option<(u32, u32)>>,
    raw_lower: Option<(u32, u32)>,
    /// Per field symbol: the table build that last set it, and 1 + the
    /// position of its first value in that event (a slot another build set
    /// is absent: nothing is cleared between events). `next` chains
    /// repeated fields.
    first: Vec<(u32, u32)>,
    next: Vec<u32>,
    build: u32,
    /// Whether `first` and `next` describe the current event yet.
    indexed: bool,
    /// The field view of the rule being evaluated (alternative sources).
    view: Option<&'r View>,
    /// The rules routing offers the current event, reused between events.
    candidates: Vec<(usize, u16)>,
    /// The current event's routing keys (buffers reused between events).
    event_keys: EventKeys,
    /// What routing offers each (kind, channel, EventID) seen so far.
    routes: RouteMemo,
    /// Rules unlocked by the current event's needles.
    unlocked: Vec<u32>,
    /// Where each value sits in `lower_buf`, for field-bound needles.
    segments: Segments,
    seen: Seen,
    /// The needles found in long values of the current input.
    values: ValueCache,
    use_prefilter: bool,
}

impl<'r> Scanner<'r> {
    pub fn new(set: &'r RuleSet) -> Self {
        Self {
            set,
            lower_buf: String::new(),
            lower: Vec::new(),
            raw_lower: None,
            first: Vec::new(),
            next: Vec::new(),
            build: 0,
            indexed: false,
            view: None,
            candidates: Vec::new(),
            event_keys: EventKeys::default(),
            routes: RouteMemo::default(),
            unlocked: Vec::new(),
            segments: Vec::new(),
            seen: Seen::default(),
            values: ValueCache::default(),
            use_prefilter: true,
        }
    }

    /// Turns the literal prefilter, the EventID narrowing of routing and the
    /// per-value evaluation of long value lists off (or on): the results
    /// must be the same either way; only the speed differs. For tests and
    /// benchmarks.
    pub fn set_prefilter(&mut self, on: bool) {
        self.use_prefilter = on;
        self.routes.clear();
    }

    /// Forgets the values of the input scanned so far (the scanner is about
    /// to start another). Only memory is at stake, never results: a value
    /// repeats mostly within one log.
    pub fn start_input(&mut self) {
        self.values.clear();
    }

    /// Appends to `out` every rule that matches `event`, in rule order.
    pub fn scan(&mut self, event: &Event, out: &mut Vec<Match>) {
        let set = self.set;
        if !set.index.contains_key(&event.kind) {
            return;
        }
        // Taken out and put back: the keys' buffers serve every event.
        let mut keys = std::mem::take(&mut self.event_keys);
        self.fill_keys(event, &mut keys);
        let routing_key = match event.kind {
            SourceKind::Windows => keys.channel.as_deref(),
            SourceKind::Syslog => keys.program.as_deref(),
            _ => None,
        };
        self.reset_lower(event);
        // The field table is built when something first reads it: many
        // events meet no rule that gets that far.
        self.indexed = false;
        let event_id = if event.kind == SourceKind::Windows { keys.event_id.as_deref() } else { None };
        // With the prefilter, routing only offers the rules it cannot gate;
        // the others come from the needles the event contains.
        let routing = self.routes.get(set, self.use_prefilter, event.kind, routing_key, event_id);
        // By rule, then selector: a rule is tried through its selectors in
        // the mapping's order, and evaluated once.
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        if self.use_prefilter {
            if !routing.views.is_empty() || event.kind == SourceKind::Cloud {
                // Views and cloud spellings read fields through the table.
                self.index_fields(event);
            }
            self.run_prefilter(event, &routing);
            let mut unlocked = std::mem::take(&mut self.unlocked);
            set.prefilter.unlocked(&mut self.seen, &mut unlocked);
            let reached = unlocked
                .iter()
                .filter(|&&r| set.route(r as usize).kinds.contains(&event.kind))
                .map(|&r| (r as usize, UNLOCKED));
            merge_two(&routing.candidates, reached, &mut candidates);
            self.unlocked = unlocked;
        } else {
            candidates.extend_from_slice(&routing.candidates);
        }
        let mut last_accepted = None;
        for &(index, selector) in &candidates {
            if last_accepted == Some(index) {
                continue;
            }
            let routed = &set.rules[index];
            let route = &set.routes[routed.route as usize];
            let accept = if selector == UNLOCKED {
                // Reached through a needle: route it in full (EventID first).
                let id_ok = event.kind != SourceKind::Windows
                    || routed
                        .event_ids
                        .as_ref()
                        .is_none_or(|ids| keys.event_id.as_ref().is_some_and(|id| ids.contains(id)));
                if !id_ok {
                    continue;
                }
                route.accepts(event, &keys)
            } else {
                route.accepts_via(selector, event, &keys)
            };
            self.view = match accept {
                Accept::No => continue,
                Accept::Yes(view) => view,
            };
            last_accepted = Some(index);
            if !self.indexed {
                self.index_fields(event);
            }
            let detection = &routed.rule.get().detection;
            if self.eval(&detection.condition, &detection.searches, event) {
                let mut fields = Vec::new();
                self.collect(&detection.condition, &detection.searches, event, &mut fields);
                out.push(Match { rule: index, fields });
            }
        }
        self.candidates = candidates;
        self.event_keys = keys;
    }

    /// Lowercases the values the prefilter reads (kept for matching) into
    /// one haystack and runs the literal prefilter over it.
    fn run_prefilter(&mut self, event: &Event, routing: &Routing) {
        let prefilter = &self.set.prefilter;
        // Cloud field names match case-insensitively: any field may hold
        // any needle.
        let any_field = event.kind == SourceKind::Cloud;
        // Only the fields the rules this event can reach have needles on.
        let searched = |field: Field| any_field || routing.searched.contains(field);
        let looked_up = |field: Field| routing.whole.contains(field);
        // The values of fields needles are bound to (searched with their
        // field's automaton, or looked up whole) and, when the rules the
        // event can reach have keywords and the event has no raw line
        // (rules match keywords against the raw line alone when there is
        // one), all the others: copied in one pass over the fields, their
        // ASCII capitals folded over the whole buffer at once (a value
        // beyond ASCII, as Sysmon's `Microsoft® Windows®`, is lowercased as
        // it is copied: see `push_to_fold`).
        let keywords = routing.keywords.is_some();
        let keywords_in_values = keywords && event.raw.is_none();
        debug_assert!(self.lower_buf.is_empty(), "the prefilter reads the event first");
        self.segments.clear();
        for (i, (field, value)) in event.fields.iter().enumerate() {
            let (search, whole) = (searched(*field), looked_up(*field));
            if !(search || whole || keywords_in_values) {
                continue;
            }
            let Some(text) = value.as_str() else { continue };
            let start = self.lower_buf.len() as u32;
            push_to_fold(&mut self.lower_buf, text);
            let end = self.lower_buf.len() as u32;
            self.lower_buf.push('\0');
            self.lower[i] = Some((start, end));
            if search || whole {
                self.segments.push(Segment { start, end, field: *field, searched: search });
            }
        }
        self.lower_buf.make_ascii_lowercase();
        // Fields rules read through a view (Security 4688 as
        // process_creation: `Image` is `NewProcessName`, `IntegrityLevel` a
        // transformed label) are added under the rule's field name.
        for &(rule, sel) in &routing.views {
            let view = self.set.route(rule).selectors[sel as usize].view.as_ref();
            self.view = view;
            let reads = |f: &Field| searched(*f) || looked_up(*f);
            for field in view.into_iter().flat_map(View::mapped_fields).filter(reads) {
                for value in self.values_of(field, event).into_iter().flatten() {
                    let (start, end) = self.push_lower(&value);
                    self.segments.push(Segment { start, end, field, searched: searched(field) });
                }
            }
            self.view = None;
        }
        let values_end = self.lower_buf.len();
        let keywords_from = if keywords && self.raw_lower(event).is_some() { values_end } else { 0 };
        let haystack = Haystack {
            bytes: self.lower_buf.as_bytes(),
            values_end,
            keywords_from,
            segments: &self.segments,
            any_field,
            keywords: routing.keywords.as_deref(),
        };
        prefilter.scan(&haystack, &mut self.seen, &mut self.values);
    }

    fn reset_lower(&mut self, event: &Event) {
        self.lower_buf.clear();
        self.lower.clear();
        self.lower.resize(event.fields.len(), None);
        self.raw_lower = None;
    }

    /// Appends `text` lowercased to the buffer; returns its range.
    fn push_lower(&mut self, text: &str) -> (u32, u32) {
        let start = self.lower_buf.len();
        push_lowercase(&mut self.lower_buf, text);
        let end = self.lower_buf.len();
        self.lower_buf.push('\0');
        (start as u32, end as u32)
    }

    /// The lowercased text of value `i` (made on first use).
    fn lower_at(&mut self, i: usize, event: &Event) -> Option<(u32, u32)> {
        if let Some(range) = self.lower[i] {
            return Some(range);
        }
        let text = event.fields[i].1.as_str()?;
        let range = self.push_lower(text);
        self.lower[i] = Some(range);
        Some(range)
    }

    fn raw_lower(&mut self, event: &Event) -> Option<(u32, u32)> {
        if self.raw_lower.is_none() {
            let raw = event.raw.as_deref()?;
            self.raw_lower = Some(self.push_lower(raw));
        }
        self.raw_lower
    }

    /// Builds the field → positions table for `event`, so a pattern looks
    /// only at the values of its own field.
    fn index_fields(&mut self, event: &Event) {
        self.indexed = true;
        self.build = self.build.wrapping_add(1);
        if self.build == 0 {
            // Wrapped around: no slot may claim a build it is not from.
            self.first.fill((0, 0));
            self.build = 1;
        }
        self.next.clear();
        self.next.resize(event.fields.len(), 0);
        for (i, (field, _)) in event.fields.iter().enumerate().rev() {
            let slot = field.index();
            if slot >= self.first.len() {
                self.first.resize(slot + 1, (0, 0));
            }
            let (build, head) = self.first[slot];
            self.next[i] = if build == self.build { head } else { 0 };
            self.first[slot] = (self.build, i as u32 + 1);
        }
    }

    /// 1 + the position of `field`'s first value (0 when absent).
    fn head(&self, field: Field) -> u32 {
        debug_assert!(self.indexed, "the field table is read before it is built");
        match self.first.get(field.index()) {
            Some(&(build, head)) if build == self.build => head,
            _ => 0,
        }
    }

    /// Does `pattern` hold for any value of the rule's `field`? Returns the
    /// value (as the rule sees it: through the view's transform).
    fn find_value(&mut self, pattern: &Pattern, field: Field, event: &Event) -> Option<String> {
        self.search_field(pattern, field, event, true)
    }

    /// The same, when only whether it holds matters (no copy of the value).
    fn field_matches(&mut self, pattern: &Pattern, field: Field, event: &Event) -> bool {
        self.search_field(pattern, field, event, false).is_some()
    }

    /// `find_value`; with `keep` false, a hit on an untransformed value
    /// gives an empty string instead of a copy.
    fn search_field(&mut self, pattern: &Pattern, field: Field, event: &Event, keep: bool) -> Option<String> {
        let field = self.fold_case(field, event);
        let (native, transform) = match View::resolve(self.view, field) {
            Resolved::Absent => return None,
            Resolved::Field(native, transform) => (native, transform),
            Resolved::Joined(..) => {
                let text = self.values_of(field, event).into_iter().flatten().next()?;
                let lower = text.to_lowercase();
                return pattern.matches_text(&text, &lower).then_some(text);
            }
        };
        let mut at = self.head(native);
        while let Some(i) = at.checked_sub(1).map(|i| i as usize) {
            at = self.next[i];
            let hit = match transform {
                None => self
                    .pattern_at(pattern, i, event)
                    .then(|| if keep { event.fields[i].1.as_str().map(str::to_owned) } else { None }),
                Some(t) => event.fields[i].1.as_str().and_then(|text| t.apply(text)).and_then(|text| {
                    let lower = text.to_lowercase();
                    pattern.matches_text(&text, &lower).then_some(Some(text))
                }),
            };
            if let Some(value) = hit {
                return Some(value.unwrap_or_default());
            }
        }
        None
    }

    /// Cloud logs spell the same field in several casings (`ResultType`,
    /// `resultType`): for cloud events, a field the event lacks is looked up
    /// case-insensitively (SIGMA.md D5). Exact names win; EVTX stays exact.
    fn fold_case(&self, field: Field, event: &Event) -> Field {
        if event.kind != SourceKind::Cloud || self.head(field) != 0 {
            return field;
        }
        let names = self.set.names();
        let wanted = names.resolve(field);
        event.fields.iter().map(|(f, _)| *f).find(|f| names.resolve(*f).eq_ignore_ascii_case(wanted)).unwrap_or(field)
    }

    /// The values of the rule's `field` in this event, through the view.
    fn values_of(&self, field: Field, event: &Event) -> Vec<Option<String>> {
        let field = self.fold_case(field, event);
        match View::resolve(self.view, field) {
            Resolved::Absent => Vec::new(),
            Resolved::Joined(first, rest, transform) => {
                let Some(head) = event.first(first).and_then(Value::as_str) else { return Vec::new() };
                let mut joined = head.to_owned();
                for f in rest {
                    if let Some(part) = event.first(*f).and_then(Value::as_str).filter(|p| !p.is_empty()) {
                        joined.push('\\');
                        joined.push_str(part);
                    }
                }
                vec![match transform {
                    None => Some(joined),
                    Some(t) => t.apply(&joined),
                }]
            }
            Resolved::Field(native, transform) => event
                .values(native)
                .map(|v| match transform {
                    None => v.as_str().map(str::to_owned),
                    Some(t) => v.as_str().and_then(|text| t.apply(text)),
                })
                .collect(),
        }
    }

    /// Evaluates one rule on one event and says why it matches or not:
    /// whether the event is routed to the rule at all, each selection's
    /// value, and each item's rule values and the event value that met it.
    pub fn explain(&mut self, rule: usize, event: &Event) -> Explanation {
        self.reset_lower(event);
        self.index_fields(event);
        let set = self.set;
        let routed_rule = &set.rules[rule];
        let detection = &routed_rule.rule.get().detection;
        let keys = self.keys(event);
        let accept =
            if routed_rule_kind_ok(set, rule, event.kind) { set.route(rule).accepts(event, &keys) } else { Accept::No };
        let routed = match accept {
            Accept::Yes(view) => {
                self.view = view;
                true
            }
            Accept::No => {
                self.view = None;
                false
            }
        };
        let matched = routed && self.eval(&detection.condition, &detection.searches, event);
        let selections = detection
            .searches
            .iter()
            .map(|search| {
                let mut chosen = None;
                for items in &search.alternatives {
                    if items.iter().all(|item| self.item(item, event)) {
                        chosen = Some(items);
                        break;
                    }
                }
                let matched = chosen.is_some();
                let maps: Vec<&Vec<Item>> = match chosen {
                    Some(items) => vec![items],
                    None => search.alternatives.iter().collect(),
                };
                let items = maps.into_iter().flatten().map(|item| self.trace_item(item, event)).collect();
                SelectionTrace { name: search.name.clone(), matched, items }
            })
            .collect();
        Explanation { condition: detection.condition_text.clone(), routed, matched, selections }
    }

    fn trace_item(&mut self, item: &Item, event: &Event) -> ItemTrace {
        let matched = self.item(item, event);
        let event_value = match &item.target {
            Target::Field { field, .. } if !item.negate => self.first_hit(item, *field, event),
            Target::Field { field, .. } => self.values_of(*field, event).into_iter().flatten().next(),
            Target::Keywords => None,
        };
        ItemTrace { key: item.key.clone(), rule_values: item.values.clone(), event_value, matched }
    }

    fn keys(&self, event: &Event) -> EventKeys {
        let mut keys = EventKeys::default();
        self.fill_keys(event, &mut keys);
        keys
    }

    /// The event's routing keys, written into `keys`'s buffers (no
    /// allocation once they have grown). One pass over the fields finds
    /// all four (they are the first value of each of their fields).
    fn fill_keys(&self, event: &Event, keys: &mut EventKeys) {
        let k = &self.set.keys;
        let (mut channel, mut provider, mut program, mut event_id) = (None, None, None, None);
        for (field, value) in &event.fields {
            let slot = match *field {
                f if f == k.channel => &mut channel,
                f if f == k.provider => &mut provider,
                f if f == k.program => &mut program,
                f if f == k.event_id => &mut event_id,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        fn text(value: Option<&Value>) -> Option<&str> {
            value.and_then(Value::as_str)
        }
        set_key(&mut keys.channel, text(channel), push_lowercase);
        set_key(&mut keys.provider, text(provider), push_lowercase);
        set_key(&mut keys.program, text(program), push_lowercase);
        match text(event_id) {
            None => keys.event_id = None,
            Some(id) => canonical_integer(id, keys.event_id.get_or_insert_with(String::new)),
        }
    }

    fn eval(&mut self, expr: &Expr, searches: &[crate::detection::Search], event: &Event) -> bool {
        match expr {
            Expr::Search(i) => {
                searches[*i].alternatives.iter().any(|items| items.iter().all(|item| self.item(item, event)))
            }
            Expr::Not(inner) => !self.eval(inner, searches, event),
            Expr::And(terms) => terms.iter().all(|t| self.eval(t, searches, event)),
            Expr::Or(terms) => terms.iter().any(|t| self.eval(t, searches, event)),
        }
    }

    /// The fields of the items that made the positive parts of the
    /// condition true (items under `not` explain nothing).
    fn collect(
        &mut self,
        expr: &Expr,
        searches: &[crate::detection::Search],
        event: &Event,
        out: &mut Vec<(String, String)>,
    ) {
        match expr {
            Expr::Search(i) => {
                for items in &searches[*i].alternatives {
                    if items.iter().all(|item| self.item(item, event)) {
                        for item in items {
                            if let (Target::Field { field, name }, false) = (&item.target, item.negate)
                                && let Some(v) = self.first_hit(item, *field, event)
                                && !out.iter().any(|(n, _)| n == name)
                            {
                                out.push((name.clone(), v));
                            }
                        }
                        break;
                    }
                }
            }
            Expr::Not(_) => {}
            Expr::And(terms) | Expr::Or(terms) => {
                for t in terms {
                    if self.eval(t, searches, event) {
                        self.collect(t, searches, event, out);
                    }
                }
            }
        }
    }

    /// The value of `field` that a matching item met: the first value its
    /// patterns, in order, meet.
    fn first_hit(&mut self, item: &Item, field: Field, event: &Event) -> Option<String> {
        // A plain item (string, regex, CIDR, number patterns) that holds,
        // over a field with one value read as it is: that value is the one
        // it met, whichever pattern met it. Most fields have one value, and
        // items hundreds of patterns long were tried pattern by pattern.
        if item.plan.get(item).plain
            && let Resolved::Field(native, None) = View::resolve(self.view, self.fold_case(field, event))
            && let Some(only) = self.head(native).checked_sub(1).map(|i| i as usize)
            && self.next[only] == 0
        {
            return event.fields[only].1.as_str().map(str::to_owned);
        }
        item.groups.iter().flatten().find_map(|p| self.find_value(p, field, event))
    }

    fn item(&mut self, item: &Item, event: &Event) -> bool {
        let hit = match &item.target {
            Target::Field { field, .. } => {
                let group = |s: &mut Self, g: &Vec<Pattern>| g.iter().any(|p| s.field_pattern(p, *field, event));
                if self.use_prefilter
                    && !item.all
                    && let Some(hit) = self.any_value_matches(item, *field, event)
                {
                    hit
                } else if item.all {
                    item.groups.iter().all(|g| group(self, g))
                } else {
                    item.groups.iter().any(|g| group(self, g))
                }
            }
            Target::Keywords => {
                let group = |s: &mut Self, g: &Vec<Pattern>| g.iter().any(|p| s.keyword(p, event));
                if item.all {
                    item.groups.iter().all(|g| group(self, g))
                } else {
                    item.groups.iter().any(|g| group(self, g))
                }
            }
        };
        hit != item.negate
    }

    /// An item of plain value patterns (strings, regexes, CIDRs, numbers)
    /// over a field read as it is: each value is lowercased once and tried
    /// against every pattern, instead of the field being resolved again for
    /// every pattern of a long list. `None` when the item needs the general
    /// path (null, exists, field references, a view's transform).
    fn any_value_matches(&mut self, item: &Item, field: Field, event: &Event) -> Option<bool> {
        let plan = item.plan.get(item);
        if !plan.plain {
            return None;
        }
        let field = self.fold_case(field, event);
        let native = match View::resolve(self.view, field) {
            Resolved::Absent => return Some(false),
            Resolved::Field(native, None) => native,
            _ => return None,
        };
        let mut at = self.head(native);
        while let Some(i) = at.checked_sub(1).map(|i| i as usize) {
            at = self.next[i];
            let Some(text) = event.fields[i].1.as_str() else { continue };
            let Some((start, end)) = self.lower_at(i, event) else { continue };
            let lower = &self.lower_buf[start as usize..end as usize];
            let hit = match &plan.set {
                Some(set) => set.matches(&item.groups, text, lower),
                None => item.groups.iter().flatten().any(|p| p.matches_text(text, lower)),
            };
            if hit {
                return Some(true);
            }
        }
        Some(false)
    }

    fn field_pattern(&mut self, pattern: &Pattern, field: Field, event: &Event) -> bool {
        let field = self.fold_case(field, event);
        match pattern {
            Pattern::Null => match View::resolve(self.view, field) {
                Resolved::Absent => true,
                Resolved::Field(native, _) | Resolved::Joined(native, ..) => {
                    let mut at = self.head(native);
                    while let Some(i) = at.checked_sub(1).map(|i| i as usize) {
                        at = self.next[i];
                        if !event.fields[i].1.is_null() {
                            return false;
                        }
                    }
                    true
                }
            },
            Pattern::Exists(want) => {
                let present = match View::resolve(self.view, field) {
                    Resolved::Absent => false,
                    Resolved::Field(native, _) | Resolved::Joined(native, ..) => self.head(native) != 0,
                };
                present == *want
            }
            Pattern::FieldRef { field: other, mode, cased } => {
                // Both fields read as they are (no view's join or
                // transform): compared in place, with nothing copied.
                let resolve = |s: &Self, f: Field| View::resolve(s.view, s.fold_case(f, event));
                if let (Resolved::Field(a, None), Resolved::Field(b, None)) =
                    (resolve(self, field), resolve(self, *other))
                {
                    let texts = |f: Field| event.values(f).filter_map(Value::as_str);
                    return texts(a).any(|x| texts(b).any(|y| compare_fields(*mode, x, y, *cased)));
                }
                let ours = self.values_of(field, event);
                let theirs = self.values_of(*other, event);
                ours.iter().flatten().any(|a| theirs.iter().flatten().any(|b| compare_fields(*mode, a, b, *cased)))
            }
            _ => self.field_matches(pattern, field, event),
        }
    }

    /// A pattern against the value at `index` of the event.
    fn pattern_at(&mut self, pattern: &Pattern, index: usize, event: &Event) -> bool {
        let Some(text) = event.fields[index].1.as_str() else { return false };
        let Some((start, end)) = self.lower_at(index, event) else { return false };
        pattern.matches_text(text, &self.lower_buf[start as usize..end as usize])
    }

    /// Keywords: the raw line of text sources, or each string value of a
    /// structured event separately, never a concatenation (SIGMA.md D2).
    fn keyword(&mut self, pattern: &Pattern, event: &Event) -> bool {
        if let Some(raw) = event.raw.as_deref() {
            let (start, end) = self.raw_lower(event).unwrap_or_default();
            return pattern.matches_text(raw, &self.lower_buf[start as usize..end as usize]);
        }
        (0..event.fields.len()).any(|i| self.pattern_at(pattern, i, event))
    }
}

/// The selector marker of a rule reached through the prefilter's needles
/// rather than the routing index; sorts after its real selectors.
const UNLOCKED: u16 = u16::MAX - 1;

/// Merges the routed candidates and the rules the prefilter reached (both
/// sorted) into `out`, sorted.
/// Writes `id` into `buf` as the index files EventIDs: an integer's
/// canonical text (` 0004720` as `4720`), other text as it is. Most
/// EventIDs are canonical already and are copied without parsing.
fn canonical_integer(id: &str, buf: &mut String) {
    use std::fmt::Write;
    buf.clear();
    // Up to 18 digits always fits an i64; longer ones are parsed.
    if id.len() <= 18 && Num::is_canonical_int(id) {
        buf.push_str(id);
        return;
    }
    match id.trim().parse::<i64>() {
        Ok(n) => write!(buf, "{n}").expect("writing to a String"),
        Err(_) => buf.push_str(id),
    }
}

fn merge_two(routed: &[(usize, u16)], reached: impl Iterator<Item = (usize, u16)>, out: &mut Vec<(usize, u16)>) {
    let mut routed = routed.iter().copied().peekable();
    for item in reached {
        while let Some(next) = routed.next_if(|next| *next < item) {
            out.push(next);
        }
        out.push(item);
    }
    out.extend(routed);
}

/// Is the rule filed under the event's kind (Windows, syslog...)?
fn routed_rule_kind_ok(set: &RuleSet, rule: usize, kind: SourceKind) -> bool {
    set.index.get(&kind).is_some_and(|by_key| by_key.values().any(|rules| rules.iter().any(|(r, _)| *r == rule)))
}

#[cfg(test)]
mod tests {
    use ferret_model::{Event, FieldNames, Location, Provenance, SourceKind, Value};

    use super::{Scanner, canonical_integer};
    use crate::{Mappings, RuleSet};

    #[test]
    fn the_field_table_holds_only_the_current_event_even_when_its_count_wraps() {
        let names = FieldNames::new();
        let (set, _) = RuleSet::compile(&[], names.clone(), &Mappings::builtin());
        let mut scanner = Scanner::new(&set);
        let (image, user) = (names.intern("Image"), names.intern("User"));
        let event = |fields: &[(ferret_model::Field, &str)]| {
            let mut e =
                Event::new(SourceKind::Windows, Provenance { source: "t".into(), location: Location::Record(1) });
            for (field, value) in fields {
                e.push(*field, Value::text(*value));
            }
            e
        };
        let both = event(&[(user, "a"), (image, "x"), (image, "y")]);
        let user_only = event(&[(user, "b")]);
        scanner.build = u32::MAX - 2;
        for _ in 0..4 {
            scanner.index_fields(&both);
            assert_eq!((scanner.head(user), scanner.head(image)), (1, 2));
            assert_eq!(scanner.next[1], 3, "the second Image value follows the first");
            scanner.index_fields(&user_only);
            assert_eq!((scanner.head(user), scanner.head(image)), (1, 0), "build {}", scanner.build);
        }
    }

    #[test]
    fn event_ids_are_written_as_the_index_files_them() {
        let canonical = |id: &str| {
            let mut buf = String::from("stale");
            canonical_integer(id, &mut buf);
            buf
        };
        for (id, want) in [
            ("4720", "4720"),
            ("0", "0"),
            (" 4720 ", "4720"),
            ("04720", "4720"),
            ("+1", "1"),
            ("-1", "-1"),
            ("00", "0"),
            ("1234567890123456789", "1234567890123456789"),
            ("99999999999999999999", "99999999999999999999"),
            ("4720a", "4720a"),
            ("", ""),
        ] {
            assert_eq!(canonical(id), want, "{id:?}");
        }
    }
}
