//! Scheduler framework plugins: the defaults of each release and the effective
//! plugin set of a profile at every extension point.

use crate::k8s::api::ConfigApi;
use crate::k8s::version::Version;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use ExtensionPoint as P;

/// An extension point of the scheduling framework, spelled as in the
/// `profiles[].plugins` field of KubeSchedulerConfiguration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExtensionPoint {
    PreEnqueue,
    QueueSort,
    PreFilter,
    Filter,
    PostFilter,
    PreScore,
    Score,
    Reserve,
    Permit,
    PreBind,
    Bind,
    PostBind,
}

/// One `enabled` entry of a plugin set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginEntry {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// A `PluginSet` as written in a configuration file: `enabled` and `disabled`.
/// A disabled name `*` disables every default plugin of that set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginSet {
    #[serde(default)]
    pub enabled: Vec<PluginEntry>,
    #[serde(default)]
    pub disabled: Vec<String>,
}

/// `profiles[].plugins` as written in the file (before defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfilePlugins {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_point: Option<PluginSet>,
    #[serde(default)]
    pub points: BTreeMap<ExtensionPoint, PluginSet>,
}

/// A plugin that runs at an extension point of a profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectivePlugin {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// True when this plugin is one of the release's default plugins for this
    /// extension point.
    pub default: bool,
}

/// The plugins a profile runs, per extension point, after defaults,
/// `multiPoint` expansion, `enabled` and `disabled` are applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectivePlugins {
    /// Every extension point appears, with an empty list when nothing runs.
    pub points: BTreeMap<ExtensionPoint, Vec<EffectivePlugin>>,
    /// Plugins enabled through `multiPoint` that are not in-tree plugins known
    /// to schedguard: the extension points they implement cannot be known
    /// from the configuration alone.
    pub unresolved_multi_point: Vec<PluginEntry>,
}

impl ExtensionPoint {
    /// Every extension point, in the order a pod meets them.
    pub const ALL: [ExtensionPoint; 12] = [
        P::PreEnqueue,
        P::QueueSort,
        P::PreFilter,
        P::Filter,
        P::PostFilter,
        P::PreScore,
        P::Score,
        P::Reserve,
        P::Permit,
        P::PreBind,
        P::Bind,
        P::PostBind,
    ];
}

/// The plugins kube-scheduler of `release` runs for one profile whose
/// configuration file was written in `api`; `plugins` is that profile's
/// `plugins` field, `None` when the profile does not set it. Without a
/// configuration file, pass `ConfigApi::newest_for_minor(release.minor)` and
/// `None`.
///
/// The release's defaults are merged with `plugins` the way that release
/// does it, then `multiPoint` (v1beta3, v1) is expanded to the extension
/// points each plugin implements in that release. Every extension point is a
/// key of `points`, in run order within each list. `weight` is set at
/// `score` only and is the weight the framework uses (an unset or zero weight
/// counts as 1). `multiPoint` is ignored for v1beta1 and v1beta2, which have
/// no such field.
///
/// The result is what the merge produces even when kube-scheduler would then
/// refuse to start: two queueSort plugins, no bind plugin, a plugin named
/// twice at one point, or a plugin at a point it does not implement all
/// appear as written. The caller checks that `release` serves `api`
/// (`ConfigApi::served_by`).
// Limitation: defaults are those of each release's default feature gates; a
// scheduler started with other `--feature-gates` (for example
// DynamicResourceAllocation before 1.34) runs other defaults.
// Limitation: an in-tree plugin that `release` no longer has (or does not
// have yet) is still expanded to the points it implemented; kube-scheduler
// would refuse such a configuration.
pub fn effective_plugins(
    api: ConfigApi,
    release: Version,
    plugins: Option<&ProfilePlugins>,
) -> EffectivePlugins {
    if api.has_multi_point() {
        expand_multi_point(release.minor, plugins)
    } else {
        merge_per_point(api, release.minor, plugins)
    }
}

/// The plugins `release` runs at each extension point when a profile in `api`
/// leaves `plugins` unset: `effective_plugins(api, release, None).points`.
pub fn default_plugins(
    api: ConfigApi,
    release: Version,
) -> BTreeMap<ExtensionPoint, Vec<EffectivePlugin>> {
    effective_plugins(api, release, None).points
}

/// Whether `name` is a plugin compiled into kube-scheduler in any release
/// schedguard knows, including alpha, feature-gated and since-removed ones.
/// Names are case-sensitive, as in the configuration.
pub fn is_in_tree(name: &str) -> bool {
    IN_TREE.iter().any(|(known, _)| *known == name)
}

/// A plugin in a defaults table, listed in the minor releases `since..until`.
#[derive(Clone, Copy)]
struct Row {
    name: &'static str,
    weight: Option<i32>,
    since: u16,
    until: u16,
}

const fn row(name: &'static str) -> Row {
    Row {
        name,
        weight: None,
        since: 0,
        until: u16::MAX,
    }
}

impl Row {
    const fn weight(self, weight: i32) -> Row {
        Row {
            weight: Some(weight),
            ..self
        }
    }

    const fn since(self, minor: u16) -> Row {
        Row {
            since: minor,
            ..self
        }
    }

    const fn until(self, minor: u16) -> Row {
        Row {
            until: minor,
            ..self
        }
    }

