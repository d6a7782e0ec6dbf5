//! The kube-apiserver side of "disallow labeling nodes" (SG-701, SG-702).

use crate::checks::Verdict;
use crate::facts::ApiServer;

fn list(apiserver: &ApiServer, flag: &str) -> Vec<String> {
    apiserver
        .args
        .get(flag)
        .map(|f| f.list.clone())
        .unwrap_or_default()
}

/// SG-701.
pub fn node_restriction(apiserver: &ApiServer) -> Verdict {
    let enabled = list(apiserver, "enable-admission-plugins");
    let legacy = list(apiserver, "admission-control");
    let disabled = list(apiserver, "disable-admission-plugins");
    let on = |l: &[String]| l.iter().any(|p| p == "NodeRestriction");

    let verdict = if on(&disabled) {
        Verdict::fail("NodeRestriction is in --disable-admission-plugins")
    } else if on(&enabled) || on(&legacy) {
        Verdict::pass("the NodeRestriction admission plugin is enabled")
    } else {
        Verdict::fail(
            "NodeRestriction is not in --enable-admission-plugins (it is not on by default)",
        )
    };
    verdict
        .with(
            "argv",
            format!("--enable-admission-plugins={}", enabled.join(",")),
        )
        .with(
            "argv",
            format!("--disable-admission-plugins={}", disabled.join(",")),
        )
}

/// SG-702.
pub fn node_authorizer(apiserver: &ApiServer) -> Verdict {
    if let Some(file) = apiserver.args.get("authorization-config") {
        return Verdict::error(format!(
            "authorization is configured by the file {} (--authorization-config), which \
             schedguard does not read yet",
            file.value
        ));
    }
    let modes = match apiserver.args.get("authorization-mode") {
        Some(flag) => flag.list.clone(),
        None => vec!["AlwaysAllow".to_string()],
    };
    let verdict = if modes.iter().any(|m| m == "Node") {
        Verdict::pass("the Node authorizer is on")
    } else {
        Verdict::fail(format!(
            "--authorization-mode is {} without Node",
            modes.join(",")
        ))
    };
    verdict.with("argv", format!("--authorization-mode={}", modes.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::k8s::{argv, flags};

    fn apiserver(line: &str) -> ApiServer {
        let argv: Vec<String> = std::iter::once("kube-apiserver")
            .chain(line.split_whitespace())
            .map(String::from)
            .collect();
        ApiServer {
            pid: 1,
            args: argv::parse(&argv, 1, flags::KUBE_APISERVER),
            errors: Vec::new(),
        }
    }

    #[test]
    fn node_restriction_must_be_enabled_and_not_disabled() {
        assert_eq!(
            node_restriction(&apiserver("--enable-admission-plugins=NodeRestriction")).status,
            Status::Pass
        );
        assert_eq!(node_restriction(&apiserver("")).status, Status::Fail);
        let both = apiserver("--enable-admission-plugins=NodeRestriction --disable-admission-plugins=NodeRestriction");
        assert_eq!(node_restriction(&both).status, Status::Fail);
    }

    #[test]
    fn node_authorizer_must_be_in_authorization_mode() {
        assert_eq!(
            node_authorizer(&apiserver("--authorization-mode=Node,RBAC")).status,
            Status::Pass
        );
        assert_eq!(
            node_authorizer(&apiserver("--authorization-mode=RBAC")).status,
            Status::Fail
        );
        assert_eq!(node_authorizer(&apiserver("")).status, Status::Fail);
        assert_eq!(
            node_authorizer(&apiserver("--authorization-config=/a.yaml")).status,
            Status::Error
        );
    }
}
