//! What a batch of reports changes, worked out in memory from the state the
//! database holds, so that both databases write the same rows: which reports
//! are new, which check states change, which status changes to record, the
//! node rows, and which nodes to prune.

use super::{Change, CheckState, Current, Incoming, Node, Outcome};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The stored state a batch touches, as loaded inside the transaction.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Report ids of the batch that are already stored, with their node.
    pub existing: HashMap<String, String>,
    /// Rows of the nodes in the batch.
    pub nodes: HashMap<String, Node>,
    /// Current check states, node then check, of the nodes that
    /// [`needs_checks`] names.
    pub current: HashMap<String, BTreeMap<String, Current>>,
}

/// The nodes whose check states must be loaded for `batch`: those with a
/// report whose digest differs from the stored one. A node without a row
/// has no states to load.
pub fn needs_checks<'a>(batch: &'a [Incoming], nodes: &HashMap<String, Node>) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for r in batch {
        let differs = nodes
            .get(&r.node)
            .is_some_and(|n| n.checks_digest != r.digest);
        if differs && !names.contains(&r.node.as_str()) {
            names.push(&r.node);
        }
    }
    names
}

/// The rows to write.
#[derive(Debug, Default)]
pub struct Plan {
    /// One per report of the batch, in order.
    pub outcomes: Vec<Outcome>,
    /// Indices of the reports to insert.
    pub reports: Vec<usize>,
    /// Current states to insert or replace.
    pub upserts: Vec<Current>,
    /// Current states to delete: (node, check).
    pub deletes: Vec<(String, String)>,
    pub changes: Vec<Change>,
    /// The final rows of the nodes the batch touched.
    pub nodes: Vec<Node>,
    /// Nodes whose reports beyond the newest `keep` are to be deleted.
    pub prune: Vec<String>,
}

/// How many reports beyond the limit a node may hold before it is pruned:
/// pruning runs once every few reports, not after each one.
fn slack(keep: usize) -> i64 {
    (keep / 10).max(1) as i64
}

fn current_of(r: &Incoming, c: &CheckState) -> Current {
    Current {
        node: r.node.clone(),
        check: c.check.clone(),
        status: c.status,
        severity: c.severity,
        title: c.title.clone(),
        message: c.message.clone(),
        since: r.created_at,
        report_id: r.report_id.clone(),
    }
}