    fn entry(&self) -> PluginEntry {
        PluginEntry {
            name: self.name.to_string(),
            weight: self.weight,
        }
    }
}

/// An extension point a plugin implements in the minor releases `since..until`.
#[derive(Clone, Copy)]
struct Hook {
    point: ExtensionPoint,
    since: u16,
    until: u16,
}

const fn hook(point: ExtensionPoint) -> Hook {
    Hook {
        point,
        since: 0,
        until: u16::MAX,
    }
}

impl Hook {
    const fn since(self, minor: u16) -> Hook {
        Hook {
            since: minor,
            ..self
        }
    }

    const fn until(self, minor: u16) -> Hook {
        Hook {
            until: minor,
            ..self
        }
    }
}

fn listed(since: u16, until: u16, minor: u16) -> bool {
    since <= minor && minor < until
}

// v1beta1 (1.19 to 1.22) lists its defaults per extension point. 1.19 and
// 1.20 from the in-tree registry (the 1.20 one read from the v1.20.2 source on
// this machine), 1.21 and 1.22 from apis/config/v1beta1/default_plugins.go.
// SelectorSpread is a default only in 1.19: DefaultPodTopologySpread is on by
// default from 1.20 (kubernetes#95631).
// Limitation: that NodeAffinity joined preFilter and preScore in 1.21 is taken
// from the dates of kubernetes#99213 and #96223, not from a 1.21 tree.
const V1BETA1_DEFAULTS: &[(ExtensionPoint, &[Row])] = &[
    (P::QueueSort, &[row("PrioritySort")]),
    (
        P::PreFilter,
        &[
            row("NodeResourcesFit"),
            row("NodePorts"),
            row("VolumeRestrictions").since(22),
            row("PodTopologySpread"),
            row("InterPodAffinity"),
            row("VolumeBinding"),
            row("NodeAffinity").since(21),
        ],
    ),
    (
        P::Filter,
        &[
            row("NodeUnschedulable"),
            row("NodeResourcesFit").until(20),
            row("NodeName"),
            row("NodePorts").until(20),
            row("NodeAffinity").until(20),
            row("VolumeRestrictions").until(20),
            row("TaintToleration"),
            row("NodeAffinity").since(20),
            row("NodePorts").since(20),
            row("NodeResourcesFit").since(20),
            row("VolumeRestrictions").since(20),
            row("EBSLimits"),
            row("GCEPDLimits"),
            row("NodeVolumeLimits"),
            row("AzureDiskLimits"),
            row("VolumeBinding"),
            row("VolumeZone"),
            row("PodTopologySpread"),
            row("InterPodAffinity"),
        ],
    ),
    (P::PostFilter, &[row("DefaultPreemption")]),
    (
        P::PreScore,
        &[
            row("InterPodAffinity"),
            row("PodTopologySpread"),
            row("TaintToleration"),
            row("NodeAffinity").since(21),
            row("SelectorSpread").until(20),
        ],
    ),
    (
        P::Score,
        &[
            row("NodeResourcesBalancedAllocation").weight(1),
            row("ImageLocality").weight(1),
            row("InterPodAffinity").weight(1),
            row("NodeResourcesLeastAllocated").weight(1),
            row("NodeAffinity").weight(1),
            row("NodePreferAvoidPods").weight(10000),
            row("PodTopologySpread").weight(2),
            row("TaintToleration").weight(1),
            row("SelectorSpread").weight(1).until(20),
        ],
    ),
    (P::Reserve, &[row("VolumeBinding")]),
    (P::PreBind, &[row("VolumeBinding")]),
    (P::Bind, &[row("DefaultBinder")]),
];

// v1beta2 (1.22 to 1.27), from apis/config/v1beta2/default_plugins.go.
// SchedulingGates is added when PodSchedulingReadiness is on, the default from
// 1.27 (beta).
// Limitation: VolumeZone at preFilter from 1.27 (kubernetes#114149) is read
// from a development tree of that cycle, not from the 1.27 release.
const V1BETA2_DEFAULTS: &[(ExtensionPoint, &[Row])] = &[
    (P::PreEnqueue, &[row("SchedulingGates").since(27)]),
    (P::QueueSort, &[row("PrioritySort")]),
    (
        P::PreFilter,
        &[
            row("NodeResourcesFit"),
            row("NodePorts"),
            row("VolumeRestrictions"),
            row("PodTopologySpread"),
            row("InterPodAffinity"),
            row("VolumeBinding"),
            row("VolumeZone").since(27),
            row("NodeAffinity"),
        ],
    ),
    (
        P::Filter,
        &[
            row("NodeUnschedulable"),
            row("NodeName"),
            row("TaintToleration"),
            row("NodeAffinity"),
            row("NodePorts"),
            row("NodeResourcesFit"),
            row("VolumeRestrictions"),
            row("EBSLimits"),
            row("GCEPDLimits"),
            row("NodeVolumeLimits"),
            row("AzureDiskLimits"),
            row("VolumeBinding"),
            row("VolumeZone"),
            row("PodTopologySpread"),
            row("InterPodAffinity"),
        ],
    ),
    (P::PostFilter, &[row("DefaultPreemption")]),
    (
        P::PreScore,
        &[
            row("InterPodAffinity"),
            row("PodTopologySpread"),
            row("TaintToleration"),
            row("NodeAffinity"),
        ],
    ),
    (
        P::Score,
        &[
            row("NodeResourcesBalancedAllocation").weight(1),
            row("ImageLocality").weight(1),
            row("InterPodAffinity").weight(1),
            row("NodeResourcesFit").weight(1),
            row("NodeAffinity").weight(1),
            row("PodTopologySpread").weight(2),
            row("TaintToleration").weight(1),
        ],
    ),
    (P::Reserve, &[row("VolumeBinding")]),
    (P::PreBind, &[row("VolumeBinding")]),
    (P::Bind, &[row("DefaultBinder")]),
];

