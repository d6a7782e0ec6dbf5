//! Scheduling profiles: plugins at sensitive extension points and extenders
//! (SG-601 to SG-604).

use crate::checks::effective::{ConfigState, Effective};
use crate::checks::Verdict;
use crate::k8s::plugins::ExtensionPoint;

/// The extension points the hardening guide names as sensitive.
const SENSITIVE: &[(ExtensionPoint, &str)] = &[
    (ExtensionPoint::QueueSort, "queueSort"),
    (ExtensionPoint::PreFilter, "preFilter"),
    (ExtensionPoint::Filter, "filter"),
    (ExtensionPoint::Permit, "permit"),
];

fn config_evidence(verdict: Verdict, e: &Effective) -> Verdict {
    match &e.config {
        ConfigState::Parsed { path, config } => {
            verdict.with("config", format!("config file {path} ({})", config.api))
        }
        _ => verdict.with("default", format!("default profile of {}", e.release)),
    }
}

/// SG-601.
pub fn one_queue_sort(e: &Effective) -> Vec<Verdict> {
    let profiles = match e.profiles() {
        Ok(p) => p,
        Err(reason) => return vec![Verdict::error(reason)],
    };
    let mut problems = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (name, plugins) in &profiles {
        let queue_sort = &plugins.points[&ExtensionPoint::QueueSort];
        let list: Vec<&str> = queue_sort.iter().map(|p| p.name.as_str()).collect();
        if list.len() != 1 {
            problems.push(format!(
                "profile {name} has {} queueSort plugins [{}]",
                list.len(),
                list.join(", ")
            ));
        }
        names.push(list.join("+"));
    }
    names.dedup();
    if names.len() > 1 {
        problems.push(format!(
            "profiles use different queueSort plugins: {}",
            names.join(", ")
        ));
    }
    let verdict = if problems.is_empty() {
        Verdict::pass(format!(
            "every profile sorts its queue with {}",
            names.join("")
        ))
    } else {
        Verdict::fail(problems.join("; "))
    };
    vec![config_evidence(verdict, e)]
}

/// SG-602.
pub fn non_default_plugins(e: &Effective) -> Vec<Verdict> {
    let profiles = match e.profiles() {
        Ok(p) => p,
        Err(reason) => return vec![Verdict::error(reason)],
    };
    let mut verdicts = Vec::new();
    for (profile, plugins) in &profiles {
        for (point, field) in SENSITIVE {
            for plugin in plugins.points[point].iter().filter(|p| !p.default) {
                verdicts.push(config_evidence(
                    Verdict::warn(format!(
                        "profile {profile} runs the non-default plugin {} at {field}",
                        plugin.name
                    )),
                    e,
                ));
            }
        }
        for plugin in &plugins.unresolved_multi_point {
            verdicts.push(config_evidence(
                Verdict::warn(format!(
                    "profile {profile} enables the non-default plugin {} through multiPoint; it \
                     may run at queueSort, preFilter, filter or permit",
                    plugin.name
                )),
                e,
            ));
        }
    }
    if verdicts.is_empty() {
        verdicts.push(config_evidence(
            Verdict::pass("only default plugins run at queueSort, preFilter, filter and permit"),
            e,
        ));
    }
    verdicts
}

/// SG-603.
pub fn filter_not_disabled(e: &Effective) -> Vec<Verdict> {
    let profiles = match e.profiles() {
        Ok(p) => p,
        Err(reason) => return vec![Verdict::error(reason)],
    };
    let empty: Vec<&str> = profiles
        .iter()
        .filter(|(_, plugins)| plugins.points[&ExtensionPoint::Filter].is_empty())
        .map(|(name, _)| name.as_str())
        .collect();
    let verdict = if empty.is_empty() {
        Verdict::pass("every profile runs filter plugins")
    } else {
        Verdict::warn(format!(
            "profile(s) {} run no filter plugin: their pods ignore taints, node affinity and \
             resource fit",
            empty.join(", ")
        ))
    };
    vec![config_evidence(verdict, e)]
}

