//! Delegated authentication and authorization of the secure port
//! (SG-101, SG-103 to SG-106).

use crate::checks::effective::Effective;
use crate::checks::{Severity, Verdict};

/// The paths that may be served to anonymous callers.
const HEALTH_PATHS: &[&str] = &["/healthz", "/readyz", "/livez"];

/// SG-101.
pub fn delegated_authentication(e: &Effective) -> Vec<Verdict> {
    let setting = e.flag("authentication-kubeconfig");
    let verdict = match setting.value.as_deref() {
        Some(path) if !path.is_empty() => {
            Verdict::pass(format!("delegated authentication uses {path}"))
        }
        _ => Verdict::fail(
            "--authentication-kubeconfig is not set: every request to the secure port is anonymous",
        ),
    };
    vec![verdict.from(&setting.origin)]
}

/// SG-103.
pub fn lookup_failure_fatal(e: &Effective) -> Vec<Verdict> {
    vec![Verdict::from_result(
        e.flag_bool("authentication-tolerate-lookup-failure")
            .map(|s| {
                let verdict = if s.value {
                    Verdict::fail(
                "authentication lookup failures are tolerated: if the API server cannot be asked, \
                 requests may be treated as anonymous",
            )
                } else {
                    Verdict::pass("authentication lookup failures stop the scheduler")
                };
                verdict.from(&s.origin)
            }),
    )]
}

/// SG-104.
pub fn lookup_not_skipped(e: &Effective) -> Vec<Verdict> {
    vec![Verdict::from_result(
        e.flag_bool("authentication-skip-lookup").map(|s| {
            let verdict = if s.value {
                Verdict::fail(
                    "the authentication configuration is not looked up from the API server",
                )
            } else {
                Verdict::pass("the authentication configuration is looked up from the API server")
            };
            verdict.from(&s.origin)
        }),
    )]
}

/// SG-105.
pub fn always_allow_paths(e: &Effective) -> Vec<Verdict> {
    let setting = e.flag_list("authorization-always-allow-paths");
    let extra: Vec<&String> = setting
        .value
        .iter()
        .filter(|p| !HEALTH_PATHS.contains(&p.as_str()))
        .collect();
    let verdict = if extra.is_empty() {
        Verdict::pass(format!(
            "only health paths bypass authorization: [{}]",
            setting.value.join(", ")
        ))
    } else {
        let names: Vec<&str> = extra.iter().map(|p| p.as_str()).collect();
        Verdict::fail(format!(
            "these paths are served without authorization: {}",
            names.join(", ")
        ))
    };
    vec![verdict.from(&setting.origin)]
}

/// SG-106.
pub fn requestheader_ca(e: &Effective) -> Vec<Verdict> {
    let ca = e.flag("requestheader-client-ca-file");
    let Some(path) = ca.value.as_deref().filter(|p| !p.is_empty()) else {
        return vec![Verdict::pass("--requestheader-client-ca-file is not set")];
    };
    let names = e.flag_list("requestheader-allowed-names");
    let verdict = if names.value.is_empty() {
        Verdict::fail(format!(
            "--requestheader-client-ca-file={path} with empty --requestheader-allowed-names: any \
             certificate signed by that CA may assert any user"
        ))
        .severity(Severity::High)
    } else {
        Verdict::fail(format!(
            "--requestheader-client-ca-file={path} is set on the command line (allowed names: {})",
            names.value.join(", ")
        ))
    };
    vec![verdict.from(&ca.origin).from(&names.origin)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::Status;
    use crate::facts::Target;

    fn status(check: fn(&Effective) -> Vec<Verdict>, target: &Target) -> Status {
        check(&Effective::new(target))[0].status
    }

    #[test]
    fn authentication_kubeconfig_set_passes_and_absent_fails() {
        let set = target("--authentication-kubeconfig=/etc/kubernetes/scheduler.conf");
        assert_eq!(status(delegated_authentication, &set), Status::Pass);
        assert_eq!(status(delegated_authentication, &target("")), Status::Fail);
        assert_eq!(
            status(
                delegated_authentication,
                &target("--authentication-kubeconfig=")
            ),
            Status::Fail
        );
    }

    #[test]
    fn tolerate_lookup_failure_defaults_to_true_and_fails() {
        assert_eq!(status(lookup_failure_fatal, &target("")), Status::Fail);
        let hardened = target("--authentication-tolerate-lookup-failure=false");
        assert_eq!(status(lookup_failure_fatal, &hardened), Status::Pass);
    }

    #[test]
    fn unparseable_boolean_is_an_error_not_a_pass() {
        let odd = target("--authentication-tolerate-lookup-failure=nope");
        assert_eq!(status(lookup_failure_fatal, &odd), Status::Error);
    }

    #[test]
    fn skip_lookup_bare_flag_fails() {
        assert_eq!(status(lookup_not_skipped, &target("")), Status::Pass);
        assert_eq!(
            status(lookup_not_skipped, &target("--authentication-skip-lookup")),
            Status::Fail
        );
    }

    #[test]
    fn default_allow_paths_pass_and_debug_paths_fail() {
        assert_eq!(status(always_allow_paths, &target("")), Status::Pass);
        assert_eq!(
            status(always_allow_paths, &release(target(""), 20)),
            Status::Pass
        );
        let wide = target("--authorization-always-allow-paths=/healthz,/debug/*");
        let verdict = &always_allow_paths(&Effective::new(&wide))[0];
        assert_eq!(verdict.status, Status::Fail);
        assert!(verdict.message.contains("/debug/*"));
        let star = target("--authorization-always-allow-paths=*");
        assert_eq!(status(always_allow_paths, &star), Status::Fail);
    }

    #[test]
    fn requestheader_ca_without_allowed_names_is_high() {
        assert_eq!(status(requestheader_ca, &target("")), Status::Pass);
        let open = target("--requestheader-client-ca-file=/ca.crt");
        let verdict = &requestheader_ca(&Effective::new(&open))[0];
        assert_eq!(
            (verdict.status, verdict.severity),
            (Status::Fail, Some(Severity::High))
        );
        let named = target(
            "--requestheader-client-ca-file=/ca.crt --requestheader-allowed-names=front-proxy",
        );
        let verdict = &requestheader_ca(&Effective::new(&named))[0];
        assert_eq!((verdict.status, verdict.severity), (Status::Fail, None));
    }
}
