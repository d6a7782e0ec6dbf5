//! SG-703: who may change Node objects. RBAC is resolved the way the API
//! server's authorizer does (see `k8s::rbac`), and every subject allowed
//! `update` or `patch` on `nodes` or `nodes/status` is judged against the
//! built-in control-plane and node identities ([`BUILTIN_NODE_WRITERS`]) and
//! the subjects the operator allows (`--allow-node-writer`).

use crate::checks::Verdict;
use crate::facts::{Cluster, Facts, Observed};
use crate::k8s::rbac::{Binding, Grant, Resolver, Subject, NODE_WRITES};
use std::collections::BTreeMap;

/// Who a built-in node writer is.
#[derive(Clone, Copy, Debug)]
pub enum Identity {
    Group(&'static str),
    User(&'static str),
    /// Every user whose name starts with this (kubelets: `system:node:NAME`).
    UserPrefix(&'static str),
    /// A service account: namespace, name.
    ServiceAccount(&'static str, &'static str),
}

/// A built-in identity that may change Node objects, and why.
#[derive(Clone, Copy, Debug)]
pub struct BuiltinWriter {
    pub identity: Identity,
    pub why: &'static str,
}

/// The built-in control-plane and node identities that may change Node
/// objects. These are exactly the identities that upstream's bootstrap RBAC
/// policy (kube-apiserver's `bootstrappolicy`, 1.20 to current) lets update or
/// patch `nodes` or `nodes/status`, plus the authorizer's privileged group
/// and the kubelets the Node authorizer stands for:
///
/// - `system:masters`: the API server authorizes this group before RBAC is
///   asked, so bindings neither add nor remove anything for it. Membership
///   comes from client certificates with `O=system:masters`.
/// - `system:nodes` and `system:node:NAME`: kubelets. The Node authorizer
///   and the NodeRestriction admission plugin limit each to its own Node
///   (SG-701, SG-702), whatever RBAC grants them.
/// - `system:kube-controller-manager` and the service accounts of its node
///   lifecycle, TTL, attach/detach, route, garbage-collector and storage
///   version migrator controllers (bootstrap ClusterRoles
///   `system:controller:*`, bound to `kube-system` service accounts).
///
/// `system:kube-scheduler` is not on the list: no bootstrap role lets the
/// scheduler change Nodes, so a grant to it is worth a look.
pub const BUILTIN_NODE_WRITERS: &[BuiltinWriter] = &[
    BuiltinWriter {
        identity: Identity::Group("system:masters"),
        why: "the API server authorizes system:masters before RBAC, so it may change Nodes \
              whatever the bindings say; keep the client certificates with O=system:masters few",
    },
    BuiltinWriter {
        identity: Identity::Group("system:nodes"),
        why: "kubelets; the Node authorizer and NodeRestriction confine each to its own Node, \
              see SG-701 and SG-702",
    },
    BuiltinWriter {
        identity: Identity::UserPrefix("system:node:"),
        why: "a kubelet; the Node authorizer and NodeRestriction confine it to its own Node, \
              see SG-701 and SG-702",
    },
    BuiltinWriter {
        identity: Identity::User("system:kube-controller-manager"),
        why: "kube-controller-manager, which runs the node controllers",
    },
    BuiltinWriter {
        identity: Identity::ServiceAccount("kube-system", "node-controller"),
        why: "the node lifecycle controller; bootstrap ClusterRole \
              system:controller:node-controller",
    },
    BuiltinWriter {
        identity: Identity::ServiceAccount("kube-system", "ttl-controller"),
        why: "the TTL controller, which annotates Nodes; bootstrap ClusterRole \
              system:controller:ttl-controller",
    },
    BuiltinWriter {
        identity: Identity::ServiceAccount("kube-system", "attachdetach-controller"),
        why: "the attach/detach controller, which updates nodes/status; bootstrap ClusterRole \
              system:controller:attachdetach-controller",
    },
    BuiltinWriter {
        identity: Identity::ServiceAccount("kube-system", "route-controller"),
        why: "the route controller, which patches nodes/status; bootstrap ClusterRole \
              system:controller:route-controller",
    },
    BuiltinWriter {
        identity: Identity::ServiceAccount("kube-system", "generic-garbage-collector"),
        why: "the garbage collector, which patches owner references of every object; bootstrap \
              ClusterRole system:controller:generic-garbage-collector",
    },
    BuiltinWriter {
        identity: Identity::ServiceAccount("kube-system", "storage-version-migrator-controller"),
        why: "the storage version migrator (1.30+, feature gate StorageVersionMigrator), which \
              patches every object it migrates; bootstrap ClusterRole \
              system:controller:storage-version-migrator-controller",
    },
];

/// Why a subject is a built-in node writer, if it is one.
pub fn builtin(subject: &Subject) -> Option<&'static str> {
    BUILTIN_NODE_WRITERS
        .iter()
        .find(|b| match b.identity {
            Identity::Group(name) => subject.kind == "Group" && subject.name == name,
            Identity::User(name) => subject.kind == "User" && subject.name == name,
            Identity::UserPrefix(prefix) => {
                subject.kind == "User"
                    && subject.name.len() > prefix.len()
                    && subject.name.starts_with(prefix)
            }
            Identity::ServiceAccount(namespace, name) => {
                subject.kind == "ServiceAccount"
                    && subject.namespace == namespace
                    && subject.name == name
            }
        })
        .map(|b| b.why)
}

/// Groups that stand for many identities at once, worth naming as such.
fn group_meaning(subject: &Subject) -> Option<&'static str> {
    if subject.kind != "Group" {
        return None;
    }
    match subject.name.as_str() {
        "system:authenticated" => Some("every authenticated user"),
        "system:unauthenticated" => Some("every anonymous caller"),
        "system:serviceaccounts" => Some("every service account"),
        name if name.starts_with("system:serviceaccounts:") => {
            Some("every service account of that namespace")
        }
        _ => None,
    }
}

/// What one binding lets one subject do, with every rule that allows it.
struct Entry<'a> {
    subject: Subject,
    binding: &'a Binding,
    grants: Vec<&'a Grant<'a>>,
}

