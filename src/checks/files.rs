//! Permissions and ownership of the files the scheduler uses (SG-102, SG-404,
//! SG-605, SG-801).

use crate::checks::effective::Effective;
use crate::checks::Verdict;
use crate::facts::{FileKind, FileStat, FileUse, Observed, Target};

/// How strict a file's protection must be.
#[derive(Clone, Copy)]
enum Rule {
    /// Secrets: no permission bit outside 0o600; owner root or the process's
    /// user, group root or the process's group.
    Private,
    /// Configuration: not writable by group or others; owner root or the
    /// process's user.
    NotWritable,
    /// Static pod manifests: 0o600 or stricter, root:root.
    RootPrivate,
}

/// What is wrong with a file, as sentences; empty when nothing is.
fn problems(stat: &FileStat, rule: Rule, target: &Target) -> Vec<String> {
    let mut found = Vec::new();
    if stat.kind != FileKind::Regular {
        found.push(format!("is a {}, not a regular file", stat.kind.as_str()));
        return found;
    }
    let (uid, gid) = match target.process.ok() {
        Some(p) => (p.uid, p.gid),
        None => (0, 0),
    };

    let mode_ok = match rule {
        Rule::Private | Rule::RootPrivate => stat.mode & !0o600 == 0,
        Rule::NotWritable => stat.mode & 0o022 == 0 && stat.mode & 0o7000 == 0,
    };
    if !mode_ok {
        let wanted = match rule {
            Rule::NotWritable => "not writable by group or others",
            _ => "0600 or stricter",
        };
        found.push(format!("has mode {:04o} (wanted {wanted})", stat.mode));
    }

    let owner_ok = match rule {
        Rule::RootPrivate => stat.uid == 0,
        _ => stat.uid == 0 || stat.uid == uid,
    };
    if !owner_ok {
        found.push(format!("is owned by {}", owner_name(stat)));
    }
    let group_ok = match rule {
        Rule::RootPrivate => stat.gid == 0,
        Rule::Private => stat.gid == 0 || stat.gid == gid,
        Rule::NotWritable => true,
    };
    if !group_ok {
        found.push(format!("has group {}", group_name(stat)));
    }

    // A directory above the file lets whoever may write it replace the
    // file.
    found.extend(stat.replaceable_through_parents(uid));
    found
}

fn owner_name(stat: &FileStat) -> String {
    match &stat.owner {
        Some(name) => format!("{name} (uid {})", stat.uid),
        None => format!("uid {}", stat.uid),
    }
}

fn group_name(stat: &FileStat) -> String {
    match &stat.group {
        Some(name) => format!("{name} (gid {})", stat.gid),
        None => format!("gid {}", stat.gid),
    }
}

fn describe(stat: &FileStat) -> String {
    format!(
        "{} mode {:04o} owner {} group {}",
        stat.kind.as_str(),
        stat.mode,
        owner_name(stat),
        group_name(stat)
    )
}

/// Judges each file once, even when several flags name it; one verdict for
/// all of them.
fn judge(target: &Target, uses: &[(String, String)], rule: Rule, what: &str) -> Verdict {
    let mut paths: Vec<(&str, Vec<&str>)> = Vec::new();
    for (role, path) in uses {
        match paths.iter_mut().find(|(p, _)| p == path) {
            Some((_, roles)) => roles.push(role),
            None => paths.push((path, vec![role])),
        }
    }

    let mut failures = Vec::new();
    let mut errors = Vec::new();
    let mut evidence = Vec::new();
    for (path, roles) in &paths {
        let roles = roles.join(", ");
        let Some(FileUse { stat, .. }) = target.files.iter().find(|f| f.path == *path) else {
            errors.push(format!("{path} ({roles}) was not examined"));
            continue;
        };
        match stat {
            Observed::Error(reason) => errors.push(format!("{path} ({roles}): {reason}")),
            Observed::Ok(stat) => {
                evidence.push(format!("{path} ({roles}): {}", describe(stat)));
                for problem in problems(stat, rule, target) {
                    failures.push(format!("{path} ({roles}) {problem}"));
                }
            }
        }
    }

    let verdict = if !failures.is_empty() {
        Verdict::fail(failures.join("; "))
    } else if !errors.is_empty() {
        Verdict::error(format!("cannot examine {what}: {}", errors.join("; ")))
    } else {
        Verdict::pass(format!(
            "{what} {} protected",
            if paths.len() == 1 { "is" } else { "are" }
        ))
    };
    evidence
        .into_iter()
        .fold(verdict, |v, detail| v.with("file", detail))
}

