//! The built binary against real processes: a stand-in `kube-scheduler`
//! started with real argv, real config and kubeconfig files with real modes
//! and owners, hostile config paths, a private mount namespace, and
//! processes that exit mid-scan.

mod support;

use std::os::unix::fs::symlink;
use std::process::Command;
use std::time::Duration;
use support::*;

fn scheduler(dir: &std::path::Path, args: &[String]) -> Running {
    let binary = install_fake(dir);
    let mut command = Command::new(&binary);
    command.args(args);
    start(command, "kube-scheduler")
}

const V1_NO_PROFILING: &str = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nenableProfiling: false\n";
const V1_DEFAULTS: &str =
    "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n";

#[test]
fn kubeconfig_modes_are_judged_on_the_real_files() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("private.conf");
    let loose = dir.path().join("loose.conf");
    write(&private, KUBECONFIG, 0o600);
    write(&loose, KUBECONFIG, 0o644);

    let good = scheduler(dir.path(), &[format!("--kubeconfig={}", private.display())]);
    let bad = scheduler(
        dir.path(),
        &[format!("--authentication-kubeconfig={}", loose.display())],
    );
    let (report, _) = audit_json(&[]);

    assert_eq!(status(&report, good.pid(), "SG-102"), "pass");
    let verdict = finding(&report, bad.pid(), "SG-102");
    assert_eq!(verdict["status"], "fail");
    assert!(verdict["message"].as_str().unwrap().contains("0644"));
}

#[test]
fn kubeconfig_owned_by_another_user_fails_needs_root() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("foreign.conf");
    write(&conf, KUBECONFIG, 0o600);
    std::os::unix::fs::chown(&conf, Some(4321), Some(4321)).expect("chown needs root");

    let target = scheduler(dir.path(), &[format!("--kubeconfig={}", conf.display())]);
    let (report, _) = audit_json(&[]);
    let verdict = finding(&report, target.pid(), "SG-102");
    assert_eq!(verdict["status"], "fail");
    assert!(verdict["message"].as_str().unwrap().contains("uid 4321"));
}

#[test]
fn config_file_rules_over_the_profiling_flag() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("quiet.yaml");
    let chatty = dir.path().join("chatty.yaml");
    write(&quiet, V1_NO_PROFILING, 0o600);
    write(&chatty, V1_DEFAULTS, 0o600);

    let hardened = scheduler(dir.path(), &[format!("--config={}", quiet.display())]);
    let misleading = scheduler(
        dir.path(),
        &[
            "--profiling=false".into(),
            format!("--config={}", chatty.display()),
        ],
    );
    let (report, _) = audit_json(&[]);

    assert_eq!(status(&report, hardened.pid(), "SG-201"), "pass");
    assert_eq!(status(&report, hardened.pid(), "SG-605"), "pass");
    assert_eq!(status(&report, misleading.pid(), "SG-201"), "fail");
    assert_eq!(status(&report, misleading.pid(), "SG-203"), "warn");
}

/// Each hostile --config path ends in a clear `error` finding, and the audit
/// does not hang on it.
#[test]
fn hostile_config_paths_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.yaml");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let big = dir.path().join("big.yaml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let loop_a = dir.path().join("loop-a.yaml");
    symlink(dir.path().join("loop-b.yaml"), &loop_a).unwrap();
    symlink(&loop_a, dir.path().join("loop-b.yaml")).unwrap();
    let missing = dir.path().join("missing.yaml");

    let cases = [
        (fifo.display().to_string(), "FIFO"),
        ("/dev/zero".to_string(), "character device"),
        (big.display().to_string(), "limit"),
        (loop_a.display().to_string(), "symbolic links"),
        (missing.display().to_string(), "not found"),
        (dir.path().display().to_string(), "directory"),
    ];
    let running: Vec<(Running, &str)> = cases
        .iter()
        .map(|(path, why)| (scheduler(dir.path(), &[format!("--config={path}")]), *why))
        .collect();

    let (report, code) = audit_json(&[]);
    assert_eq!(code, 2, "an unreadable config makes the audit incomplete");
    for (process, why) in &running {
        let verdict = finding(&report, process.pid(), "SG-201");
        assert_eq!(verdict["status"], "error", "{verdict:#}");
        let message = verdict["message"].as_str().unwrap();
        assert!(message.contains(why), "{why:?} not in {message:?}");
    }
}