/// SG-604.
pub fn extenders_safe(e: &Effective) -> Vec<Verdict> {
    let (path, config) = match &e.config {
        ConfigState::Absent => return vec![Verdict::skip("no --config file, so no extenders")],
        ConfigState::Unreadable { path, reason } => {
            return vec![Verdict::error(format!(
                "extenders come from the --config file {path}, which could not be read: {reason}"
            ))]
        }
        ConfigState::Parsed { path, config } => (path, config),
    };
    if config.extenders.is_empty() {
        return vec![Verdict::skip("no extenders are configured")];
    }
    config
        .extenders
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let mut problems = Vec::new();
            if !x.enable_https {
                problems.push("enableHTTPS is false (plain HTTP)".to_string());
            }
            if x.tls_insecure {
                problems.push("tlsConfig.insecure is true (certificate not verified)".to_string());
            }
            let verdict = if !problems.is_empty() {
                Verdict::fail(format!("extenders[{i}] {}: {}", x.url_prefix, problems.join("; ")))
            } else if x.filter_verb.is_some() && !x.ignorable {
                Verdict::warn(format!(
                    "extenders[{i}] {} filters and is not ignorable: if it is down, scheduling stops",
                    x.url_prefix
                ))
            } else {
                Verdict::pass(format!("extenders[{i}] {} uses verified HTTPS", x.url_prefix))
            };
            verdict.with("config", format!("config file {path}: extenders[{i}]"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::Status;
    use crate::facts::Target;

    fn statuses(check: fn(&Effective) -> Vec<Verdict>, target: &Target) -> Vec<Status> {
        check(&Effective::new(target))
            .iter()
            .map(|v| v.status)
            .collect()
    }

    fn configured(yaml: &str) -> Target {
        with_config(
            target("--config=/etc/kubernetes/sched.yaml"),
            &format!("{V1}{yaml}"),
        )
    }

    /// The example from the hardening guide: queueSort, filter and permit all
    /// disabled with "*".
    const GUIDE_EXAMPLE: &str = "profiles:\n- schedulerName: my-scheduler\n  plugins:\n\
        \x20   queueSort:\n      disabled:\n      - name: \"*\"\n\
        \x20   filter:\n      disabled:\n      - name: \"*\"\n\
        \x20   permit:\n      disabled:\n      - name: \"*\"\n";

    #[test]
    fn default_profile_passes_every_plugin_check() {
        for check in [one_queue_sort, non_default_plugins, filter_not_disabled] {
            assert_eq!(statuses(check, &target("")), vec![Status::Pass]);
        }
    }

    #[test]
    fn guide_example_has_no_queue_sort_and_no_filter() {
        let t = configured(GUIDE_EXAMPLE);
        assert_eq!(statuses(one_queue_sort, &t), vec![Status::Fail]);
        assert_eq!(statuses(filter_not_disabled, &t), vec![Status::Warn]);
        assert_eq!(statuses(non_default_plugins, &t), vec![Status::Pass]);
    }

    #[test]
    fn custom_queue_sort_replacing_the_default_is_warned() {
        let t = configured("profiles:\n- plugins:\n    queueSort:\n      disabled:\n      - name: \"*\"\n      enabled:\n      - name: MySort\n");
        assert_eq!(statuses(one_queue_sort, &t), vec![Status::Pass]);
        let verdicts = non_default_plugins(&Effective::new(&t));
        assert_eq!(verdicts.len(), 1);
        assert!(verdicts[0].message.contains("MySort at queueSort"));
    }

    #[test]
    fn two_queue_sort_plugins_fail() {
        let t = configured(
            "profiles:\n- plugins:\n    queueSort:\n      enabled:\n      - name: MySort\n",
        );
        assert_eq!(statuses(one_queue_sort, &t), vec![Status::Fail]);
    }

    #[test]
    fn profiles_with_different_queue_sort_fail() {
        let t = configured("profiles:\n- schedulerName: a\n- schedulerName: b\n  plugins:\n    queueSort:\n      disabled:\n      - name: \"*\"\n      enabled:\n      - name: MySort\n");
        assert_eq!(statuses(one_queue_sort, &t), vec![Status::Fail]);
    }

    #[test]
    fn custom_permit_plugin_is_warned() {
        let t =
            configured("profiles:\n- plugins:\n    permit:\n      enabled:\n      - name: Gate\n");
        assert_eq!(statuses(non_default_plugins, &t), vec![Status::Warn]);
    }

    #[test]
    fn custom_multi_point_plugin_is_warned() {
        let t = configured(
            "profiles:\n- plugins:\n    multiPoint:\n      enabled:\n      - name: Mystery\n",
        );
        let verdicts = non_default_plugins(&Effective::new(&t));
        assert!(verdicts
            .iter()
            .any(|v| v.message.contains("Mystery") && v.status == Status::Warn));
    }

    #[test]
    fn unreadable_config_makes_plugin_checks_errors() {
        let t = with_unreadable_config(target("--config=x"));
        assert_eq!(statuses(one_queue_sort, &t), vec![Status::Error]);
        assert_eq!(statuses(extenders_safe, &t), vec![Status::Error]);
    }

    #[test]
    fn extenders_need_verified_https_and_ignorable_filters_are_warned() {
        let plain = configured("extenders:\n- urlPrefix: http://x/\n");
        assert_eq!(statuses(extenders_safe, &plain), vec![Status::Fail]);
        let insecure = configured("extenders:\n- urlPrefix: https://x/\n  enableHTTPS: true\n  tlsConfig:\n    insecure: true\n");
        assert_eq!(statuses(extenders_safe, &insecure), vec![Status::Fail]);
        let filter = configured(
            "extenders:\n- urlPrefix: https://x/\n  enableHTTPS: true\n  filterVerb: filter\n",
        );
        assert_eq!(statuses(extenders_safe, &filter), vec![Status::Warn]);
        let good = configured("extenders:\n- urlPrefix: https://x/\n  enableHTTPS: true\n  filterVerb: filter\n  ignorable: true\n");
        assert_eq!(statuses(extenders_safe, &good), vec![Status::Pass]);
        assert_eq!(statuses(extenders_safe, &target("")), vec![Status::Skip]);
    }
}
