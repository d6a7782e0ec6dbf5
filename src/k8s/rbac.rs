//! Kubernetes RBAC as the API server's RBAC authorizer evaluates it: roles,
//! bindings, aggregated ClusterRoles, and which subjects a binding lets
//! perform a verb on a resource. Pure: the objects come from the facts.
//!
//! The rules follow kube-apiserver's `rbac/validation` and
//! `rbac/v1/evaluation_helpers.go`: a ClusterRoleBinding grants its role's
//! rules everywhere; a RoleBinding grants them only inside its namespace,
//! so it never grants a cluster-scoped resource such as `nodes`, even when
//! it references a ClusterRole. `*` matches every verb, API group or
//! resource; `*/status` matches the `status` subresource of every resource.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// One `rules[]` entry of a Role or ClusterRole.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PolicyRule {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verbs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

impl fmt::Display for PolicyRule {
    /// `{verbs: [patch], apiGroups: [""], resources: [nodes]}`, in the
    /// spelling of the Role's YAML.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |items: &[String]| -> String {
            let quoted: Vec<String> = items
                .iter()
                .map(|i| {
                    if i.is_empty() || i == "*" {
                        format!("\"{i}\"")
                    } else {
                        i.clone()
                    }
                })
                .collect();
            format!("[{}]", quoted.join(", "))
        };
        write!(f, "{{verbs: {}", list(&self.verbs))?;
        if !self.api_groups.is_empty() {
            write!(f, ", apiGroups: {}", list(&self.api_groups))?;
        }
        if !self.resources.is_empty() {
            write!(f, ", resources: {}", list(&self.resources))?;
        }
        if !self.resource_names.is_empty() {
            write!(f, ", resourceNames: {}", list(&self.resource_names))?;
        }
        f.write_str("}")
    }
}

/// A `matchExpressions[]` entry of a label selector.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A label selector (`matchLabels` and `matchExpressions`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSelector {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

impl LabelSelector {
    /// Whether the selector selects an object with these labels, as
    /// `metav1.LabelSelectorAsSelector` builds it: an empty selector selects
    /// everything; an invalid one is an error (and selects nothing).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> Result<bool, String> {
        for requirement in &self.match_expressions {
            let values = &requirement.values;
            let valid = match requirement.operator.as_str() {
                "In" | "NotIn" => !values.is_empty(),
                "Exists" | "DoesNotExist" => values.is_empty(),
                _ => false,
            };
            if !valid {
                return Err(format!(
                    "matchExpressions entry {{key: {}, operator: {:?}, values: {:?}}} is not a valid requirement",
                    requirement.key, requirement.operator, values
                ));
            }
        }
        let labels_match = self
            .match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v));
        let expressions_match = self.match_expressions.iter().all(|r| {
            let value = labels.get(&r.key);
            match r.operator.as_str() {
                "In" => value.is_some_and(|v| r.values.contains(v)),
                "NotIn" => value.is_none_or(|v| !r.values.contains(v)),
                "Exists" => value.is_some(),
                _ => value.is_none(),
            }
        });
        Ok(labels_match && expressions_match)
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for r in &self.match_expressions {
            parts.push(match r.operator.as_str() {
                "Exists" => r.key.clone(),
                "DoesNotExist" => format!("!{}", r.key),
                op => format!("{} {op} ({})", r.key, r.values.join(",")),
            });
        }
        if parts.is_empty() {
            f.write_str("(every ClusterRole)")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// A ClusterRole: its labels (for aggregation), its stored rules and its
/// `aggregationRule.clusterRoleSelectors`, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterRole {
    pub name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<PolicyRule>,
    /// `None` when the role has no `aggregationRule`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation_selectors: Option<Vec<LabelSelector>>,
}

/// A namespaced Role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Role {
    pub namespace: String,
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<PolicyRule>,
}

/// A binding's `roleRef`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoleRef {
    /// `ClusterRole` or `Role`.
    pub kind: String,
    pub name: String,
}

/// A binding's `subjects[]` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Subject {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

impl Subject {
    pub fn user(name: &str) -> Subject {
        Subject {
            kind: "User".into(),
            name: name.into(),
            namespace: String::new(),
        }
    }