/// The config path exists only inside the process's own mount namespace, and
/// a symlink there points outside its root: both are resolved as the process
/// sees them.
#[test]
fn config_is_read_inside_a_private_mount_namespace_needs_root() {
    let dir = tempfile::tempdir().unwrap();
    let binary = install_fake(dir.path());
    let staged = dir.path().join("staged.yaml");
    write(&staged, V1_NO_PROFILING, 0o600);
    std::fs::write(dir.path().join("escape-target.yaml"), V1_DEFAULTS).unwrap();

    // Inside a new mount namespace: a tmpfs over /mnt holds the config (and
    // a symlink that climbs towards the host's files); nothing of it is
    // visible from the host.
    let script = format!(
        "mount -t tmpfs schedguard-test /mnt && cp {staged} /mnt/sched.yaml && \
         ln -s ../../../../{escape} /mnt/escape.yaml && exec {binary} --config=/mnt/sched.yaml",
        staged = staged.display(),
        escape = dir.path().join("escape-target.yaml").display(),
        binary = binary.display()
    );
    let mut command = Command::new("unshare");
    command.args(["--mount", "--propagation", "private", "sh", "-c", &script]);
    let isolated = start(command, "kube-scheduler");
    assert!(
        !std::path::Path::new("/mnt/sched.yaml").exists(),
        "the tmpfs leaked to the host"
    );

    let (report, _) = audit_json(&[]);
    assert_eq!(status(&report, isolated.pid(), "SG-201"), "pass");
    assert_eq!(status(&report, isolated.pid(), "SG-605"), "pass");
}

/// A chrooted process whose config is a symlink pointing outside its root:
/// the link resolves inside the root, as it does for the process.
#[test]
fn symlink_out_of_a_chroot_does_not_escape_needs_root() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    let binary = install_fake(&rootfs);
    copy_libraries(&binary, &rootfs);
    // The host-side file the link seems to name: must never be read.
    let outside = dir.path().join("outside.yaml");
    write(&outside, V1_NO_PROFILING, 0o600);
    symlink(
        format!("../../{}", outside.file_name().unwrap().to_str().unwrap()),
        rootfs.join("etc/sched.yaml"),
    )
    .unwrap();

    let mut command = Command::new("chroot");
    command
        .arg(&rootfs)
        .arg(format!(
            "/{}",
            binary.file_name().unwrap().to_str().unwrap()
        ))
        .arg("--config=/etc/sched.yaml");
    let jailed = start(command, "kube-scheduler");

    let (report, _) = audit_json(&[]);
    let verdict = finding(&report, jailed.pid(), "SG-201");
    assert_eq!(verdict["status"], "error", "{verdict:#}");
    assert!(verdict["message"]
        .as_str()
        .unwrap()
        .contains("not found inside the process's root"));
}

/// Schedulers that exit while the audit runs never crash it: each finding of
/// a vanished process is either a judgement made before it left or an error.
#[test]
fn processes_exiting_mid_scan_do_not_crash_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("s.yaml");
    write(&conf, V1_NO_PROFILING, 0o600);
    let binary = install_fake(dir.path());

    for round in 0..10 {
        let mut churn: Vec<Running> = Vec::new();
        for i in 0..20 {
            let mut command = Command::new(&binary);
            command
                .arg(format!("--config={}", conf.display()))
                .env("FAKE_EXIT_AFTER_MS", ((i * 7 + round * 3) % 40).to_string());
            churn.push(Running {
                child: command.stdin(std::process::Stdio::null()).spawn().unwrap(),
            });
        }
        let output = run(&["audit", "--format", "json"], Duration::from_secs(60));
        let code = output.status.code();
        assert!(
            matches!(code, Some(0..=3)),
            "audit exited with {code:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("JSON even under churn");
        assert!(report["findings"].is_array());
    }
}

#[test]
fn saved_facts_judge_the_same_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("s.yaml");
    write(&conf, V1_NO_PROFILING, 0o600);
    let target = scheduler(dir.path(), &[format!("--config={}", conf.display())]);
    let facts = dir.path().join("facts.json");

    let (live, _) = audit_json(&["--save-facts", facts.to_str().unwrap()]);
    drop(target);
    let (replayed, _) = audit_json(&["--from-facts", facts.to_str().unwrap()]);

    let pid = live["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|t| {
            (t["config_file"] == conf.display().to_string())
                .then(|| t["pid"].as_u64().unwrap() as u32)
        })
        .expect("the target was in the live report");
    assert_eq!(findings(&live, pid), findings(&replayed, pid));
    let saved = std::fs::read_to_string(&facts).unwrap();
    assert!(
        !saved.contains("enableProfiling: false"),
        "facts hold no file contents"
    );
}