/// Works out the writes for `batch`, in order.
// Limitation: duplicates are found among the reports still kept. A report
// redelivered after its node's retention pruned it would be stored again;
// agents deliver oldest first and stop at the first undelivered report, so
// this needs a spool restored from an old backup. A report older than the
/// node's newest (by the agent's clock) is stored but does not change the
/// node's current state.
pub fn plan(batch: &[Incoming], mut loaded: Loaded, keep: usize) -> Plan {
    let mut plan = Plan::default();
    let before: HashMap<String, BTreeMap<String, Current>> = loaded.current.clone();
    let mut touched: Vec<String> = Vec::new();
    let mut seen: HashMap<&str, &str> = HashMap::new();

    for (index, r) in batch.iter().enumerate() {
        let earlier = loaded
            .existing
            .get(&r.report_id)
            .map(String::as_str)
            .or_else(|| seen.get(r.report_id.as_str()).copied());
        if let Some(node) = earlier {
            plan.outcomes.push(if node == r.node {
                Outcome::Duplicate
            } else {
                Outcome::Conflict {
                    node: node.to_string(),
                }
            });
            continue;
        }
        seen.insert(&r.report_id, &r.node);
        plan.outcomes.push(Outcome::Stored);
        plan.reports.push(index);
        if !touched.contains(&r.node) {
            touched.push(r.node.clone());
        }

        let node = loaded.nodes.entry(r.node.clone()).or_insert_with(|| Node {
            node: r.node.clone(),
            hostname: None,
            machine_id: None,
            boot_id: None,
            agent_version: String::new(),
            first_seen: r.received_at,
            last_received_at: r.received_at,
            last_created_at: i64::MIN,
            last_report_id: String::new(),
            summary: Default::default(),
            kept_reports: 0,
            checks_digest: String::new(),
        });
        node.kept_reports += 1;
        if r.created_at < node.last_created_at {
            continue;
        }
        node.hostname = r.hostname.clone();
        node.machine_id = r.machine_id.clone();
        node.boot_id = r.boot_id.clone();
        node.agent_version = r.agent_version.clone();
        node.last_received_at = r.received_at;
        node.last_created_at = r.created_at;
        node.last_report_id = r.report_id.clone();
        node.summary = r.summary.clone();
        if node.checks_digest == r.digest {
            continue;
        }
        node.checks_digest = r.digest.clone();

        let states = loaded.current.entry(r.node.clone()).or_default();
        let fresh: BTreeMap<&str, &CheckState> =
            r.checks.iter().map(|c| (c.check.as_str(), c)).collect();
        let checks: Vec<String> = states
            .keys()
            .cloned()
            .chain(fresh.keys().map(|k| k.to_string()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for check in checks {
            let old = states.get(&check);
            let new = fresh.get(check.as_str()).copied();
            let change = |from, to, severity, message: &str| Change {
                node: r.node.clone(),
                check: check.clone(),
                at: r.created_at,
                report_id: r.report_id.clone(),
                from,
                to,
                severity,
                message: message.to_string(),
            };
            match (old, new) {
                (None, Some(n)) => {
                    plan.changes
                        .push(change(None, Some(n.status), n.severity, &n.message));
                    states.insert(check.clone(), current_of(r, n));
                }
                (Some(o), None) => {
                    plan.changes.push(change(
                        Some(o.status),
                        None,
                        o.severity,
                        "the check is no longer in this node's reports",
                    ));
                    states.remove(&check);
                }
                (Some(o), Some(n)) if o.status != n.status => {
                    plan.changes.push(change(
                        Some(o.status),
                        Some(n.status),
                        n.severity,
                        &n.message,
                    ));
                    states.insert(check.clone(), current_of(r, n));
                }
                (Some(o), Some(n))
                    if o.severity != n.severity || o.title != n.title || o.message != n.message =>
                {
                    let since = o.since;
                    let mut updated = current_of(r, n);
                    updated.since = since;
                    states.insert(check.clone(), updated);
                }
                _ => {}
            }
        }
    }

    // Write each row once, in its final state: a node may appear several
    // times in a batch.
    let empty = BTreeMap::new();
    for name in &touched {
        let old = before.get(name).unwrap_or(&empty);
        let new = loaded.current.get(name).unwrap_or(&empty);
        for (check, state) in new {
            if old.get(check) != Some(state) {
                plan.upserts.push(state.clone());
            }
        }
        for check in old.keys() {
            if !new.contains_key(check) {
                plan.deletes.push((name.clone(), check.clone()));
            }
        }
        if let Some(mut node) = loaded.nodes.remove(name) {
            if node.kept_reports > keep as i64 + slack(keep) {
                plan.prune.push(name.clone());
                node.kept_reports = keep as i64;
            }
            plan.nodes.push(node);
        }
    }
    let unique: HashSet<&str> = plan.nodes.iter().map(|n| n.node.as_str()).collect();
    debug_assert_eq!(unique.len(), plan.nodes.len());
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Severity, Status};

    fn report(id: &str, node: &str, at: i64, checks: &[(&str, Status)]) -> Incoming {
        let mut r = Incoming {
            report_id: id.into(),
            node: node.into(),
            created_at: at,
            received_at: at + 5,
            hostname: Some(node.into()),
            machine_id: None,
            boot_id: None,
            agent_version: "0.1.0".into(),
            summary: Default::default(),
            checks: checks
                .iter()
                .map(|(c, s)| CheckState {
                    check: c.to_string(),
                    status: *s,
                    severity: Severity::High,
                    title: format!("{c} title"),
                    message: format!("{c} is {s}"),
                })
                .collect(),
            digest: String::new(),
            body: Vec::new(),
        };
        r.digest = super::super::digest(&r.checks);
        r
    }

    /// Applies a plan to `loaded` the way a database would.
    fn apply(batch: &[Incoming], loaded: &mut Loaded, plan: &Plan) {
        for &i in &plan.reports {
            loaded
                .existing
                .insert(batch[i].report_id.clone(), batch[i].node.clone());
        }
        for c in &plan.upserts {
            loaded
                .current
                .entry(c.node.clone())
                .or_default()
                .insert(c.check.clone(), c.clone());
        }
        for (node, check) in &plan.deletes {
            loaded.current.get_mut(node).unwrap().remove(check);
        }
        for n in &plan.nodes {
            loaded.nodes.insert(n.node.clone(), n.clone());
        }
    }

    fn transitions(plan: &Plan) -> Vec<(String, Option<Status>, Option<Status>)> {
        plan.changes
            .iter()
            .map(|c| (c.check.clone(), c.from, c.to))
            .collect()
    }

    #[test]
    fn a_first_report_records_every_check_as_a_change() {
        let batch = [report(
            "r1",
            "a",
            100,
            &[("SG-101", Status::Pass), ("SG-501", Status::Fail)],
        )];
        let plan = plan(&batch, Loaded::default(), 10);
        assert_eq!(plan.outcomes, [Outcome::Stored]);
        assert_eq!(
            transitions(&plan),
            [
                ("SG-101".into(), None, Some(Status::Pass)),
                ("SG-501".into(), None, Some(Status::Fail))
            ]
        );
        assert_eq!(plan.upserts.len(), 2);
        assert_eq!(plan.nodes[0].last_report_id, "r1");
    }

    #[test]
    fn only_status_changes_are_recorded_and_rows_written_once() {
        let mut loaded = Loaded::default();
        let first = [report(
            "r1",
            "a",
            100,
            &[("SG-101", Status::Pass), ("SG-501", Status::Fail)],
        )];
        let p = plan(&first, loaded.clone(), 10);
        apply(&first, &mut loaded, &p);

        let batch = [
            report(
                "r2",
                "a",
                200,
                &[("SG-101", Status::Pass), ("SG-501", Status::Pass)],
            ),
            report(
                "r3",
                "a",
                300,
                &[("SG-101", Status::Pass), ("SG-501", Status::Fail)],
            ),
            report("r4", "a", 400, &[("SG-101", Status::Pass)]),
        ];
        let p = plan(&batch, loaded.clone(), 10);
        assert_eq!(
            transitions(&p),
            [
                ("SG-501".into(), Some(Status::Fail), Some(Status::Pass)),
                ("SG-501".into(), Some(Status::Pass), Some(Status::Fail)),
                ("SG-501".into(), Some(Status::Fail), None),
            ]
        );
        assert!(p.upserts.is_empty(), "{:?}", p.upserts);
        assert_eq!(p.deletes, [("a".to_string(), "SG-501".to_string())]);
        assert_eq!(p.nodes.len(), 1);
        assert_eq!(p.nodes[0].last_report_id, "r4");
    }

    #[test]
    fn a_report_that_repeats_the_last_needs_no_check_states() {
        let mut loaded = Loaded::default();
        let first = [report("r1", "a", 100, &[("SG-501", Status::Fail)])];
        let p = plan(&first, loaded.clone(), 10);
        apply(&first, &mut loaded, &p);

        let same = [report("r2", "a", 200, &[("SG-501", Status::Fail)])];
        assert!(needs_checks(&same, &loaded.nodes).is_empty());
        let without_states = Loaded {
            current: HashMap::new(),
            ..loaded.clone()
        };
        let p = plan(&same, without_states, 10);
        assert!(p.changes.is_empty() && p.upserts.is_empty() && p.deletes.is_empty());
        assert_eq!(p.nodes[0].last_report_id, "r2");

        let changed = [report("r3", "a", 300, &[("SG-501", Status::Pass)])];
        assert_eq!(needs_checks(&changed, &loaded.nodes), ["a"]);
        let fresh = [report("r4", "new", 300, &[])];
        assert!(
            needs_checks(&fresh, &loaded.nodes).is_empty(),
            "nothing stored to load"
        );
    }

    #[test]
    fn redeliveries_are_duplicates_and_foreign_ids_conflicts() {
        let mut loaded = Loaded::default();
        loaded.existing.insert("r1".into(), "a".into());
        let batch = [
            report("r1", "a", 100, &[]),
            report("r1", "b", 100, &[]),
            report("r2", "a", 200, &[]),
            report("r2", "a", 200, &[]),
        ];
        let p = plan(&batch, loaded, 10);
        assert_eq!(
            p.outcomes,
            [
                Outcome::Duplicate,
                Outcome::Conflict { node: "a".into() },
                Outcome::Stored,
                Outcome::Duplicate
            ]
        );
        assert_eq!(p.reports, [2]);
    }

    #[test]
    fn a_late_report_is_stored_without_changing_the_current_state() {
        let mut loaded = Loaded::default();
        let first = [report("r2", "a", 200, &[("SG-501", Status::Fail)])];
        let p = plan(&first, loaded.clone(), 10);
        apply(&first, &mut loaded, &p);
        let late = [report("r1", "a", 100, &[("SG-501", Status::Pass)])];
        let p = plan(&late, loaded, 10);
        assert_eq!(p.outcomes, [Outcome::Stored]);
        assert!(p.changes.is_empty() && p.upserts.is_empty());
        assert_eq!(p.nodes[0].last_report_id, "r2");
        assert_eq!(p.nodes[0].kept_reports, 2);
    }

    #[test]
    fn nodes_are_pruned_once_past_the_limit_and_slack() {
        let mut loaded = Loaded::default();
        let mut pruned_at = Vec::new();
        for i in 0..30 {
            let batch = [report(&format!("r{i}"), "a", i, &[])];
            let p = plan(&batch, loaded.clone(), 10);
            if !p.prune.is_empty() {
                pruned_at.push(i);
            }
            apply(&batch, &mut loaded, &p);
        }
        // keep 10, slack 1: pruned at the 12th report, then every 2nd.
        assert_eq!(pruned_at[..3], [11, 13, 15]);
    }
}