    pub fn group(name: &str) -> Subject {
        Subject {
            kind: "Group".into(),
            name: name.into(),
            namespace: String::new(),
        }
    }

    pub fn service_account(namespace: &str, name: &str) -> Subject {
        Subject {
            kind: "ServiceAccount".into(),
            name: name.into(),
            namespace: namespace.into(),
        }
    }

    /// Parses `User:NAME`, `Group:NAME` or `ServiceAccount:NAMESPACE/NAME`
    /// (the form of `--allow-node-writer`).
    pub fn parse(text: &str) -> Result<Subject, String> {
        let wrong = || {
            format!(
                "{text:?} is not a subject such as User:alice, Group:ops or \
                 ServiceAccount:kube-system/cloud-node-manager"
            )
        };
        let (kind, name) = text.split_once(':').ok_or_else(wrong)?;
        let subject = match kind {
            "User" => Subject::user(name),
            "Group" => Subject::group(name),
            "ServiceAccount" => {
                let (namespace, name) = name.split_once('/').ok_or_else(wrong)?;
                Subject::service_account(namespace, name)
            }
            _ => return Err(wrong()),
        };
        if subject.name.is_empty()
            || (subject.kind == "ServiceAccount" && subject.namespace.is_empty())
        {
            return Err(wrong());
        }
        Ok(subject.canonical())
    }

    /// The identity this subject names, in one spelling: a User named
    /// `system:serviceaccount:NS:NAME` is that service account (the
    /// authorizer compares user names, and that is a service account's).
    pub fn canonical(&self) -> Subject {
        if self.kind == "User" {
            if let Some(rest) = self.name.strip_prefix("system:serviceaccount:") {
                if let Some((namespace, name)) = rest.split_once(':') {
                    return Subject::service_account(namespace, name);
                }
            }
        }
        self.clone()
    }
}

impl fmt::Display for Subject {
    /// `User alice`, `Group ops`, `ServiceAccount kube-system/node-controller`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == "ServiceAccount" {
            let namespace = if self.namespace.is_empty() {
                "(no namespace)"
            } else {
                &self.namespace
            };
            write!(f, "ServiceAccount {namespace}/{}", self.name)
        } else {
            write!(f, "{} {}", self.kind, self.name)
        }
    }
}

/// A ClusterRoleBinding (`namespace` empty) or RoleBinding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Binding {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
    pub role_ref: RoleRef,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<Subject>,
}

impl Binding {
    pub fn is_cluster_wide(&self) -> bool {
        self.namespace.is_empty()
    }
}

impl fmt::Display for Binding {
    /// `ClusterRoleBinding alice-nodes`, `RoleBinding team-a/bob`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_cluster_wide() {
            write!(f, "ClusterRoleBinding {}", self.name)
        } else {
            write!(f, "RoleBinding {}/{}", self.namespace, self.name)
        }
    }
}

/// A resource request the authorizer decides: a verb on a resource (with
/// an optional subresource) in an API group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub verb: &'a str,
    /// `""` is the core group.
    pub api_group: &'a str,
    pub resource: &'a str,
    /// `""` for the resource itself, `status` for `nodes/status`.
    pub subresource: &'a str,
}

impl Request<'_> {
    /// `nodes` or `nodes/status`.
    pub fn resource_path(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// Whether a rule allows a request for some object name (`resourceNames`
/// is reported by the caller, not matched: a rule restricted to names still
/// allows the request for those names).
pub fn rule_allows(rule: &PolicyRule, request: &Request) -> bool {
    let verb = rule.verbs.iter().any(|v| v == "*" || v == request.verb);
    let group = rule
        .api_groups
        .iter()
        .any(|g| g == "*" || g == request.api_group);
    let combined = request.resource_path();
    let resource = rule.resources.iter().any(|r| {
        r == "*"
            || *r == combined
            || (!request.subresource.is_empty()
                && r.strip_prefix("*/") == Some(request.subresource))
    });
    verb && group && resource
}

/// A rule a role holds, and where it is stored: in the role itself, or in
/// a ClusterRole that the role aggregates (the path, outermost first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcedRule<'a> {
    pub rule: &'a PolicyRule,
    /// The aggregated ClusterRoles from the bound role to the one storing the
    /// rule; empty when the bound role stores it.
    pub aggregated_from: Vec<&'a str>,
}

