//! SG-704: pods that wait for a scheduler that does not exist. A pod whose
//! `spec.schedulerName` no profile serves is never picked up: it stays
//! Pending with no events at all. The names served are the profiles of the
//! schedulers audited on this host plus those declared with
//! `--known-scheduler` for the schedulers that run elsewhere.

use crate::checks::effective::Effective;
use crate::checks::node_writers::connection_evidence;
use crate::checks::Verdict;
use crate::facts::{Cluster, Facts, Observed, UnscheduledPod};
use crate::time::{age, parse_rfc3339};
use std::collections::BTreeMap;

/// At most this many pods are listed one by one in the evidence.
const LISTED: usize = 50;

/// Scheduler names that are served, each with who serves it.
///
/// Limitation: only the schedulers of this host are seen; those of other
/// control-plane hosts are assumed to serve the same names, and schedulers
/// elsewhere must be declared with `--known-scheduler`.
fn served_names(facts: &Facts, cluster: &Cluster) -> (BTreeMap<String, Vec<String>>, Vec<String>) {
    let mut served: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unknown = Vec::new();
    for target in &facts.targets {
        let who = format!("{} pid {}", target.kind.as_str(), target.pid);
        if target.argv.is_empty() {
            unknown.push(format!("{who}: its command line could not be read"));
            continue;
        }
        match Effective::new(target).profiles() {
            Ok(profiles) => {
                for (name, _) in profiles {
                    served.entry(name).or_default().push(who.clone());
                }
            }
            Err(e) => unknown.push(format!("{who}: {e}")),
        }
    }
    for name in &cluster.known_schedulers {
        served
            .entry(name.clone())
            .or_default()
            .push("--known-scheduler".into());
    }
    (served, unknown)
}

/// How long a pod has waited, from its creation to when the facts were
/// gathered.
fn waited(pod: &UnscheduledPod, now: Option<u64>) -> Option<u64> {
    let created = parse_rfc3339(pod.created.as_deref()?)?;
    Some(now?.saturating_sub(created))
}