/// SG-102.
pub fn kubeconfigs_private(e: &Effective) -> Vec<Verdict> {
    let uses = match e.kubeconfigs() {
        Ok(uses) => uses,
        Err(reason) => return vec![Verdict::error(reason)],
    };
    if uses.is_empty() {
        return vec![Verdict::skip(
            "the scheduler uses no kubeconfig file (in-cluster configuration)",
        )];
    }
    vec![judge(
        e.target,
        &uses,
        Rule::Private,
        "the scheduler's kubeconfig files",
    )]
}

/// SG-404.
pub fn serving_certificate(e: &Effective) -> Vec<Verdict> {
    let cert = e.flag("tls-cert-file").value.filter(|p| !p.is_empty());
    let key = e
        .flag("tls-private-key-file")
        .value
        .filter(|p| !p.is_empty());
    let verdict = match (cert, key) {
        (Some(cert), Some(key)) => {
            let uses = vec![("--tls-private-key-file".to_string(), key)];
            let verdict = judge(e.target, &uses, Rule::Private, "the serving key");
            verdict.with("argv", format!("--tls-cert-file={cert}"))
        }
        _ => Verdict::fail(
            "--tls-cert-file and --tls-private-key-file are not both set: the scheduler serves a \
             self-signed certificate generated at start",
        ),
    };
    vec![match crate::checks::tls::served_session(e) {
        Some(session) => verdict.with("probe", session),
        None => verdict,
    }]
}

/// SG-605.
pub fn config_protected(e: &Effective) -> Vec<Verdict> {
    let Some(config) = &e.target.config else {
        return vec![Verdict::skip("no --config file is given")];
    };
    let uses = vec![("--config".to_string(), config.path.clone())];
    vec![judge(
        e.target,
        &uses,
        Rule::NotWritable,
        "the --config file",
    )]
}