/// Roles by name, to resolve `roleRef`s and aggregation.
pub struct Resolver<'a> {
    cluster_roles: HashMap<&'a str, &'a ClusterRole>,
    /// In name order, so aggregation is resolved the same way every time.
    ordered: Vec<&'a ClusterRole>,
    roles: HashMap<(&'a str, &'a str), &'a Role>,
}

/// What a binding lets a subject do with the requests asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant<'a> {
    pub subject: Subject,
    pub binding: &'a Binding,
    pub rule: SourcedRule<'a>,
    /// `(verb, resource)` pairs of the requests the rule allows, such as
    /// `("patch", "nodes")`.
    pub allows: Vec<(String, String)>,
}

impl Grant<'_> {
    /// True when the rule is limited to named objects (`resourceNames`).
    pub fn restricted_to_names(&self) -> bool {
        !self.rule.rule.resource_names.is_empty()
    }
}

/// Everything the bindings grant for a set of requests, and what stood in
/// the way of resolving them.
#[derive(Debug, Default)]
pub struct Resolution<'a> {
    pub grants: Vec<Grant<'a>>,
    /// Sentences about bindings or roles that could not be resolved
    /// (a missing role, an invalid selector, a subject kind RBAC ignores).
    pub notes: Vec<String>,
}