impl Entry<'_> {
    /// `patch, update on nodes; patch on nodes/status`.
    fn verbs(&self) -> String {
        let mut by_resource: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for grant in &self.grants {
            for (verb, resource) in &grant.allows {
                let verbs = by_resource.entry(resource).or_default();
                if !verbs.contains(&verb.as_str()) {
                    verbs.push(verb);
                }
            }
        }
        by_resource
            .iter()
            .map(|(resource, verbs)| {
                let mut verbs = verbs.clone();
                verbs.sort();
                format!("{} on {resource}", verbs.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The binding, its role, and each rule with where it is stored.
    fn path(&self) -> String {
        let role_ref = &self.binding.role_ref;
        let mut rules: Vec<String> = Vec::new();
        for grant in &self.grants {
            let mut text = grant.rule.rule.to_string();
            if !grant.rule.aggregated_from.is_empty() {
                text = format!(
                    "{text} aggregated from ClusterRole {}",
                    grant.rule.aggregated_from.join(" via ClusterRole ")
                );
            }
            if grant.restricted_to_names() {
                text.push_str(" (only the named nodes, which it can still relabel)");
            }
            if !rules.contains(&text) {
                rules.push(text);
            }
        }
        format!(
            "{} -> {} {}, rule {}",
            self.binding,
            role_ref.kind,
            role_ref.name,
            rules.join("; rule ")
        )
    }

    fn touches_status_only(&self) -> bool {
        self.grants
            .iter()
            .all(|g| g.allows.iter().all(|(_, r)| r == "nodes/status"))
    }
}

/// Groups grants by subject and binding, in a stable order.
fn entries<'a>(grants: &'a [Grant<'a>]) -> Vec<Entry<'a>> {
    let mut out: Vec<Entry> = Vec::new();
    for grant in grants {
        match out
            .iter_mut()
            .find(|e| e.subject == grant.subject && std::ptr::eq(e.binding, grant.binding))
        {
            Some(entry) => entry.grants.push(grant),
            None => out.push(Entry {
                subject: grant.subject.clone(),
                binding: grant.binding,
                grants: vec![grant],
            }),
        }
    }
    out.sort_by(|a, b| {
        (
            &a.subject,
            a.binding.namespace.as_str(),
            a.binding.name.as_str(),
        )
            .cmp(&(
                &b.subject,
                b.binding.namespace.as_str(),
                b.binding.name.as_str(),
            ))
    });
    out
}

fn error_of<T>(observed: &Observed<T>) -> Option<&str> {
    match observed {
        Observed::Ok(_) => None,
        Observed::Error(e) => Some(e),
    }
}

/// The connection in one line of evidence.
pub fn connection_evidence(cluster: &Cluster) -> Option<String> {
    let connection = cluster.connection.ok()?;
    let version = match &connection.server_version {
        Observed::Ok(v) => format!(" ({v})"),
        Observed::Error(_) => String::new(),
    };
    Some(format!(
        "{}{version} as {}, from kubeconfig {} context {}",
        connection.server, connection.credentials, connection.kubeconfig.path, connection.context
    ))
}

/// The cluster-wide grants, sorted by what SG-703 makes of them.
struct Sorted<'a> {
    /// Subjects outside the allow-lists: each fails the check.
    outside: Vec<Entry<'a>>,
    /// Built-in or declared subjects, with the reason.
    allowed: Vec<(Entry<'a>, String)>,
}

fn sort<'a>(grants: &'a [Grant<'a>], declared: &[Subject]) -> Sorted<'a> {
    let mut sorted = Sorted {
        outside: Vec::new(),
        allowed: Vec::new(),
    };
    for entry in entries(grants) {
        let why = builtin(&entry.subject)
            .map(|w| format!("built-in: {w}"))
            .or_else(|| {
                declared
                    .contains(&entry.subject)
                    .then(|| "declared with --allow-node-writer".to_string())
            });
        match why {
            Some(why) => sorted.allowed.push((entry, why)),
            None => sorted.outside.push(entry),
        }
    }
    sorted
}

/// The verdict's headline: pass, or fail naming every subject outside.
fn headline(sorted: &Sorted, declared: &[Subject], bindings: usize, roles: usize) -> Verdict {
    if sorted.outside.is_empty() {
        return Verdict::pass(format!(
            "only built-in control-plane and node identities{} may update or patch Node \
             objects ({bindings} ClusterRoleBindings, {roles} ClusterRoles resolved)",
            if declared.is_empty() {
                ""
            } else {
                " and subjects declared with --allow-node-writer"
            },
        ));
    }
    let mut subjects: Vec<String> = Vec::new();
    for entry in &sorted.outside {
        let name = match group_meaning(&entry.subject) {
            Some(meaning) => format!("{} ({meaning})", entry.subject),
            None => entry.subject.to_string(),
        };
        if !subjects.contains(&name) {
            subjects.push(name);
        }
    }
    Verdict::fail(format!(
        "{} subject{} outside the built-in control-plane and node identities may update or \
         patch Node objects, and so label a Node to attract pods: {}",
        subjects.len(),
        if subjects.len() == 1 { "" } else { "s" },
        subjects.join(", ")
    ))
}

/// SG-703.
///
/// Limitation: only RBAC is resolved. Other authorizers (webhook, ABAC,
/// `--authorization-config`) are not asked, and paths to a Node write that
/// go through other permissions (`impersonate`, `escalate` or `bind` on
/// roles, pods run as a more privileged service account, deleting and
/// re-creating a Node) are not followed.
pub fn only_node_identities(_facts: &Facts, cluster: &Cluster) -> Verdict {
    let with_connection = |verdict: Verdict| match connection_evidence(cluster) {
        Some(line) => verdict.with("api", line),
        None => verdict,
    };
    let (cluster_roles, cluster_bindings) =
        match (&cluster.cluster_roles, &cluster.cluster_role_bindings) {
            (Observed::Ok(roles), Observed::Ok(bindings)) => (roles, bindings),
            (Observed::Error(e), _) | (_, Observed::Error(e)) => {
                return with_connection(Verdict::error(e.clone()));
            }
        };
    let mut declared = Vec::new();
    for text in &cluster.allowed_node_writers {
        match Subject::parse(text) {
            Ok(s) => declared.push(s),
            Err(e) => return Verdict::error(format!("--allow-node-writer: {e}")),
        }
    }

    // Roles and RoleBindings only show what does not count: unread, they
    // change nothing.
    let no_roles = Vec::new();
    let no_bindings = Vec::new();
    let roles = cluster.roles.ok().unwrap_or(&no_roles);
    let resolver = Resolver::new(cluster_roles, roles);
    let cluster_wide = resolver.grants(cluster_bindings, NODE_WRITES);
    let namespaced_bindings = cluster.role_bindings.ok().unwrap_or(&no_bindings);
    let namespaced = resolver.grants(namespaced_bindings, NODE_WRITES);

    let sorted = sort(&cluster_wide.grants, &declared);
    let mut verdict = headline(
        &sorted,
        &declared,
        cluster_bindings.len(),
        cluster_roles.len(),
    );

    for entry in &sorted.outside {
        let mut line = format!("{} may {}: {}", entry.subject, entry.verbs(), entry.path());
        if let Some(meaning) = group_meaning(&entry.subject) {
            line = format!("{line} ({} is {meaning})", entry.subject);
        }
        if entry.touches_status_only() {
            line.push_str(" (the status subresource can change a Node's labels too)");
        }
        verdict = verdict.with("rbac", line);
    }
    for (entry, why) in &sorted.allowed {
        let line = format!(
            "allowed: {} may {}: {} ({why})",
            entry.subject,
            entry.verbs(),
            entry.path()
        );
        verdict = verdict.with("rbac", line);
    }
    for entry in entries(&namespaced.grants) {
        let line = format!(
            "not counted: {} may {} only inside namespace {}: {}; a RoleBinding never grants \
             cluster-scoped nodes",
            entry.subject,
            entry.verbs(),
            entry.binding.namespace,
            entry.path()
        );
        verdict = verdict.with("rbac", line);
    }

    let unread = [
        ("Roles", error_of(&cluster.roles)),
        ("RoleBindings", error_of(&cluster.role_bindings)),
    ];
    for (what, reason) in unread {
        if let Some(reason) = reason {
            verdict = verdict.with(
                "rbac",
                format!(
                    "{what} were not read ({reason}); they cannot grant cluster-scoped nodes, \
                     so the verdict stands"
                ),
            );
        }
    }
    let mut notes = cluster_wide.notes;
    notes.extend(namespaced.notes);
    notes.sort();
    notes.dedup();
    for note in notes {
        verdict = verdict.with("rbac", format!("note: {note}"));
    }
    with_connection(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::facts::*;
    use crate::k8s::rbac::*;

    fn rule(verbs: &[&str], resources: &[&str]) -> PolicyRule {
        PolicyRule {
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            api_groups: vec![String::new()],
            resources: resources.iter().map(|s| s.to_string()).collect(),
            ..PolicyRule::default()
        }
    }

    fn role(name: &str, rules: Vec<PolicyRule>) -> ClusterRole {
        ClusterRole {
            name: name.into(),
            rules,
            ..ClusterRole::default()
        }
    }

    fn bind(name: &str, role: &str, subjects: Vec<Subject>) -> Binding {
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

    fn cluster(roles: Vec<ClusterRole>, bindings: Vec<Binding>) -> Cluster {
        Cluster {
            connection: Observed::Error("not used".into()),
            known_schedulers: Vec::new(),
            allowed_node_writers: Vec::new(),
            cluster_roles: Observed::Ok(roles),
            cluster_role_bindings: Observed::Ok(bindings),
            roles: Observed::Ok(Vec::new()),
            role_bindings: Observed::Ok(Vec::new()),
            unscheduled_pods: Observed::Ok(PodListing::default()),
        }
    }

    /// The bootstrap policy's node writers, as a fresh cluster has them.
    fn bootstrap() -> (Vec<ClusterRole>, Vec<Binding>) {
        let roles = vec![
            role(
                "cluster-admin",
                vec![PolicyRule {
                    verbs: vec!["*".into()],
                    api_groups: vec!["*".into()],
                    resources: vec!["*".into()],
                    ..PolicyRule::default()
                }],
            ),
            role(
                "system:node",
                vec![rule(&["update", "patch"], &["nodes", "nodes/status"])],
            ),
            role(
                "system:controller:node-controller",
                vec![rule(
                    &["get", "list", "update", "delete", "patch"],
                    &["nodes"],
                )],
            ),
            role(
                "system:controller:ttl-controller",
                vec![rule(&["update", "patch"], &["nodes"])],
            ),
            role(
                "system:kube-scheduler",
                vec![rule(&["get", "list", "watch"], &["nodes"])],
            ),
        ];
        let bindings = vec![
            bind(
                "cluster-admin",
                "cluster-admin",
                vec![Subject::group("system:masters")],
            ),
            bind("system:node", "system:node", vec![]),
            bind(
                "system:controller:node-controller",
                "system:controller:node-controller",
                vec![Subject::service_account("kube-system", "node-controller")],
            ),
            bind(
                "system:controller:ttl-controller",
                "system:controller:ttl-controller",
                vec![Subject::service_account("kube-system", "ttl-controller")],
            ),
            bind(
                "system:kube-scheduler",
                "system:kube-scheduler",
                vec![Subject::user("system:kube-scheduler")],
            ),
        ];
        (roles, bindings)
    }

    fn judge(c: &Cluster) -> Verdict {
        let facts = crate::checks::testing::facts(Vec::new());
        only_node_identities(&facts, c)
    }

    fn evidence(v: &Verdict) -> String {
        v.evidence
            .iter()
            .map(|e| e.detail.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_fresh_cluster_passes_and_shows_who_may() {
        let (roles, bindings) = bootstrap();
        let v = judge(&cluster(roles, bindings));
        assert_eq!(v.status, Status::Pass, "{}", v.message);
        let e = evidence(&v);
        assert!(
            e.contains("allowed: Group system:masters may patch, update on nodes"),
            "{e}"
        );
        assert!(
            e.contains("(built-in: the API server authorizes system:masters before RBAC"),
            "{e}"
        );
        assert!(
            e.contains(
                "allowed: ServiceAccount kube-system/node-controller may patch, update on nodes"
            ),
            "{e}"
        );
        assert!(!e.contains("system:kube-scheduler"), "{e}");
    }

    #[test]
    fn a_user_bound_to_a_node_patcher_fails_with_binding_and_role() {
        let (mut roles, mut bindings) = bootstrap();
        roles.push(role("node-patcher", vec![rule(&["patch"], &["nodes"])]));
        bindings.push(bind(
            "alice-nodes",
            "node-patcher",
            vec![Subject::user("alice")],
        ));
        let v = judge(&cluster(roles, bindings));
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("1 subject outside"), "{}", v.message);
        assert!(v.message.ends_with("User alice"), "{}", v.message);
        assert!(
            evidence(&v).contains(
                "User alice may patch on nodes: ClusterRoleBinding alice-nodes -> ClusterRole \
                 node-patcher, rule {verbs: [patch], apiGroups: [\"\"], resources: [nodes]}"
            ),
            "{}",
            evidence(&v)
        );
    }

    #[test]
    fn wildcard_roles_to_broad_groups_are_named_for_what_they_are() {
        let (mut roles, mut bindings) = bootstrap();
        roles.push(role(
            "everything",
            vec![PolicyRule {
                verbs: vec!["*".into()],
                api_groups: vec!["*".into()],
                resources: vec!["*".into()],
                ..PolicyRule::default()
            }],
        ));
        bindings.push(bind(
            "oops",
            "everything",
            vec![Subject::group("system:authenticated")],
        ));
        let v = judge(&cluster(roles, bindings));
        assert_eq!(v.status, Status::Fail);
        assert!(v
            .message
            .contains("Group system:authenticated (every authenticated user)"));
        assert!(evidence(&v).contains("patch, update on nodes; patch, update on nodes/status"));
    }

    #[test]
    fn role_binding_grants_are_shown_but_not_counted() {
        let (roles, bindings) = bootstrap();
        let mut c = cluster(roles, bindings);
        c.roles = Observed::Ok(vec![Role {
            namespace: "team".into(),
            name: "ns-patcher".into(),
            rules: vec![rule(&["patch"], &["nodes"])],
        }]);
        c.role_bindings = Observed::Ok(vec![Binding {
            namespace: "team".into(),
            name: "bob".into(),
            role_ref: RoleRef {
                kind: "Role".into(),
                name: "ns-patcher".into(),
            },
            subjects: vec![Subject::user("bob")],
        }]);
        let v = judge(&c);
        assert_eq!(v.status, Status::Pass);
        assert!(evidence(&v)
            .contains("not counted: User bob may patch on nodes only inside namespace team"));
    }

    #[test]
    fn status_only_grants_fail_and_say_why() {
        let (mut roles, mut bindings) = bootstrap();
        roles.push(role(
            "status-patcher",
            vec![rule(&["patch"], &["nodes/status"])],
        ));
        bindings.push(bind("erin", "status-patcher", vec![Subject::user("erin")]));
        let v = judge(&cluster(roles, bindings));
        assert_eq!(v.status, Status::Fail);
        assert!(evidence(&v).contains("status subresource can change a Node's labels"));
    }

    #[test]
    fn aggregated_and_named_grants_say_where_the_rule_lives() {
        let (mut roles, mut bindings) = bootstrap();
        let mut named = rule(&["update"], &["nodes"]);
        named.resource_names = vec!["worker-1".into()];
        let mut labeler = role("labeler", vec![named]);
        labeler.labels.insert("to-ops".into(), "true".into());
        roles.push(labeler);
        roles.push(ClusterRole {
            name: "ops".into(),
            aggregation_selectors: Some(vec![LabelSelector {
                match_labels: [("to-ops".to_string(), "true".to_string())].into(),
                ..LabelSelector::default()
            }]),
            ..ClusterRole::default()
        });
        bindings.push(bind("ops", "ops", vec![Subject::group("ops")]));
        let v = judge(&cluster(roles, bindings));
        assert_eq!(v.status, Status::Fail);
        let e = evidence(&v);
        assert!(e.contains("aggregated from ClusterRole labeler"), "{e}");
        assert!(e.contains("only the named nodes"), "{e}");
    }

    #[test]
    fn kubelets_and_controller_identities_are_built_in_but_the_scheduler_is_not() {
        assert!(builtin(&Subject::user("system:node:worker-1")).is_some());
        assert!(builtin(&Subject::user("system:node:")).is_none());
        assert!(builtin(&Subject::group("system:nodes")).is_some());
        assert!(builtin(&Subject::service_account("kube-system", "node-controller")).is_some());
        assert!(builtin(&Subject::service_account("default", "node-controller")).is_none());
        assert!(builtin(&Subject::user("system:kube-scheduler")).is_none());
        assert!(builtin(
            &Subject::user("system:serviceaccount:kube-system:ttl-controller").canonical()
        )
        .is_some());
    }

    #[test]
    fn operators_may_allow_more_subjects() {
        let (mut roles, mut bindings) = bootstrap();
        roles.push(role("ccm", vec![rule(&["patch"], &["nodes"])]));
        bindings.push(bind(
            "ccm",
            "ccm",
            vec![Subject::service_account(
                "kube-system",
                "cloud-controller-manager",
            )],
        ));
        let mut c = cluster(roles, bindings);
        c.allowed_node_writers = vec!["ServiceAccount:kube-system/cloud-controller-manager".into()];
        let v = judge(&c);
        assert_eq!(v.status, Status::Pass, "{}", v.message);
        assert!(evidence(&v).contains("declared with --allow-node-writer"));
    }

    #[test]
    fn unreadable_cluster_roles_are_an_error_naming_the_permission() {
        let (roles, bindings) = bootstrap();
        let mut c = cluster(roles, bindings);
        c.cluster_roles = Observed::Error(
            "cannot list clusterroles.rbac.authorization.k8s.io at the cluster scope: 403".into(),
        );
        let v = judge(&c);
        assert_eq!(v.status, Status::Error);
        assert!(v
            .message
            .contains("list clusterroles.rbac.authorization.k8s.io"));
    }

    #[test]
    fn unreadable_role_bindings_do_not_change_the_verdict() {
        let (roles, bindings) = bootstrap();
        let mut c = cluster(roles, bindings);
        c.role_bindings = Observed::Error("403".into());
        let v = judge(&c);
        assert_eq!(v.status, Status::Pass);
        assert!(evidence(&v).contains("RoleBindings were not read (403)"));
    }
}