#[test]
fn facts_of_another_schema_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts.json");
    std::fs::write(&facts, r#"{"schema":"schedguard.facts/v999"}"#).unwrap();
    let output = run(
        &["audit", "--from-facts", facts.to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("schedguard.facts/v1"));
}

#[test]
fn checks_and_explain_list_the_catalogue() {
    let output = run(&["checks", "--format", "json"], Duration::from_secs(30));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 32);
    let explain = run(&["explain", "sg-201"], Duration::from_secs(30));
    assert!(String::from_utf8_lossy(&explain.stdout).contains("enableProfiling: false"));
    assert_eq!(
        run(&["explain", "SG-999"], Duration::from_secs(30))
            .status
            .code(),
        Some(64)
    );
    assert_eq!(
        run(&["audit", "--no-such-flag"], Duration::from_secs(30))
            .status
            .code(),
        Some(64)
    );
}

fn started_as(dir: &std::path::Path, name: &str, args: &[String]) -> Running {
    let mut command = Command::new(install_fake_as(dir, name));
    command.args(args);
    start(command, name)
}

#[test]
fn scheduler_embedded_in_k3s_server_is_audited_with_k3s_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("k3s-data");
    let k3s = started_as(
        dir.path(),
        "k3s",
        &[
            "server".into(),
            format!("--data-dir={}", data.display()),
            "--kube-scheduler-arg=bind-address=0.0.0.0".into(),
        ],
    );
    let (report, _) = audit_json(&[]);

    let target = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["pid"] == k3s.pid())
        .unwrap()
        .clone();
    assert_eq!(target["kind"], "k3s-embedded");
    assert_eq!(
        status(&report, k3s.pid(), "SG-201"),
        "pass",
        "k3s turns profiling off"
    );
    assert_eq!(
        status(&report, k3s.pid(), "SG-301"),
        "fail",
        "the kube-scheduler-arg overrides the default"
    );
    let kubeconfig = finding(&report, k3s.pid(), "SG-102");
    assert!(kubeconfig["message"]
        .as_str()
        .unwrap()
        .contains("k3s-data/server/cred/scheduler.kubeconfig"));
}

#[test]
fn k3s_without_its_scheduler_is_not_a_target() {
    let dir = tempfile::tempdir().unwrap();
    let k3s = started_as(
        dir.path(),
        "k3s",
        &["server".into(), "--disable-scheduler".into()],
    );
    let (report, _) = audit_json(&[]);
    assert!(findings(&report, k3s.pid()).is_empty());
}

#[test]
fn hyperkube_scheduler_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let hyperkube = started_as(
        dir.path(),
        "hyperkube",
        &["scheduler".into(), "--profiling=false".into()],
    );
    let (report, _) = audit_json(&[]);
    let target = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["pid"] == hyperkube.pid())
        .unwrap()
        .clone();
    assert_eq!(target["kind"], "hyperkube");
    assert_eq!(status(&report, hyperkube.pid(), "SG-201"), "pass");
}

#[test]
fn apiserver_on_the_host_is_judged_for_node_restriction() {
    let dir = tempfile::tempdir().unwrap();
    let apiserver = started_as(
        dir.path(),
        "kube-apiserver",
        &[
            "--enable-admission-plugins=NodeRestriction".into(),
            "--authorization-mode=RBAC".into(),
        ],
    );
    let (report, _) = audit_json(&[]);
    assert_eq!(status(&report, apiserver.pid(), "SG-701"), "pass");
    assert_eq!(status(&report, apiserver.pid(), "SG-702"), "fail");
}

/// A kubelet names its manifest folder; the scheduler whose argv matches a
/// manifest there is a static pod: its manifest is judged (SG-801) and its
/// image tag gives the version the stand-in's build info cannot.
#[test]
fn static_pod_manifest_is_found_through_the_kubelet() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    let conf = dir.path().join("scheduler.conf");
    write(&conf, KUBECONFIG, 0o600);
    let argv = [
        "--bind-address=127.0.0.1".to_string(),
        format!("--kubeconfig={}", conf.display()),
        "--static-pod-test".into(),
    ];
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-scheduler\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-scheduler\n    image: registry.k8s.io/kube-scheduler:v1.21.14\n    command:\n    - kube-scheduler\n{}",
        argv.iter().map(|a| format!("    - {a}\n")).collect::<String>()
    );
    write(&manifests.join("kube-scheduler.yaml"), &manifest, 0o644);

    let _kubelet = started_as(
        dir.path(),
        "kubelet",
        &[format!("--pod-manifest-path={}", manifests.display())],
    );
    let scheduler = started_as(dir.path(), "kube-scheduler", &argv);
    let (report, _) = audit_json(&[]);

    let target = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["pid"] == scheduler.pid())
        .unwrap()
        .clone();
    assert_eq!(target["version"]["value"], "v1.21.14");
    assert_eq!(target["version"]["source"], "manifest-image");
    let verdict = finding(&report, scheduler.pid(), "SG-801");
    assert_eq!(verdict["status"], "fail", "{verdict:#}");
    assert!(verdict["message"].as_str().unwrap().contains("0644"));
}