// v1beta3 (1.23 to 1.28) and v1 (1.25 on) enable every default through
// multiPoint, from apis/config/{v1beta3,v1}/default_plugins.go and
// testing/defaults. SchedulingGates is appended while PodSchedulingReadiness is
// beta (on from 1.27) and listed first once it is GA; the non-CSI volume limit
// plugins leave the defaults in 1.31 (kubernetes#124500); DynamicResources is
// inserted before DefaultPreemption once DynamicResourceAllocation is on by
// default (GA in 1.34).
// Limitation: that SchedulingGates moved to the front in 1.30 is inferred from
// the GA change (kubernetes#123575); it only changes the order at preEnqueue.
const MULTI_POINT_DEFAULTS: &[Row] = &[
    row("SchedulingGates").since(30),
    row("PrioritySort"),
    row("NodeUnschedulable"),
    row("NodeName"),
    row("TaintToleration").weight(3),
    row("NodeAffinity").weight(2),
    row("NodePorts"),
    row("NodeResourcesFit").weight(1),
    row("VolumeRestrictions"),
    row("EBSLimits").until(31),
    row("GCEPDLimits").until(31),
    row("NodeVolumeLimits"),
    row("AzureDiskLimits").until(31),
    row("VolumeBinding"),
    row("VolumeZone"),
    row("PodTopologySpread").weight(2),
    row("InterPodAffinity").weight(2),
    row("DynamicResources").since(34),
    row("DefaultPreemption"),
    row("NodeResourcesBalancedAllocation").weight(1),
    row("ImageLocality").weight(1),
    row("DefaultBinder"),
    row("SchedulingGates").since(27).until(30),
];

const NON_CSI_LIMITS: &[Hook] = &[hook(P::PreFilter).since(28), hook(P::Filter)];

// The in-tree plugins and the extension points each implements, which is
// where the framework expands a multiPoint plugin. VolumeBinding implements
// score from 1.21 whether or not VolumeCapacityPriority is on (it then scores
// nothing), so multiPoint puts it at score.
// Limitation: these release boundaries come from pull-request dates and
// development trees, not from each release: NodeResourcesFit and
// NodeResourcesBalancedAllocation preScore (1.27, kubernetes#115655), the
// volume limit plugins' preFilter (1.28, #115398), VolumeBinding preScore
// (1.29, #115768), DefaultPreemption preEnqueue (1.32, #128170), and every
// DynamicResources and GangScheduling point.
const IN_TREE: &[(&str, &[Hook])] = &[
    ("PrioritySort", &[hook(P::QueueSort)]),
    ("SchedulingGates", &[hook(P::PreEnqueue).since(26)]),
    ("NodeUnschedulable", &[hook(P::Filter)]),
    ("NodeName", &[hook(P::Filter)]),
    (
        "TaintToleration",
        &[hook(P::Filter), hook(P::PreScore), hook(P::Score)],
    ),
    (
        "NodeAffinity",
        &[
            hook(P::PreFilter).since(21),
            hook(P::Filter),
            hook(P::PreScore).since(21),
            hook(P::Score),
        ],
    ),
    ("NodePorts", &[hook(P::PreFilter), hook(P::Filter)]),
    (
        "NodeResourcesFit",
        &[
            hook(P::PreFilter),
            hook(P::Filter),
            hook(P::PreScore).since(27),
            hook(P::Score).since(22),
        ],
    ),
    (
        "VolumeRestrictions",
        &[hook(P::PreFilter).since(22), hook(P::Filter)],
    ),
    ("EBSLimits", NON_CSI_LIMITS),
    ("GCEPDLimits", NON_CSI_LIMITS),
    ("AzureDiskLimits", NON_CSI_LIMITS),
    ("CinderLimits", NON_CSI_LIMITS),
    (
        "NodeVolumeLimits",
        &[hook(P::PreFilter).since(28), hook(P::Filter)],
    ),
    (
        "VolumeBinding",
        &[
            hook(P::PreFilter),
            hook(P::Filter),
            hook(P::PreScore).since(29),
            hook(P::Score).since(21),
            hook(P::Reserve),
            hook(P::PreBind),
        ],
    ),
    (
        "VolumeZone",
        &[hook(P::PreFilter).since(27), hook(P::Filter)],
    ),
    (
        "PodTopologySpread",
        &[
            hook(P::PreFilter),
            hook(P::Filter),
            hook(P::PreScore),
            hook(P::Score),
        ],
    ),
    (
        "InterPodAffinity",
        &[
            hook(P::PreFilter),
            hook(P::Filter),
            hook(P::PreScore),
            hook(P::Score),
        ],
    ),
    (
        "DynamicResources",
        &[
            hook(P::PreEnqueue).since(27),
            hook(P::PreFilter).since(26),
            hook(P::Filter).since(26),
            hook(P::PostFilter).since(26),
            hook(P::PreScore).since(26).until(32),
            hook(P::Reserve).since(26),
            hook(P::PreBind).since(27),
            hook(P::PostBind).since(27).until(32),
        ],
    ),
    (
        "DefaultPreemption",
        &[hook(P::PreEnqueue).since(32), hook(P::PostFilter)],
    ),
    (
        "NodeResourcesBalancedAllocation",
        &[hook(P::PreScore).since(27), hook(P::Score)],
    ),
    ("ImageLocality", &[hook(P::Score)]),
    ("DefaultBinder", &[hook(P::Bind)]),
    ("SelectorSpread", &[hook(P::PreScore), hook(P::Score)]),
    ("NodePreferAvoidPods", &[hook(P::Score)]),
    ("NodeResourcesLeastAllocated", &[hook(P::Score)]),
    ("NodeResourcesMostAllocated", &[hook(P::Score)]),
    ("RequestedToCapacityRatio", &[hook(P::Score)]),
    ("NodeLabel", &[hook(P::Filter), hook(P::Score)]),
    (
        "ServiceAffinity",
        &[hook(P::PreFilter), hook(P::Filter), hook(P::Score)],
    ),
    (
        "NodeDeclaredFeatures",
        &[hook(P::PreFilter).since(35), hook(P::Filter).since(35)],
    ),
    (
        "GangScheduling",
        &[hook(P::PreEnqueue).since(35), hook(P::Permit).since(35)],
    ),
];

