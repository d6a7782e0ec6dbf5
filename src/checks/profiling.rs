//! Profiling endpoints and flags that `--config` makes ignored
//! (SG-201 to SG-203).

use crate::checks::effective::Effective;
use crate::checks::Verdict;

/// SG-201.
pub fn profiling_disabled(e: &Effective) -> Vec<Verdict> {
    vec![Verdict::from_result(e.profiling().map(|s| {
        let verdict = if s.value {
            Verdict::fail("profiling is on: /debug/pprof/ is served on the secure port")
        } else {
            Verdict::pass("profiling is off")
        };
        verdict.from(&s.origin)
    }))]
}

/// SG-202.
pub fn contention_profiling_disabled(e: &Effective) -> Vec<Verdict> {
    let verdict = e.profiling().and_then(|profiling| {
        if !profiling.value {
            return Ok(
                Verdict::pass("profiling is off, so nothing serves contention profiles")
                    .from(&profiling.origin),
            );
        }
        let contention = e.contention_profiling()?;
        let verdict = if contention.value {
            Verdict::fail("contention profiling is on")
        } else {
            Verdict::pass("contention profiling is off")
        };
        Ok(verdict.from(&contention.origin).from(&profiling.origin))
    });
    vec![Verdict::from_result(verdict)]
}

/// SG-203.
pub fn no_ignored_flags(e: &Effective) -> Vec<Verdict> {
    if !e.has_config() {
        return vec![Verdict::pass(
            "no --config file, so no flag is overridden by one",
        )];
    }
    let ignored = e.ignored_flags();
    if ignored.is_empty() {
        return vec![Verdict::pass(
            "no deprecated flag is given together with --config",
        )];
    }
    ignored
        .into_iter()
        .map(|i| {
            Verdict::warn(format!(
                "--{}={} has no effect because --config is given; the config field {} rules instead",
                i.flag, i.value, i.field
            ))
            .with("argv", format!("argv[{}]: --{}={}", i.position, i.flag, i.value))
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

    #[test]
    fn profiling_is_on_by_default() {
        assert_eq!(
            statuses(profiling_disabled, &target("")),
            vec![Status::Fail]
        );
    }

    #[test]
    fn profiling_flag_applies_without_config() {
        assert_eq!(
            statuses(profiling_disabled, &target("--profiling=false")),
            vec![Status::Pass]
        );
    }

    #[test]
    fn profiling_flag_ignored_when_config_file_given() {
        let t = with_config(
            target("--profiling=false --config=/etc/kubernetes/sched.yaml"),
            V1,
        );
        assert_eq!(statuses(profiling_disabled, &t), vec![Status::Fail]);
        assert_eq!(statuses(no_ignored_flags, &t), vec![Status::Warn]);
    }

    #[test]
    fn enable_profiling_false_in_config_passes() {
        let yaml = format!("{V1}enableProfiling: false\n");
        let t = with_config(target("--config=/etc/kubernetes/sched.yaml"), &yaml);
        assert_eq!(statuses(profiling_disabled, &t), vec![Status::Pass]);
        assert_eq!(
            statuses(contention_profiling_disabled, &t),
            vec![Status::Pass]
        );
        assert_eq!(statuses(no_ignored_flags, &t), vec![Status::Pass]);
    }

    #[test]
    fn unreadable_config_is_an_error_for_profiling() {
        let t = with_unreadable_config(target("--config=/etc/kubernetes/sched.yaml"));
        assert_eq!(statuses(profiling_disabled, &t), vec![Status::Error]);
        assert_eq!(
            statuses(contention_profiling_disabled, &t),
            vec![Status::Error]
        );
    }

    #[test]
    fn contention_profiling_follows_profiling_by_default() {
        assert_eq!(
            statuses(contention_profiling_disabled, &target("")),
            vec![Status::Fail]
        );
        let off = target("--contention-profiling=false");
        assert_eq!(
            statuses(contention_profiling_disabled, &off),
            vec![Status::Pass]
        );
        let yaml = format!("{V1}enableContentionProfiling: false\n");
        let t = with_config(target("--config=x"), &yaml);
        assert_eq!(
            statuses(contention_profiling_disabled, &t),
            vec![Status::Pass]
        );
    }

    #[test]
    fn each_ignored_flag_is_warned_once() {
        let t = with_config(
            target("--config=x --kubeconfig=/k --profiling=false --bind-address=127.0.0.1"),
            V1,
        );
        let verdicts = no_ignored_flags(&Effective::new(&t));
        assert_eq!(verdicts.len(), 2);
        assert!(verdicts
            .iter()
            .any(|v| v.message.contains("clientConnection.kubeconfig")));
    }
}