/// SG-801.
pub fn manifest_private(e: &Effective) -> Vec<Verdict> {
    let Some(pod) = &e.target.static_pod else {
        return vec![Verdict::skip(
            "the scheduler does not run from a static pod manifest found on this host",
        )];
    };
    let uses = vec![("static pod manifest".to_string(), pod.manifest.clone())];
    vec![judge(
        e.target,
        &uses,
        Rule::RootPrivate,
        "the static pod manifest",
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::Status;
    use crate::facts::{DirStat, StaticPod};

    const CONF: &str = "/etc/kubernetes/scheduler.conf";

    fn kubeadm(stat: Observed<FileStat>) -> Target {
        let t = target(&format!(
            "--kubeconfig={CONF} --authentication-kubeconfig={CONF}"
        ));
        let t = with_file(t, "--kubeconfig", CONF, stat.clone());
        with_file(t, "--authentication-kubeconfig", CONF, stat)
    }

    fn status(check: fn(&Effective) -> Vec<Verdict>, target: &Target) -> Status {
        check(&Effective::new(target))[0].status
    }

    #[test]
    fn kubeconfig_0600_root_passes() {
        assert_eq!(
            status(kubeconfigs_private, &kubeadm(file(0o600, 0, 0))),
            Status::Pass
        );
        assert_eq!(
            status(kubeconfigs_private, &kubeadm(file(0o400, 0, 0))),
            Status::Pass
        );
    }

    #[test]
    fn mode_is_a_bitmask_test_not_a_numeric_compare() {
        // 0o500 is numerically below 0o600 but grants execute.
        assert_eq!(
            status(kubeconfigs_private, &kubeadm(file(0o500, 0, 0))),
            Status::Fail
        );
        assert_eq!(
            status(kubeconfigs_private, &kubeadm(file(0o640, 0, 0))),
            Status::Fail
        );
    }

    #[test]
    fn foreign_owner_fails_and_process_owner_passes() {
        assert_eq!(
            status(kubeconfigs_private, &kubeadm(file(0o600, 1000, 0))),
            Status::Fail
        );
        let mut t = kubeadm(file(0o600, 1000, 1000));
        if let Observed::Ok(p) = &mut t.process {
            p.uid = 1000;
            p.gid = 1000;
        }
        assert_eq!(status(kubeconfigs_private, &t), Status::Pass);
    }

    #[test]
    fn writable_parent_directory_fails() {
        let mut stat = file(0o600, 0, 0);
        if let Observed::Ok(s) = &mut stat {
            s.parents.push(DirStat {
                path: "/etc".into(),
                mode: 0o777,
                uid: 0,
                gid: 0,
            });
        }
        let verdict = &kubeconfigs_private(&Effective::new(&kubeadm(stat)))[0];
        assert_eq!(verdict.status, Status::Fail);
        assert!(verdict.message.contains("/etc"));
    }

    #[test]
    fn sticky_world_writable_parent_like_tmp_is_accepted() {
        let mut stat = file(0o600, 0, 0);
        if let Observed::Ok(s) = &mut stat {
            s.parents.push(DirStat {
                path: "/tmp".into(),
                mode: 0o1777,
                uid: 0,
                gid: 0,
            });
        }
        assert_eq!(status(kubeconfigs_private, &kubeadm(stat)), Status::Pass);
    }

    #[test]
    fn parent_owned_by_another_user_fails() {
        let mut stat = file(0o600, 0, 0);
        if let Observed::Ok(s) = &mut stat {
            s.parents.push(DirStat {
                path: "/home/alice".into(),
                mode: 0o700,
                uid: 1000,
                gid: 1000,
            });
        }
        assert_eq!(status(kubeconfigs_private, &kubeadm(stat)), Status::Fail);
    }

    #[test]
    fn unreadable_kubeconfig_is_an_error() {
        let t = kubeadm(Observed::Error("permission denied".into()));
        assert_eq!(status(kubeconfigs_private, &t), Status::Error);
    }

    #[test]
    fn kubeconfig_flag_ignored_with_config_is_not_judged() {
        let yaml = format!("{V1}clientConnection:\n  kubeconfig: /k\n");
        let t = with_config(target("--config=x --kubeconfig=/bad"), &yaml);
        let t = with_file(t, "--kubeconfig", "/bad", file(0o666, 0, 0));
        let t = with_file(t, "clientConnection.kubeconfig", "/k", file(0o600, 0, 0));
        assert_eq!(status(kubeconfigs_private, &t), Status::Pass);
    }

    #[test]
    fn no_kubeconfig_is_skipped() {
        assert_eq!(status(kubeconfigs_private, &target("")), Status::Skip);
    }

    #[test]
    fn fifo_in_place_of_a_kubeconfig_fails() {
        let mut stat = file(0o600, 0, 0);
        if let Observed::Ok(s) = &mut stat {
            s.kind = FileKind::Fifo;
        }
        assert_eq!(status(kubeconfigs_private, &kubeadm(stat)), Status::Fail);
    }

    #[test]
    fn serving_certificate_needs_both_flags_and_a_private_key() {
        assert_eq!(status(serving_certificate, &target("")), Status::Fail);
        let t = target("--tls-cert-file=/c --tls-private-key-file=/k");
        let good = with_file(t.clone(), "--tls-private-key-file", "/k", file(0o600, 0, 0));
        assert_eq!(status(serving_certificate, &good), Status::Pass);
        let bad = with_file(t, "--tls-private-key-file", "/k", file(0o644, 0, 0));
        assert_eq!(status(serving_certificate, &bad), Status::Fail);
    }

    #[test]
    fn config_file_may_be_world_readable_but_not_writable() {
        let t = with_config(target("--config=/etc/kubernetes/sched.yaml"), V1);
        let readable = with_file(
            t.clone(),
            "--config",
            "/etc/kubernetes/sched.yaml",
            file(0o644, 0, 0),
        );
        assert_eq!(status(config_protected, &readable), Status::Pass);
        let writable = with_file(
            t,
            "--config",
            "/etc/kubernetes/sched.yaml",
            file(0o664, 0, 0),
        );
        assert_eq!(status(config_protected, &writable), Status::Fail);
        assert_eq!(status(config_protected, &target("")), Status::Skip);
    }

    #[test]
    fn manifest_must_be_root_owned_and_private() {
        let mut t = target("");
        t.static_pod = Some(StaticPod {
            manifest: "/m.yaml".into(),
            name: None,
            image: None,
        });
        let good = with_file(
            t.clone(),
            "static pod manifest",
            "/m.yaml",
            file(0o600, 0, 0),
        );
        assert_eq!(status(manifest_private, &good), Status::Pass);
        let loose = with_file(t, "static pod manifest", "/m.yaml", file(0o644, 0, 0));
        assert_eq!(status(manifest_private, &loose), Status::Fail);
        assert_eq!(status(manifest_private, &target("")), Status::Skip);
    }
}