impl<'a> Resolver<'a> {
    pub fn new(cluster_roles: &'a [ClusterRole], roles: &'a [Role]) -> Resolver<'a> {
        let mut ordered: Vec<&ClusterRole> = cluster_roles.iter().collect();
        ordered.sort_by(|a, b| a.name.cmp(&b.name));
        Resolver {
            cluster_roles: cluster_roles.iter().map(|r| (r.name.as_str(), r)).collect(),
            ordered,
            roles: roles
                .iter()
                .map(|r| ((r.namespace.as_str(), r.name.as_str()), r))
                .collect(),
        }
    }

    /// The rules a ClusterRole grants: those it stores, and those of every
    /// ClusterRole its `aggregationRule` selects, transitively (as the
    /// aggregation controller fills them in). Both count: stored rules are
    /// what the authorizer uses now, aggregated ones what it uses once the
    /// controller has caught up (or at all, when it does not run).
    /// `None` when no such ClusterRole exists.
    ///
    /// Limitation: the union may name a stored rule the controller is about
    /// to remove (it replaces an aggregated role's rules with what the
    /// selected roles hold).
    pub fn cluster_role_rules(
        &self,
        name: &str,
        notes: &mut Vec<String>,
    ) -> Option<Vec<SourcedRule<'a>>> {
        let role = *self.cluster_roles.get(name)?;
        let mut rules = Vec::new();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        seen.insert(&role.name);
        self.collect(role, &mut Vec::new(), &mut seen, &mut rules, notes);
        Some(rules)
    }

    fn collect(
        &self,
        role: &'a ClusterRole,
        path: &mut Vec<&'a str>,
        seen: &mut BTreeSet<&'a str>,
        out: &mut Vec<SourcedRule<'a>>,
        notes: &mut Vec<String>,
    ) {
        for rule in &role.rules {
            out.push(SourcedRule {
                rule,
                aggregated_from: path.clone(),
            });
        }
        let Some(selectors) = &role.aggregation_selectors else {
            return;
        };
        for other in &self.ordered {
            if other.name == role.name || seen.contains(other.name.as_str()) {
                continue;
            }
            let mut selected = false;
            for selector in selectors {
                match selector.matches(&other.labels) {
                    Ok(true) => selected = true,
                    Ok(false) => {}
                    Err(e) => {
                        let note = format!(
                            "the aggregationRule of ClusterRole {} selects nothing: {e}",
                            role.name
                        );
                        if !notes.contains(&note) {
                            notes.push(note);
                        }
                    }
                }
            }
            if selected {
                seen.insert(&other.name);
                path.push(&other.name);
                self.collect(other, path, seen, out, notes);
                path.pop();
            }
        }
    }

    /// The rules a binding's `roleRef` grants, or why there are none.
    fn bound_rules(&self, binding: &'a Binding, notes: &mut Vec<String>) -> Vec<SourcedRule<'a>> {
        let role_ref = &binding.role_ref;
        let rules = match role_ref.kind.as_str() {
            "ClusterRole" => self.cluster_role_rules(&role_ref.name, notes),
            // A ClusterRoleBinding cannot reference a Role: the authorizer
            // looks it up in namespace "" and finds none.
            "Role" if !binding.is_cluster_wide() => self
                .roles
                .get(&(binding.namespace.as_str(), role_ref.name.as_str()))
                .map(|r| {
                    r.rules
                        .iter()
                        .map(|rule| SourcedRule {
                            rule,
                            aggregated_from: Vec::new(),
                        })
                        .collect()
                }),
            _ => None,
        };
        match rules {
            Some(rules) => rules,
            None => {
                notes.push(format!(
                    "{binding} references {} {}, which does not exist: it grants nothing \
                     now, and whatever that role holds once someone creates it",
                    role_ref.kind, role_ref.name
                ));
                Vec::new()
            }
        }
    }

    /// Every subject each binding lets perform any of `requests`, with the
    /// rule that allows it. RoleBindings are resolved too (their grants are
    /// confined to their namespace; callers judging cluster-scoped resources
    /// must not count them, see [`Binding::is_cluster_wide`]).
    pub fn grants(&self, bindings: &'a [Binding], requests: &[Request]) -> Resolution<'a> {
        let mut resolution = Resolution::default();
        for binding in bindings {
            let subjects: Vec<Subject> = binding
                .subjects
                .iter()
                .filter_map(|s| self.effective_subject(binding, s, &mut resolution.notes))
                .collect();
            if subjects.is_empty() {
                continue;
            }
            for sourced in self.bound_rules(binding, &mut resolution.notes) {
                let allows: Vec<(String, String)> = requests
                    .iter()
                    .filter(|r| rule_allows(sourced.rule, r))
                    .map(|r| (r.verb.to_string(), r.resource_path()))
                    .collect();
                if allows.is_empty() {
                    continue;
                }
                for subject in &subjects {
                    resolution.grants.push(Grant {
                        subject: subject.clone(),
                        binding,
                        rule: sourced.clone(),
                        allows: allows.clone(),
                    });
                }
            }
        }
        resolution
    }

    /// The identity a binding's subject names, as the authorizer matches it;
    /// `None` for a subject that never matches anyone.
    fn effective_subject(
        &self,
        binding: &Binding,
        subject: &Subject,
        notes: &mut Vec<String>,
    ) -> Option<Subject> {
        match subject.kind.as_str() {
            "User" | "Group" => Some(subject.canonical()),
            "ServiceAccount" => {
                // A RoleBinding's service account defaults to the binding's
                // namespace; a ClusterRoleBinding's must name one.
                let namespace = if subject.namespace.is_empty() {
                    binding.namespace.as_str()
                } else {
                    subject.namespace.as_str()
                };
                if namespace.is_empty() {
                    notes.push(format!(
                        "{binding} names ServiceAccount {} without a namespace, which matches \
                         no one",
                        subject.name
                    ));
                    return None;
                }
                Some(Subject::service_account(namespace, &subject.name))
            }
            other => {
                notes.push(format!(
                    "{binding} names a subject of kind {other:?} ({}), which RBAC ignores",
                    subject.name
                ));
                None
            }
        }
    }
}

/// The requests that change a Node object: `update` and `patch` on `nodes`
/// and on `nodes/status` (the status subresource resets only `spec`, so it
/// can change a Node's labels too).
pub const NODE_WRITES: &[Request<'static>] = &[
    Request {
        verb: "update",
        api_group: "",
        resource: "nodes",
        subresource: "",
    },
    Request {
        verb: "patch",
        api_group: "",
        resource: "nodes",
        subresource: "",
    },
    Request {
        verb: "update",
        api_group: "",
        resource: "nodes",
        subresource: "status",
    },
    Request {
        verb: "patch",
        api_group: "",
        resource: "nodes",
        subresource: "status",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
        let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        PolicyRule {
            verbs: owned(verbs),
            api_groups: owned(groups),
            resources: owned(resources),
            ..PolicyRule::default()
        }
    }

    fn allows(rule: &PolicyRule, verb: &str, resource: &str) -> bool {
        let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
        rule_allows(
            rule,
            &Request {
                verb,
                api_group: "",
                resource,
                subresource,
            },
        )
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn cluster_role(name: &str, rules: Vec<PolicyRule>) -> ClusterRole {
        ClusterRole {
            name: name.into(),
            rules,
            ..ClusterRole::default()
        }
    }

    fn aggregating(name: &str, label: &str) -> ClusterRole {
        ClusterRole {
            name: name.into(),
            aggregation_selectors: Some(vec![LabelSelector {
                match_labels: labels(&[(label, "true")]),
                ..LabelSelector::default()
            }]),
            ..ClusterRole::default()
        }
    }

    fn labelled(mut role: ClusterRole, label: &str) -> ClusterRole {
        role.labels.insert(label.into(), "true".into());
        role
    }

    fn cluster_binding(name: &str, role: &str, subjects: Vec<Subject>) -> Binding {
        Binding {
            namespace: String::new(),
            name: name.into(),
            role_ref: RoleRef {
                kind: "ClusterRole".into(),
                name: role.into(),
            },
            subjects,
        }
    }

    fn names(resolution: &Resolution) -> Vec<String> {
        resolution
            .grants
            .iter()
            .map(|g| g.subject.to_string())
            .collect()
    }

    #[test]
    fn exact_verbs_and_the_core_group_match() {
        let r = rule(&["patch"], &[""], &["nodes"]);
        assert!(allows(&r, "patch", "nodes"));
        assert!(!allows(&r, "update", "nodes"));
        assert!(!allows(&r, "patch", "nodes/status"));
        assert!(!allows(
            &rule(&["patch"], &["apps"], &["nodes"]),
            "patch",
            "nodes"
        ));
    }

    #[test]
    fn wildcards_match_every_verb_group_and_resource() {
        assert!(allows(&rule(&["*"], &[""], &["nodes"]), "update", "nodes"));
        assert!(allows(
            &rule(&["patch"], &["*"], &["nodes"]),
            "patch",
            "nodes"
        ));
        let everything = rule(&["*"], &["*"], &["*"]);
        assert!(allows(&everything, "patch", "nodes"));
        assert!(allows(&everything, "update", "nodes/status"));
    }

    #[test]
    fn subresources_match_only_by_name_or_star_slash() {
        assert!(allows(
            &rule(&["patch"], &[""], &["nodes/status"]),
            "patch",
            "nodes/status"
        ));
        assert!(allows(
            &rule(&["patch"], &[""], &["*/status"]),
            "patch",
            "nodes/status"
        ));
        assert!(!allows(
            &rule(&["patch"], &[""], &["*/status"]),
            "patch",
            "nodes"
        ));
        assert!(!allows(
            &rule(&["patch"], &[""], &["nodes"]),
            "patch",
            "nodes/status"
        ));
        assert!(!allows(
            &rule(&["patch"], &[""], &["nodes/*"]),
            "patch",
            "nodes/status"
        ));
        assert!(!allows(
            &rule(&["patch"], &[""], &["*/proxy"]),
            "patch",
            "nodes/status"
        ));
    }

    #[test]
    fn verbs_are_case_sensitive_and_non_resource_rules_match_nothing() {
        assert!(!allows(
            &rule(&["PATCH"], &[""], &["nodes"]),
            "patch",
            "nodes"
        ));
        let urls = PolicyRule {
            verbs: vec!["*".into()],
            non_resource_urls: vec!["*".into()],
            ..PolicyRule::default()
        };
        assert!(!allows(&urls, "patch", "nodes"));
    }

    #[test]
    fn selectors_follow_label_selector_semantics() {
        let l = labels(&[("tier", "ops"), ("aggregate", "true")]);
        let sel = |exprs: Vec<(&str, &str, &[&str])>| LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: exprs
                .into_iter()
                .map(|(k, op, vs)| LabelSelectorRequirement {
                    key: k.into(),
                    operator: op.into(),
                    values: vs.iter().map(|v| v.to_string()).collect(),
                })
                .collect(),
        };
        assert_eq!(LabelSelector::default().matches(&l), Ok(true));
        assert_eq!(
            sel(vec![("tier", "In", &["ops", "dev"])]).matches(&l),
            Ok(true)
        );
        assert_eq!(
            sel(vec![("tier", "NotIn", &["ops"])]).matches(&l),
            Ok(false)
        );
        assert_eq!(
            sel(vec![("missing", "NotIn", &["x"])]).matches(&l),
            Ok(true)
        );
        assert_eq!(
            sel(vec![("aggregate", "Exists", &[])]).matches(&l),
            Ok(true)
        );
        assert_eq!(
            sel(vec![("aggregate", "DoesNotExist", &[])]).matches(&l),
            Ok(false)
        );
        assert!(sel(vec![("tier", "In", &[])]).matches(&l).is_err());
        assert!(sel(vec![("tier", "Exists", &["x"])]).matches(&l).is_err());
        assert!(sel(vec![("tier", "Equals", &["ops"])]).matches(&l).is_err());
        let both = LabelSelector {
            match_labels: labels(&[("tier", "ops")]),
            ..sel(vec![("aggregate", "In", &["false"])])
        };
        assert_eq!(both.matches(&l), Ok(false));
    }

    #[test]
    fn a_cluster_role_binding_grants_its_role_to_every_subject() {
        let roles = vec![cluster_role(
            "patcher",
            vec![rule(&["patch"], &[""], &["nodes"])],
        )];
        let bindings = vec![cluster_binding(
            "b",
            "patcher",
            vec![Subject::user("alice"), Subject::group("ops")],
        )];
        let resolver = Resolver::new(&roles, &[]);
        let r = resolver.grants(&bindings, NODE_WRITES);
        assert_eq!(names(&r), vec!["User alice", "Group ops"]);
        assert_eq!(r.grants[0].allows, vec![("patch".into(), "nodes".into())]);
        assert!(r.grants[0].binding.is_cluster_wide());
    }

    #[test]
    fn rules_without_node_writes_grant_nothing() {
        let roles = vec![cluster_role(
            "reader",
            vec![rule(&["get", "list", "watch"], &[""], &["nodes"])],
        )];
        let bindings = vec![cluster_binding("b", "reader", vec![Subject::user("alice")])];
        assert!(Resolver::new(&roles, &[])
            .grants(&bindings, NODE_WRITES)
            .grants
            .is_empty());
    }

    #[test]
    fn role_bindings_resolve_roles_in_their_own_namespace_only() {
        let roles = vec![Role {
            namespace: "team-a".into(),
            name: "patcher".into(),
            rules: vec![rule(&["patch"], &[""], &["nodes"])],
        }];
        let binding = |namespace: &str| Binding {
            namespace: namespace.into(),
            name: "b".into(),
            role_ref: RoleRef {
                kind: "Role".into(),
                name: "patcher".into(),
            },
            subjects: vec![Subject::user("bob")],
        };
        let bindings = vec![binding("team-a"), binding("team-b")];
        let r = Resolver::new(&[], &roles).grants(&bindings, NODE_WRITES);
        assert_eq!(r.grants.len(), 1);
        assert!(!r.grants[0].binding.is_cluster_wide());
        assert!(
            r.notes[0].contains("RoleBinding team-b/b references Role patcher"),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn a_role_binding_to_a_cluster_role_is_still_namespaced() {
        let roles = vec![cluster_role(
            "patcher",
            vec![rule(&["patch"], &[""], &["nodes"])],
        )];
        let bindings = vec![Binding {
            namespace: "team-a".into(),
            name: "carol".into(),
            role_ref: RoleRef {
                kind: "ClusterRole".into(),
                name: "patcher".into(),
            },
            subjects: vec![Subject::user("carol")],
        }];
        let r = Resolver::new(&roles, &[]).grants(&bindings, NODE_WRITES);
        assert_eq!(r.grants.len(), 1);
        assert!(!r.grants[0].binding.is_cluster_wide());
    }

    #[test]
    fn a_cluster_role_binding_cannot_reference_a_role() {
        let roles = vec![Role {
            namespace: String::new(),
            name: "patcher".into(),
            rules: vec![rule(&["patch"], &[""], &["nodes"])],
        }];
        let bindings = vec![Binding {
            role_ref: RoleRef {
                kind: "Role".into(),
                name: "patcher".into(),
            },
            ..cluster_binding("b", "", vec![Subject::user("x")])
        }];
        let r = Resolver::new(&[], &roles).grants(&bindings, NODE_WRITES);
        assert!(r.grants.is_empty());
        assert_eq!(r.notes.len(), 1);
    }

    #[test]
    fn aggregated_rules_come_from_selected_roles_even_when_the_controller_has_not_run() {
        let roles = vec![
            aggregating("aggregate", "to-nodes"),
            labelled(
                cluster_role("labeler", vec![rule(&["update"], &[""], &["nodes"])]),
                "to-nodes",
            ),
            cluster_role("unlabelled", vec![rule(&["patch"], &[""], &["nodes"])]),
        ];
        let bindings = vec![cluster_binding(
            "b",
            "aggregate",
            vec![Subject::group("ops")],
        )];
        let r = Resolver::new(&roles, &[]).grants(&bindings, NODE_WRITES);
        assert_eq!(r.grants.len(), 1);
        assert_eq!(r.grants[0].rule.aggregated_from, vec!["labeler"]);
        assert_eq!(r.grants[0].allows, vec![("update".into(), "nodes".into())]);
    }

    #[test]
    fn aggregation_is_transitive_and_stored_rules_still_count() {
        let mut outer = aggregating("outer", "to-outer");
        outer.rules = vec![rule(&["patch"], &[""], &["nodes/status"])];
        let roles = vec![
            outer,
            labelled(aggregating("middle", "to-middle"), "to-outer"),
            labelled(
                cluster_role("inner", vec![rule(&["patch"], &[""], &["nodes"])]),
                "to-middle",
            ),
        ];
        let mut notes = Vec::new();
        let rules = Resolver::new(&roles, &[])
            .cluster_role_rules("outer", &mut notes)
            .unwrap();
        let paths: Vec<Vec<&str>> = rules.iter().map(|r| r.aggregated_from.clone()).collect();
        assert_eq!(paths, vec![vec![], vec!["middle", "inner"]]);
    }

    #[test]
    fn aggregation_cycles_end() {
        let roles = vec![
            labelled(aggregating("a", "to-a"), "to-b"),
            labelled(
                ClusterRole {
                    rules: vec![rule(&["patch"], &[""], &["nodes"])],
                    ..aggregating("b", "to-b")
                },
                "to-a",
            ),
        ];
        let mut notes = Vec::new();
        let rules = Resolver::new(&roles, &[])
            .cluster_role_rules("a", &mut notes)
            .unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].aggregated_from, vec!["b"]);
    }

    #[test]
    fn a_role_never_aggregates_itself() {
        let role = labelled(
            ClusterRole {
                rules: vec![rule(&["patch"], &[""], &["nodes"])],
                ..aggregating("self", "to-self")
            },
            "to-self",
        );
        let roles = vec![role];
        let mut notes = Vec::new();
        let rules = Resolver::new(&roles, &[])
            .cluster_role_rules("self", &mut notes)
            .unwrap();
        assert_eq!(rules.len(), 1);
        assert!(rules[0].aggregated_from.is_empty());
    }

    #[test]
    fn an_empty_selector_aggregates_every_other_role_and_an_invalid_one_none() {
        let mut everything = aggregating("everything", "x");
        everything.aggregation_selectors = Some(vec![LabelSelector::default()]);
        let mut broken = aggregating("broken", "x");
        broken.aggregation_selectors = Some(vec![LabelSelector {
            match_expressions: vec![LabelSelectorRequirement {
                key: "x".into(),
                operator: "In".into(),
                values: vec![],
            }],
            ..LabelSelector::default()
        }]);
        let roles = vec![
            everything,
            broken,
            cluster_role("patcher", vec![rule(&["patch"], &[""], &["nodes"])]),
        ];
        let resolver = Resolver::new(&roles, &[]);
        let mut notes = Vec::new();
        assert_eq!(
            resolver
                .cluster_role_rules("everything", &mut notes)
                .unwrap()
                .len(),
            1
        );
        assert!(resolver
            .cluster_role_rules("broken", &mut notes)
            .unwrap()
            .is_empty());
        assert!(notes[0].contains("selects nothing"), "{notes:?}");
    }

    #[test]
    fn resource_names_restrict_but_still_grant() {
        let mut named = rule(&["patch"], &[""], &["nodes"]);
        named.resource_names = vec!["worker-1".into()];
        let roles = vec![cluster_role("one-node", vec![named])];
        let bindings = vec![cluster_binding(
            "b",
            "one-node",
            vec![Subject::user("dave")],
        )];
        let r = Resolver::new(&roles, &[]).grants(&bindings, NODE_WRITES);
        assert_eq!(r.grants.len(), 1);
        assert!(r.grants[0].restricted_to_names());
    }

    #[test]
    fn service_accounts_need_a_namespace_in_cluster_bindings() {
        let roles = vec![cluster_role(
            "patcher",
            vec![rule(&["patch"], &[""], &["nodes"])],
        )];
        let mut anonymous_sa = Subject::service_account("", "deployer");
        anonymous_sa.namespace.clear();
        let bindings = vec![
            cluster_binding(
                "with",
                "patcher",
                vec![Subject::service_account("ci", "deployer")],
            ),
            cluster_binding("without", "patcher", vec![anonymous_sa.clone()]),
            Binding {
                namespace: "ci".into(),
                ..cluster_binding("defaulted", "patcher", vec![anonymous_sa])
            },
            cluster_binding(
                "odd",
                "patcher",
                vec![Subject {
                    kind: "Robot".into(),
                    name: "r2".into(),
                    namespace: String::new(),
                }],
            ),
        ];
        let r = Resolver::new(&roles, &[]).grants(&bindings, NODE_WRITES);
        assert_eq!(
            names(&r),
            vec!["ServiceAccount ci/deployer", "ServiceAccount ci/deployer"]
        );
        assert_eq!(r.notes.len(), 2, "{:?}", r.notes);
    }

    #[test]
    fn a_missing_cluster_role_is_a_note_not_a_grant() {
        let bindings = vec![cluster_binding(
            "dangling",
            "gone",
            vec![Subject::user("x")],
        )];
        let r = Resolver::new(&[], &[]).grants(&bindings, NODE_WRITES);
        assert!(r.grants.is_empty());
        assert!(r.notes[0].contains("ClusterRole gone, which does not exist"));
    }

    #[test]
    fn user_names_of_service_accounts_are_the_service_account() {
        let s = Subject::user("system:serviceaccount:kube-system:node-controller").canonical();
        assert_eq!(
            s,
            Subject::service_account("kube-system", "node-controller")
        );
        assert_eq!(Subject::user("alice").canonical(), Subject::user("alice"));
    }

    #[test]
    fn subjects_parse_from_the_flag_form() {
        assert_eq!(Subject::parse("User:alice"), Ok(Subject::user("alice")));
        assert_eq!(
            Subject::parse("Group:system:ops"),
            Ok(Subject::group("system:ops"))
        );
        assert_eq!(
            Subject::parse("ServiceAccount:kube-system/ccm"),
            Ok(Subject::service_account("kube-system", "ccm"))
        );
        assert!(Subject::parse("ServiceAccount:ccm").is_err());
        assert!(Subject::parse("Robot:r2").is_err());
        assert!(Subject::parse("alice").is_err());
        assert!(Subject::parse("User:").is_err());
    }

    #[test]
    fn rules_print_in_role_yaml_spelling() {
        let mut r = rule(&["patch", "update"], &[""], &["nodes"]);
        r.resource_names = vec!["worker-1".into()];
        assert_eq!(
            r.to_string(),
            "{verbs: [patch, update], apiGroups: [\"\"], resources: [nodes], resourceNames: [worker-1]}"
        );
    }
}