fn implements(name: &str, point: ExtensionPoint, minor: u16) -> bool {
    IN_TREE
        .iter()
        .filter(|(known, _)| *known == name)
        .flat_map(|(_, hooks)| hooks.iter())
        .any(|h| h.point == point && listed(h.since, h.until, minor))
}

fn defaults_at(
    table: &[(ExtensionPoint, &[Row])],
    point: ExtensionPoint,
    minor: u16,
) -> Vec<PluginEntry> {
    table
        .iter()
        .filter(|(at, _)| *at == point)
        .flat_map(|(_, rows)| rows.iter())
        .filter(|r| listed(r.since, r.until, minor))
        .map(Row::entry)
        .collect()
}

/// v1beta1 and v1beta2: each extension point's defaults merged with the
/// profile's set for that point.
fn merge_per_point(
    api: ConfigApi,
    minor: u16,
    plugins: Option<&ProfilePlugins>,
) -> EffectivePlugins {
    let table = match api {
        ConfigApi::V1beta1 => V1BETA1_DEFAULTS,
        _ => V1BETA2_DEFAULTS,
    };
    // v1beta1 appends every enabled entry; v1beta2 lets an entry that names a
    // default replace it in place (kubernetes#99582).
    let replace_in_place = api != ConfigApi::V1beta1;

    let mut result = EffectivePlugins::default();
    for point in ExtensionPoint::ALL {
        let defaults = defaults_at(table, point, minor);
        let merged = match plugins.and_then(|p| p.points.get(&point)) {
            Some(set) => merge_set(&defaults, set, replace_in_place),
            None => defaults.clone(),
        };
        let running = merged.iter().map(|e| run_at(point, e, &defaults)).collect();
        result.points.insert(point, running);
    }
    result
}

/// v1beta3 and v1: the multiPoint defaults merged with the profile's
/// multiPoint set, then expanded per extension point as the framework does.
fn expand_multi_point(minor: u16, plugins: Option<&ProfilePlugins>) -> EffectivePlugins {
    let default_multi: Vec<PluginEntry> = MULTI_POINT_DEFAULTS
        .iter()
        .filter(|r| listed(r.since, r.until, minor))
        .map(Row::entry)
        .collect();
    let multi = match plugins.and_then(|p| p.multi_point.as_ref()) {
        Some(set) => merge_set(&default_multi, set, true),
        None => default_multi.clone(),
    };

    let unset = PluginSet::default();
    let mut result = EffectivePlugins::default();
    for point in ExtensionPoint::ALL {
        let defaults = expand_at(point, minor, &default_multi, &unset);
        let set = plugins.and_then(|p| p.points.get(&point)).unwrap_or(&unset);
        let running = expand_at(point, minor, &multi, set)
            .iter()
            .map(|e| run_at(point, e, &defaults))
            .collect();
        result.points.insert(point, running);
    }
    result.unresolved_multi_point = multi.into_iter().filter(|e| !is_in_tree(&e.name)).collect();
    result
}

/// Merges a profile's plugin set into a release's defaults: `*` in `disabled`
/// drops every default, a disabled name drops that default, and enabled
/// entries follow the defaults. With `replace_in_place`, an enabled entry
/// named like a default takes that default's place instead (the last such
/// entry wins, as in kube-scheduler's map).
fn merge_set(
    defaults: &[PluginEntry],
    set: &PluginSet,
    replace_in_place: bool,
) -> Vec<PluginEntry> {
    let disabled = |name: &str| set.disabled.iter().any(|d| d == name);
    let mut replaced = vec![false; set.enabled.len()];
    let mut merged = Vec::new();

    if !disabled("*") {
        for default in defaults.iter().filter(|d| !disabled(&d.name)) {
            let replacement = replace_in_place
                .then(|| set.enabled.iter().rposition(|e| e.name == default.name))
                .flatten();
            match replacement {
                Some(i) => {
                    replaced[i] = true;
                    merged.push(set.enabled[i].clone());
                }
                None => merged.push(default.clone()),
            }
        }
    }

    let appended = set.enabled.iter().zip(&replaced).filter(|(_, r)| !**r);
    merged.extend(appended.map(|(e, _)| e.clone()));
    merged
}