/// SG-704.
pub fn no_pod_waits_for_missing_scheduler(facts: &Facts, cluster: &Cluster) -> Verdict {
    let with_connection = |verdict: Verdict| match connection_evidence(cluster) {
        Some(line) => verdict.with("api", line),
        None => verdict,
    };
    let listing = match &cluster.unscheduled_pods {
        Observed::Ok(listing) => listing,
        Observed::Error(e) => return with_connection(Verdict::error(e.clone())),
    };
    let (served, unknown) = served_names(facts, cluster);
    let now = parse_rfc3339(&facts.gathered_at);

    // Pods with a node are scheduled (the listing holds none); finished or
    // deleted pods wait for nothing.
    let waiting: Vec<&UnscheduledPod> = listing
        .pods
        .iter()
        .filter(|p| !p.deleting && (p.phase.is_empty() || p.phase == "Pending"))
        .collect();
    let mut unserved: Vec<&UnscheduledPod> = waiting
        .iter()
        .copied()
        .filter(|p| !served.contains_key(&p.scheduler_name))
        .collect();
    // Longest waiting first; then by name, for a stable report.
    unserved.sort_by(|a, b| {
        waited(b, now)
            .cmp(&waited(a, now))
            .then_with(|| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)))
    });

    let served_text = if served.is_empty() {
        "no scheduler name is known to be served".to_string()
    } else {
        served
            .iter()
            .map(|(name, who)| format!("{name} (by {})", who.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    for pod in &unserved {
        *by_name.entry(&pod.scheduler_name).or_default() += 1;
    }
    let names = by_name
        .iter()
        .map(|(name, count)| format!("\"{name}\" ({count})"))
        .collect::<Vec<_>>()
        .join(", ");
    let pods = if unserved.len() == 1 {
        "1 pod waits".to_string()
    } else {
        format!("{} pods wait", unserved.len())
    };

    let mut verdict = if waiting.is_empty() {
        Verdict::pass("no pod waits to be scheduled")
    } else if unserved.is_empty() {
        Verdict::pass(format!(
            "every one of the {} pods waiting to be scheduled names a served scheduler",
            waiting.len()
        ))
    } else if !unknown.is_empty() {
        Verdict::error(format!(
            "cannot tell whether {pods} for a scheduler that does not exist ({names}): the \
             profiles of {} are unknown",
            unknown.join("; ")
        ))
    } else if facts.targets.is_empty() && cluster.known_schedulers.is_empty() {
        Verdict::error(format!(
            "{pods} to be scheduled, but no kube-scheduler runs on this host and no \
             --known-scheduler was given, so the scheduler names served are unknown"
        ))
    } else {
        Verdict::warn(format!(
            "{pods} for a scheduler that no profile serves: {names}; they stay Pending with no \
             events"
        ))
    };

    verdict = verdict.with("scheduler", format!("served: {served_text}"));
    verdict = verdict.with(
        "api",
        format!(
            "{} pods without a node (spec.nodeName empty) in all namespaces, {} waiting, read \
             in {} request{}{}",
            listing.pods.len(),
            waiting.len(),
            listing.pages,
            if listing.pages == 1 { "" } else { "s" },
            if listing.restarted {
                " (a continue token expired and the list was read again)"
            } else {
                ""
            }
        ),
    );
    for pod in unserved.iter().take(LISTED) {
        let how_long = match waited(pod, now) {
            Some(secs) => format!("Pending for {}", age(secs)),
            None => "Pending (creation time unknown)".to_string(),
        };
        let created = pod
            .created
            .as_deref()
            .map(|c| format!(", created {c}"))
            .unwrap_or_default();
        verdict = verdict.with(
            "pod",
            format!(
                "{}/{}: spec.schedulerName \"{}\", {how_long}{created}",
                pod.namespace, pod.name, pod.scheduler_name
            ),
        );
    }
    if unserved.len() > LISTED {
        verdict = verdict.with(
            "pod",
            format!(
                "and {} more pods (the facts snapshot, --save-facts, lists them all)",
                unserved.len() - LISTED
            ),
        );
    }
    with_connection(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{facts, target, with_config, with_unreadable_config, V1};
    use crate::checks::Status;
    use crate::facts::*;

    fn pod(namespace: &str, name: &str, scheduler: &str, created: &str) -> UnscheduledPod {
        UnscheduledPod {
            namespace: namespace.into(),
            name: name.into(),
            scheduler_name: scheduler.into(),
            phase: "Pending".into(),
            created: Some(created.into()),
            deleting: false,
        }
    }

    fn cluster(pods: Vec<UnscheduledPod>, known: &[&str]) -> Cluster {
        Cluster {
            connection: Observed::Error("not used".into()),
            known_schedulers: known.iter().map(|s| s.to_string()).collect(),
            allowed_node_writers: Vec::new(),
            cluster_roles: Observed::Ok(Vec::new()),
            cluster_role_bindings: Observed::Ok(Vec::new()),
            roles: Observed::Ok(Vec::new()),
            role_bindings: Observed::Ok(Vec::new()),
            unscheduled_pods: Observed::Ok(PodListing {
                pods,
                pages: 1,
                restarted: false,
            }),
        }
    }

    fn with_profiles() -> Target {
        with_config(
            target("--config=/etc/kubernetes/sched.yaml"),
            &format!("{V1}profiles:\n- schedulerName: default-scheduler\n- schedulerName: batch\n"),
        )
    }

    fn evidence(v: &Verdict) -> Vec<String> {
        v.evidence.iter().map(|e| e.detail.clone()).collect()
    }

    #[test]
    fn pods_for_served_profiles_pass() {
        let c = cluster(
            vec![
                pod("a", "web", "default-scheduler", "2026-12-04T11:00:00Z"),
                pod("a", "job", "batch", "2026-12-04T11:00:00Z"),
            ],
            &[],
        );
        let v = no_pod_waits_for_missing_scheduler(&facts(vec![with_profiles()]), &c);
        assert_eq!(v.status, Status::Pass, "{}", v.message);
        assert!(evidence(&v)[0].contains("batch (by kube-scheduler pid 4242)"));
    }

    #[test]
    fn a_pod_naming_an_unserved_scheduler_warns_with_its_age() {
        let c = cluster(
            vec![
                pod("a", "web", "default-scheduler", "2026-12-04T11:00:00Z"),
                pod("b", "lost", "gone-scheduler", "2026-12-01T08:30:00Z"),
                pod("b", "newer", "gone-scheduler", "2026-12-04T11:59:18Z"),
            ],
            &[],
        );
        let v = no_pod_waits_for_missing_scheduler(&facts(vec![with_profiles()]), &c);
        assert_eq!(v.status, Status::Warn);
        assert!(v.message.starts_with("2 pods wait"), "{}", v.message);
        assert!(
            v.message.contains("\"gone-scheduler\" (2)"),
            "{}",
            v.message
        );
        let e = evidence(&v);
        assert_eq!(
            e[2],
            "b/lost: spec.schedulerName \"gone-scheduler\", Pending for 3d3h, created \
             2026-12-01T08:30:00Z"
        );
        assert!(
            e[3].contains("b/newer") && e[3].contains("Pending for 42s"),
            "{e:?}"
        );
    }

    #[test]
    fn known_schedulers_count_as_served() {
        let c = cluster(
            vec![pod("a", "x", "elsewhere", "2026-12-04T11:00:00Z")],
            &["elsewhere"],
        );
        let v = no_pod_waits_for_missing_scheduler(&facts(vec![with_profiles()]), &c);
        assert_eq!(v.status, Status::Pass);
        assert!(evidence(&v)[0].contains("elsewhere (by --known-scheduler)"));
    }

    #[test]
    fn a_scheduler_without_config_serves_the_default_name_only() {
        let c = cluster(vec![pod("a", "x", "batch", "2026-12-04T11:00:00Z")], &[]);
        let v = no_pod_waits_for_missing_scheduler(&facts(vec![target("")]), &c);
        assert_eq!(v.status, Status::Warn);
    }

    #[test]
    fn finished_and_deleted_pods_wait_for_nothing() {
        let mut done = pod("a", "done", "gone", "2026-12-04T11:00:00Z");
        done.phase = "Failed".into();
        let mut deleted = pod("a", "deleted", "gone", "2026-12-04T11:00:00Z");
        deleted.deleting = true;
        let v = no_pod_waits_for_missing_scheduler(
            &facts(vec![with_profiles()]),
            &cluster(vec![done, deleted], &[]),
        );
        assert_eq!(v.status, Status::Pass, "{}", v.message);
    }

    #[test]
    fn unknown_profiles_make_unserved_pods_an_error_not_a_warning() {
        let c = cluster(vec![pod("a", "x", "batch", "2026-12-04T11:00:00Z")], &[]);
        let broken = with_unreadable_config(target("--config=/etc/kubernetes/sched.yaml"));
        let v = no_pod_waits_for_missing_scheduler(&facts(vec![broken]), &c);
        assert_eq!(v.status, Status::Error);
        assert!(
            v.message.contains("profiles of kube-scheduler pid 4242"),
            "{}",
            v.message
        );
    }

    #[test]
    fn no_scheduler_here_and_none_declared_is_an_error() {
        let c = cluster(
            vec![pod("a", "x", "default-scheduler", "2026-12-04T11:00:00Z")],
            &[],
        );
        let v = no_pod_waits_for_missing_scheduler(&facts(Vec::new()), &c);
        assert_eq!(v.status, Status::Error);
        assert!(v.message.contains("--known-scheduler"));
        let empty = no_pod_waits_for_missing_scheduler(&facts(Vec::new()), &cluster(vec![], &[]));
        assert_eq!(empty.status, Status::Pass);
    }

    #[test]
    fn a_listing_error_is_an_error_finding() {
        let mut c = cluster(vec![], &[]);
        c.unscheduled_pods = Observed::Error("cannot list pods at the cluster scope: 403".into());
        let v = no_pod_waits_for_missing_scheduler(&facts(vec![with_profiles()]), &c);
        assert_eq!(v.status, Status::Error);
        assert!(v.message.contains("list pods"));
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let pods = (0..60)
            .map(|i| pod("a", &format!("p{i:02}"), "gone", "2026-12-04T11:00:00Z"))
            .collect();
        let v =
            no_pod_waits_for_missing_scheduler(&facts(vec![with_profiles()]), &cluster(pods, &[]));
        let e = evidence(&v);
        assert_eq!(e.len(), 2 + LISTED + 1);
        assert!(e.last().unwrap().starts_with("and 10 more pods"));
    }
}
