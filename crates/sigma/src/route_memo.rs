//! What routing offers an event depends only on its kind, its channel (or
//! syslog program) and its EventID, and those repeat from event to event:
//! each scanner works it out once per distinct combination and keeps it,
//! instead of looking up and merging up to four index lists per event.

use std::sync::Arc;

use ferret_model::SourceKind;

use crate::keywords::{Keywords, Searchers};
use crate::prefilter::FieldBits;
use crate::route::{RouteKey, set_key};
use crate::ruleset::{Index, RuleSet};

/// What the index offers events of one (kind, routing key, EventID).
#[derive(Default)]
pub(crate) struct Routing {
    /// The rules to try (by rule, then selector), from every key the event
    /// is filed under.
    pub(crate) candidates: Vec<(usize, u16)>,
    /// One (rule, selector) per distinct field view events of these keys
    /// may be read through.
    pub(crate) views: Vec<(usize, u16)>,
    /// The fields the needles of these keys' rules are bound to: values
    /// searched, and values looked up whole.
    pub(crate) searched: FieldBits,
    pub(crate) whole: FieldBits,
    /// The keywords of every rule these keys reach (`None`: no keyword
    /// rule, and values no needle is bound to are not searched at all).
    pub(crate) keywords: Option<Arc<Keywords>>,
}

/// (kind, lowercase channel or program, EventID).
type MemoKey = (SourceKind, Option<String>, Option<String>);

/// Distinct combinations kept before starting over: memory stays bounded
/// whatever channels and EventIDs an input makes up (a routing holds up to
/// a few hundred candidates, ~10 KB with the SigmaHQ corpus; a log holds
/// far fewer combinations than this).
const MAX_ROUTES: usize = 1024;

#[derive(Default)]
pub(crate) struct RouteMemo {
    routes: foldhash::HashMap<MemoKey, Arc<Routing>>,
    /// The last routing asked for: consecutive events mostly share it,
    /// and comparing with it needs no owned key.
    last: Option<(MemoKey, Arc<Routing>)>,
    /// Keyword searchers by keyword set, shared by the routings.
    keywords: Searchers,
}

impl RouteMemo {
    /// The routing of an event of `kind` with this routing key and
    /// EventID; `prefiltered`: the prefilter will find the rules it gates,
    /// so only the others are candidates.
    pub(crate) fn get(
        &mut self,
        set: &RuleSet,
        prefiltered: bool,
        kind: SourceKind,
        routing_key: Option<&str>,
        event_id: Option<&str>,
    ) -> Arc<Routing> {
        if let Some(((k, r, e), routing)) = &self.last
            && *k == kind
            && r.as_deref() == routing_key
            && e.as_deref() == event_id
        {
            return routing.clone();
        }
        // The last key's buffers take this event's key: a lookup allocates
        // nothing once they have grown.
        let mut key = self.last.take().map_or((kind, None, None), |(key, _)| key);
        key.0 = kind;
        set_key(&mut key.1, routing_key, String::push_str);
        set_key(&mut key.2, event_id, String::push_str);
        let routing = match self.routes.get(&key) {
            Some(routing) => routing.clone(),
            None => {
                if self.routes.len() >= MAX_ROUTES {
                    self.routes.clear();
                    self.keywords.clear();
                }
                let routing = Arc::new(Routing::new(set, prefiltered, &key, &mut self.keywords));
                self.routes.insert(key.clone(), routing.clone());
                routing
            }
        };
        self.last = Some((key, routing.clone()));
        routing
    }

    /// Forgets every routing (the prefilter was turned on or off).
    pub(crate) fn clear(&mut self) {
        self.routes.clear();
        self.last = None;
        self.keywords.clear();
    }
}

impl Routing {
    fn new(
        set: &RuleSet,
        prefiltered: bool,
        (kind, routing_key, event_id): &MemoKey,
        keywords: &mut Searchers,
    ) -> Routing {
        let lookups = lookup_keys(routing_key.clone(), event_id.clone());
        let index = if prefiltered { &set.ungated } else { &set.plain };
        let mut routing = Routing::default();
        merge_sorted(&lists(index, *kind, &lookups), &mut routing.candidates);
        if prefiltered {
            // Every rule filed under these keys, gated or not.
            let reached = lists(&set.plain, *kind, &lookups);
            let rules = reached.iter().flat_map(|list| list.iter().map(|&(rule, _)| rule));
            routing.keywords = set.prefilter.keywords_of(rules, keywords);
        }
        for key in &lookups {
            if let Some(views) = set.views.get(kind).and_then(|by_key| by_key.get(key)) {
                routing.views.extend_from_slice(views);
            }
            if let Some((searched, whole)) = set.read.get(kind).and_then(|by_key| by_key.get(key)) {
                routing.searched.union_with(searched);
                routing.whole.union_with(whole);
            }
        }
        routing
    }
}

/// The lists `index` files under `kind` and each of `keys`.
fn lists<'a>(index: &'a Index, kind: SourceKind, keys: &[RouteKey]) -> Vec<&'a [(usize, u16)]> {
    let Some(by_key) = index.get(&kind) else { return Vec::new() };
    keys.iter().filter_map(|key| by_key.get(key).map(Vec::as_slice)).collect()
}

/// Every index key an event with this routing key and EventID is filed
/// under: rules for any channel, for its EventID in any channel, for its
/// channel, and for both.
fn lookup_keys(routing_key: Option<String>, event_id: Option<String>) -> Vec<RouteKey> {
    let mut keys = Vec::with_capacity(4);
    keys.push((None, None));
    if let Some(id) = &event_id {
        keys.push((None, Some(id.clone())));
    }
    if let Some(first) = routing_key {
        keys.push((Some(first.clone()), None));
        if let Some(id) = event_id {
            keys.push((Some(first), Some(id)));
        }
    }
    keys
}

/// Merges sorted lists (at most four) into `out`, sorted, without
/// duplicates.
fn merge_sorted(lists: &[&[(usize, u16)]], out: &mut Vec<(usize, u16)>) {
    out.clear();
    let mut heads = [0usize; 4];
    let lists = &lists[..lists.len().min(4)];
    loop {
        let mut best: Option<(usize, (usize, u16))> = None;
        for (i, list) in lists.iter().enumerate() {
            if let Some(&item) = list.get(heads[i])
                && best.is_none_or(|(_, b)| item < b)
            {
                best = Some((i, item));
            }
        }
        let Some((i, item)) = best else { return };
        heads[i] += 1;
        if out.last() != Some(&item) {
            out.push(item);
        }
    }
}