/// The plugins at `point` after expanding the merged multiPoint set `multi`
/// against the profile's set for that point, in the framework's order:
/// explicitly enabled plugins that override a multiPoint plugin, then the
/// other multiPoint plugins, then the remaining explicitly enabled ones. An
/// overriding entry's own weight replaces the multiPoint weight.
fn expand_at(
    point: ExtensionPoint,
    minor: u16,
    multi: &[PluginEntry],
    set: &PluginSet,
) -> Vec<PluginEntry> {
    let disabled = |name: &str| set.disabled.iter().any(|d| d == name);
    if disabled("*") {
        return set.enabled.clone();
    }

    let from_multi: Vec<&PluginEntry> = multi
        .iter()
        .filter(|e| implements(&e.name, point, minor) && !disabled(&e.name))
        .collect();
    let overrides = |name: &str| from_multi.iter().any(|m| m.name == name);
    let explicit = |name: &str| set.enabled.iter().any(|e| e.name == name);

    let mut expanded: Vec<PluginEntry> = set
        .enabled
        .iter()
        .filter(|e| overrides(&e.name))
        .cloned()
        .collect();
    expanded.extend(
        from_multi
            .iter()
            .filter(|m| !explicit(&m.name))
            .map(|m| (*m).clone()),
    );
    expanded.extend(set.enabled.iter().filter(|e| !overrides(&e.name)).cloned());
    expanded
}

/// One plugin as it runs at `point`; `defaults` are the release's plugins at
/// that point.
fn run_at(point: ExtensionPoint, entry: &PluginEntry, defaults: &[PluginEntry]) -> EffectivePlugin {
    // The framework scores an unset or zero weight as 1.
    let weight = (point == P::Score).then(|| entry.weight.filter(|w| *w != 0).unwrap_or(1));
    EffectivePlugin {
        name: entry.name.clone(),
        weight,
        default: defaults.iter().any(|d| d.name == entry.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(minor: u16) -> Version {
        Version::new(1, minor, 0)
    }

    fn defaults(minor: u16) -> EffectivePlugins {
        let api = ConfigApi::newest_for_minor(minor);
        effective_plugins(api, release(minor), None)
    }

    fn with(api: ConfigApi, minor: u16, plugins: ProfilePlugins) -> EffectivePlugins {
        effective_plugins(api, release(minor), Some(&plugins))
    }

    fn names(result: &EffectivePlugins, point: ExtensionPoint) -> Vec<&str> {
        result.points[&point]
            .iter()
            .map(|p| p.name.as_str())
            .collect()
    }

    fn weight(result: &EffectivePlugins, name: &str) -> Option<i32> {
        let score = &result.points[&P::Score];
        score.iter().find(|p| p.name == name).and_then(|p| p.weight)
    }

    fn is_default(result: &EffectivePlugins, point: ExtensionPoint, name: &str) -> bool {
        result.points[&point]
            .iter()
            .any(|p| p.name == name && p.default)
    }

    fn enable(name: &str, weight: Option<i32>) -> PluginEntry {
        PluginEntry {
            name: name.to_string(),
            weight,
        }
    }

    fn set(enabled: &[PluginEntry], disabled: &[&str]) -> PluginSet {
        PluginSet {
            enabled: enabled.to_vec(),
            disabled: disabled.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn at(sets: &[(ExtensionPoint, PluginSet)]) -> ProfilePlugins {
        ProfilePlugins {
            multi_point: None,
            points: sets.iter().cloned().collect(),
        }
    }

    fn multi_point(set: PluginSet) -> ProfilePlugins {
        ProfilePlugins {
            multi_point: Some(set),
            points: BTreeMap::new(),
        }
    }

    #[test]
    fn every_extension_point_is_a_key_even_when_empty() {
        for minor in 19..=34 {
            assert_eq!(defaults(minor).points.len(), ExtensionPoint::ALL.len());
        }
    }

    #[test]
    fn no_config_on_1_30_runs_the_v1_defaults() {
        let result = defaults(30);
        assert_eq!(names(&result, P::QueueSort), ["PrioritySort"]);
        assert_eq!(names(&result, P::PreEnqueue), ["SchedulingGates"]);
        assert!(names(&result, P::Permit).is_empty());
        assert!(names(&result, P::PostBind).is_empty());
        assert!(names(&result, P::Filter).contains(&"TaintToleration"));
        assert_eq!(names(&result, P::Bind), ["DefaultBinder"]);
        assert!(result.unresolved_multi_point.is_empty());
    }

    #[test]
    fn no_config_on_1_30_scores_with_the_v1_weights() {
        let result = defaults(30);
        assert_eq!(weight(&result, "TaintToleration"), Some(3));
        assert_eq!(weight(&result, "NodeAffinity"), Some(2));
        assert_eq!(weight(&result, "PodTopologySpread"), Some(2));
        assert_eq!(weight(&result, "InterPodAffinity"), Some(2));
        assert_eq!(weight(&result, "NodeResourcesFit"), Some(1));
        assert_eq!(weight(&result, "NodeResourcesBalancedAllocation"), Some(1));
        assert_eq!(weight(&result, "ImageLocality"), Some(1));
        assert_eq!(weight(&result, "VolumeBinding"), Some(1));
    }

    #[test]
    fn v1_defaults_of_1_30_match_the_upstream_expanded_list_in_order() {
        let result = defaults(30);
        let volume_filters = [
            "VolumeRestrictions",
            "EBSLimits",
            "GCEPDLimits",
            "NodeVolumeLimits",
            "AzureDiskLimits",
            "VolumeBinding",
            "VolumeZone",
            "PodTopologySpread",
            "InterPodAffinity",
        ];
        let pre_filter = [
            &["NodeAffinity", "NodePorts", "NodeResourcesFit"][..],
            &volume_filters,
        ]
        .concat();
        let filter = [
            &[
                "NodeUnschedulable",
                "NodeName",
                "TaintToleration",
                "NodeAffinity",
                "NodePorts",
                "NodeResourcesFit",
            ][..],
            &volume_filters,
        ]
        .concat();
        assert_eq!(names(&result, P::PreFilter), pre_filter);
        assert_eq!(names(&result, P::Filter), filter);
        assert_eq!(names(&result, P::PostFilter), ["DefaultPreemption"]);
        assert_eq!(
            names(&result, P::PreScore),
            [
                "TaintToleration",
                "NodeAffinity",
                "NodeResourcesFit",
                "VolumeBinding",
                "PodTopologySpread",
                "InterPodAffinity",
                "NodeResourcesBalancedAllocation"
            ]
        );
        assert_eq!(
            names(&result, P::Score),
            [
                "TaintToleration",
                "NodeAffinity",
                "NodeResourcesFit",
                "VolumeBinding",
                "PodTopologySpread",
                "InterPodAffinity",
                "NodeResourcesBalancedAllocation",
                "ImageLocality"
            ]
        );
        assert_eq!(names(&result, P::Reserve), ["VolumeBinding"]);
        assert_eq!(names(&result, P::PreBind), ["VolumeBinding"]);
    }

    #[test]
    fn every_default_is_marked_default_and_weight_is_set_only_at_score() {
        let result = defaults(30);
        for (point, plugins) in &result.points {
            for plugin in plugins {
                assert!(plugin.default, "{} at {point:?}", plugin.name);
                assert_eq!(plugin.weight.is_some(), *point == P::Score);
            }
        }
    }

    #[test]
    fn v1beta1_defaults_of_1_20_score_node_prefer_avoid_pods_at_10000() {
        let result = defaults(20);
        assert_eq!(weight(&result, "NodePreferAvoidPods"), Some(10000));
        assert_eq!(weight(&result, "NodeResourcesLeastAllocated"), Some(1));
        assert_eq!(weight(&result, "PodTopologySpread"), Some(2));
        assert_eq!(weight(&result, "TaintToleration"), Some(1));
        assert_eq!(names(&result, P::PostFilter), ["DefaultPreemption"]);
    }

    #[test]
    fn v1beta1_defaults_of_1_20_match_the_v1_20_2_registry_filter_order() {
        let result = defaults(20);
        let filter = names(&result, P::Filter);
        assert_eq!(
            filter[..4],
            [
                "NodeUnschedulable",
                "NodeName",
                "TaintToleration",
                "NodeAffinity"
            ]
        );
        assert_eq!(filter.len(), 15);
        assert_eq!(
            names(&result, P::PreScore),
            ["InterPodAffinity", "PodTopologySpread", "TaintToleration"]
        );
    }

    #[test]
    fn selector_spread_is_a_default_only_in_1_19() {
        assert_eq!(weight(&defaults(19), "SelectorSpread"), Some(1));
        assert!(names(&defaults(19), P::PreScore).contains(&"SelectorSpread"));
        assert_eq!(weight(&defaults(20), "SelectorSpread"), None);
        assert_eq!(weight(&defaults(22), "SelectorSpread"), None);
    }

    #[test]
    fn v1beta1_of_1_19_keeps_the_old_filter_order() {
        let result = defaults(19);
        let filter = names(&result, P::Filter);
        assert_eq!(
            filter[..3],
            ["NodeUnschedulable", "NodeResourcesFit", "NodeName"]
        );
    }

    #[test]
    fn node_affinity_pre_filter_starts_in_1_21_and_volume_restrictions_pre_filter_in_1_22() {
        assert!(!names(&defaults(20), P::PreFilter).contains(&"NodeAffinity"));
        assert!(names(&defaults(21), P::PreFilter).contains(&"NodeAffinity"));
        assert!(!names(&defaults(21), P::PreFilter).contains(&"VolumeRestrictions"));
        let v1beta1 = effective_plugins(ConfigApi::V1beta1, release(22), None);
        assert!(names(&v1beta1, P::PreFilter).contains(&"VolumeRestrictions"));
    }

    #[test]
    fn v1beta2_defaults_weigh_affinity_and_taints_at_1() {
        let result = defaults(22);
        assert_eq!(weight(&result, "InterPodAffinity"), Some(1));
        assert_eq!(weight(&result, "NodeAffinity"), Some(1));
        assert_eq!(weight(&result, "TaintToleration"), Some(1));
        assert_eq!(weight(&result, "NodeResourcesFit"), Some(1));
        assert_eq!(weight(&result, "NodePreferAvoidPods"), None);
    }

    #[test]
    fn v1beta3_defaults_weigh_affinity_and_taints_higher() {
        let result = defaults(23);
        assert_eq!(weight(&result, "InterPodAffinity"), Some(2));
        assert_eq!(weight(&result, "NodeAffinity"), Some(2));
        assert_eq!(weight(&result, "TaintToleration"), Some(3));
        assert!(!names(&result, P::PreScore).contains(&"NodeResourcesFit"));
    }

    #[test]
    fn scheduling_gates_is_a_default_from_1_27() {
        assert!(names(&defaults(26), P::PreEnqueue).is_empty());
        assert_eq!(names(&defaults(27), P::PreEnqueue), ["SchedulingGates"]);
        let v1beta2 = effective_plugins(ConfigApi::V1beta2, release(27), None);
        assert_eq!(names(&v1beta2, P::PreEnqueue), ["SchedulingGates"]);
    }

    #[test]
    fn release_1_31_drops_the_non_csi_volume_limit_plugins() {
        assert!(names(&defaults(30), P::Filter).contains(&"EBSLimits"));
        let result = defaults(31);
        for point in [P::PreFilter, P::Filter] {
            let running = names(&result, point);
            assert!(!running.contains(&"EBSLimits"));
            assert!(!running.contains(&"GCEPDLimits"));
            assert!(!running.contains(&"AzureDiskLimits"));
            assert!(running.contains(&"NodeVolumeLimits"));
        }
    }

    #[test]
    fn dynamic_resources_is_a_default_only_from_1_34() {
        assert!(!names(&defaults(33), P::Filter).contains(&"DynamicResources"));
        let result = defaults(34);
        assert_eq!(
            names(&result, P::PostFilter),
            ["DynamicResources", "DefaultPreemption"]
        );
        assert_eq!(
            names(&result, P::PreEnqueue),
            ["SchedulingGates", "DynamicResources", "DefaultPreemption"]
        );
        assert!(is_default(&result, P::Reserve, "DynamicResources"));
    }

    #[test]
    fn queue_sort_disabled_with_star_and_a_custom_enabled_leaves_only_the_custom() {
        let custom = set(&[enable("MySort", None)], &["*"]);
        for (api, minor) in [
            (ConfigApi::V1, 30),
            (ConfigApi::V1beta2, 22),
            (ConfigApi::V1beta1, 20),
        ] {
            let result = with(api, minor, at(&[(P::QueueSort, custom.clone())]));
            assert_eq!(names(&result, P::QueueSort), ["MySort"]);
            assert!(!result.points[&P::QueueSort][0].default);
        }
    }

    #[test]
    fn filter_disabled_with_star_in_v1_empties_filter_but_keeps_pre_filter() {
        let result = with(ConfigApi::V1, 30, at(&[(P::Filter, set(&[], &["*"]))]));
        assert!(names(&result, P::Filter).is_empty());
        assert_eq!(
            names(&result, P::PreFilter),
            names(&defaults(30), P::PreFilter)
        );
        assert!(names(&result, P::Score).contains(&"TaintToleration"));
    }

    #[test]
    fn a_name_disabled_at_one_point_still_runs_at_the_others() {
        let result = with(
            ConfigApi::V1,
            30,
            at(&[(P::Score, set(&[], &["TaintToleration"]))]),
        );
        assert!(!names(&result, P::Score).contains(&"TaintToleration"));
        assert!(names(&result, P::Filter).contains(&"TaintToleration"));
        assert!(names(&result, P::PreScore).contains(&"TaintToleration"));
    }

    #[test]
    fn multi_point_disabled_by_name_removes_the_plugin_everywhere() {
        let result = with(
            ConfigApi::V1,
            30,
            multi_point(set(&[], &["InterPodAffinity"])),
        );
        for point in ExtensionPoint::ALL {
            assert!(
                !names(&result, point).contains(&"InterPodAffinity"),
                "{point:?}"
            );
        }
        assert!(names(&result, P::Filter).contains(&"PodTopologySpread"));
    }

    #[test]
    fn multi_point_disabled_with_star_runs_only_what_the_profile_enables() {
        let only = set(
            &[enable("PrioritySort", None), enable("DefaultBinder", None)],
            &["*"],
        );
        let result = with(ConfigApi::V1, 30, multi_point(only));
        assert_eq!(names(&result, P::QueueSort), ["PrioritySort"]);
        assert_eq!(names(&result, P::Bind), ["DefaultBinder"]);
        assert!(names(&result, P::Filter).is_empty());
    }

    #[test]
    fn multi_point_entry_named_like_a_default_replaces_its_weight_in_place() {
        let result = with(
            ConfigApi::V1,
            30,
            multi_point(set(&[enable("ImageLocality", Some(7))], &[])),
        );
        assert_eq!(weight(&result, "ImageLocality"), Some(7));
        assert_eq!(names(&result, P::Score).last(), Some(&"ImageLocality"));
        assert!(is_default(&result, P::Score, "ImageLocality"));
    }

    #[test]
    fn explicit_score_enable_overrides_the_multi_point_weight_and_runs_first() {
        let profile = at(&[(P::Score, set(&[enable("NodeAffinity", Some(5))], &[]))]);
        let result = with(ConfigApi::V1, 30, profile);
        assert_eq!(weight(&result, "NodeAffinity"), Some(5));
        assert_eq!(
            names(&result, P::Score)[..2],
            ["NodeAffinity", "TaintToleration"]
        );
        assert_eq!(
            names(&result, P::Score)
                .iter()
                .filter(|n| **n == "NodeAffinity")
                .count(),
            1
        );
        assert!(is_default(&result, P::Score, "NodeAffinity"));
    }

    #[test]
    fn explicit_score_enable_without_weight_scores_at_1() {
        let profile = at(&[(P::Score, set(&[enable("TaintToleration", None)], &[]))]);
        assert_eq!(
            weight(&with(ConfigApi::V1, 30, profile), "TaintToleration"),
            Some(1)
        );
    }

    #[test]
    fn custom_plugin_in_multi_point_is_unresolved() {
        let result = with(
            ConfigApi::V1,
            30,
            multi_point(set(&[enable("Coscheduling", Some(4))], &[])),
        );
        assert_eq!(
            result.unresolved_multi_point,
            [enable("Coscheduling", Some(4))]
        );
        for point in ExtensionPoint::ALL {
            assert!(
                !names(&result, point).contains(&"Coscheduling"),
                "{point:?}"
            );
        }
    }

    #[test]
    fn in_tree_plugin_in_multi_point_expands_to_the_points_it_implements() {
        let result = with(
            ConfigApi::V1beta3,
            24,
            multi_point(set(&[enable("SelectorSpread", None)], &[])),
        );
        assert!(names(&result, P::PreScore).contains(&"SelectorSpread"));
        assert!(!is_default(&result, P::Score, "SelectorSpread"));
        assert!(!names(&result, P::Filter).contains(&"SelectorSpread"));
        assert!(result.unresolved_multi_point.is_empty());
    }

    #[test]
    fn custom_plugin_enabled_at_permit_runs_and_is_not_default() {
        let result = with(
            ConfigApi::V1,
            30,
            at(&[(P::Permit, set(&[enable("Gate", None)], &[]))]),
        );
        assert_eq!(names(&result, P::Permit), ["Gate"]);
        assert!(!result.points[&P::Permit][0].default);
        assert_eq!(result.points[&P::Permit][0].weight, None);
    }

    #[test]
    fn custom_filter_is_appended_after_the_multi_point_plugins() {
        let result = with(
            ConfigApi::V1,
            30,
            at(&[(P::Filter, set(&[enable("Mine", None)], &[]))]),
        );
        assert_eq!(names(&result, P::Filter).last(), Some(&"Mine"));
        assert_eq!(names(&result, P::Filter).len(), 16);
    }

    #[test]
    fn hardening_guide_seed_empties_queue_sort_filter_and_permit() {
        let all = set(&[], &["*"]);
        let profile = at(&[
            (P::QueueSort, all.clone()),
            (P::Filter, all.clone()),
            (P::Permit, all),
        ]);
        let result = with(ConfigApi::V1, 30, profile);
        assert!(names(&result, P::QueueSort).is_empty());
        assert!(names(&result, P::Filter).is_empty());
        assert!(names(&result, P::Permit).is_empty());
        assert_eq!(names(&result, P::Bind), ["DefaultBinder"]);
    }

    #[test]
    fn v1beta2_entry_named_like_a_default_replaces_it_in_place() {
        let profile = at(&[(P::Score, set(&[enable("InterPodAffinity", Some(5))], &[]))]);
        let result = with(ConfigApi::V1beta2, 22, profile);
        assert_eq!(names(&result, P::Score), names(&defaults(22), P::Score));
        assert_eq!(weight(&result, "InterPodAffinity"), Some(5));
    }

    #[test]
    fn v1beta1_entry_named_like_a_default_is_appended_a_second_time() {
        let profile = at(&[(P::Score, set(&[enable("InterPodAffinity", Some(5))], &[]))]);
        let result = with(ConfigApi::V1beta1, 20, profile);
        let score = names(&result, P::Score);
        assert_eq!(
            score.iter().filter(|n| **n == "InterPodAffinity").count(),
            2
        );
        assert_eq!(score.last(), Some(&"InterPodAffinity"));
    }

    #[test]
    fn v1beta2_ignores_multi_point() {
        let result = with(
            ConfigApi::V1beta2,
            22,
            multi_point(set(&[enable("Mine", None)], &["*"])),
        );
        assert_eq!(result, defaults(22));
    }

    #[test]
    fn default_plugins_are_the_effective_plugins_without_a_profile() {
        assert_eq!(
            default_plugins(ConfigApi::V1, release(31)),
            defaults(31).points
        );
    }

    #[test]
    fn in_tree_names_include_gated_and_removed_plugins() {
        for name in [
            "DynamicResources",
            "SchedulingGates",
            "NodeResourcesLeastAllocated",
            "NodePreferAvoidPods",
        ] {
            assert!(is_in_tree(name), "{name}");
        }
        for name in [
            "SelectorSpread",
            "ServiceAffinity",
            "NodeLabel",
            "CinderLimits",
            "PrioritySort",
        ] {
            assert!(is_in_tree(name), "{name}");
        }
        assert!(!is_in_tree("Coscheduling"));
        assert!(!is_in_tree("prioritysort"));
        assert!(!is_in_tree("*"));
    }
}
