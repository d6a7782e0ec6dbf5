//! Cluster mode (`audit --cluster`, SG-703 and SG-704) against the REAL
//! kube-apiserver v1.20.2 that ../shared/real-scheduler/real-scheduler.sh
//! starts in full mode (etcd, kube-apiserver, kube-scheduler) inside a
//! network namespace of its own. Objects are created through the API with
//! the admin credentials the script writes; pods stay Pending since no
//! kubelet runs. The API server is also the referee: the tests check that
//! it really lets (or does not let) the identities patch Nodes the way
//! schedguard says.
//!
//! Without the real binaries these tests print a notice and pass, unless
//! SCHEDGUARD_REQUIRE_REAL=1 (as in CI). They need root (network
//! namespaces). The two tests at the end need neither: they use a local
//! socket that never answers, or nothing at all.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::kubeapi::{self, Request};
use support::realk8s::RealCluster;

/// One real control plane at a time: each takes most of a core to start.
static ONE_CLUSTER: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_CLUSTER.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs schedguard inside the cluster's network namespace (where the API
/// server listens), killing it by pid if it hangs.
fn run_in(cluster: &RealCluster, args: &[&str], limit: Duration) -> Output {
    let mut command = kubeapi::in_netns(cluster, env!("CARGO_BIN_EXE_schedguard"));
    command.args(args);
    support::run_command(command, limit)
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `audit --cluster --format json --no-network` with this kubeconfig.
fn cluster_audit(cluster: &RealCluster, kubeconfig: &Path, extra: &[&str]) -> (Value, i32) {
    let kubeconfig = kubeapi::arg(kubeconfig);
    let mut args = vec![
        "audit",
        "--format",
        "json",
        "--no-network",
        "--cluster",
        "--kubeconfig",
        &kubeconfig,
    ];
    args.extend_from_slice(extra);
    let output = run_in(cluster, &args, Duration::from_secs(120));
    (json(&output), output.status.code().unwrap_or(-1))
}

/// The finding of a cluster-mode check (it has no target).
fn cluster_finding(report: &Value, check: &str) -> Value {
    let all: Vec<&Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == check && f["target"].is_null())
        .collect();
    assert_eq!(all.len(), 1, "one {check} finding in {report:#}");
    all[0].clone()
}

fn evidence(finding: &Value) -> Vec<String> {
    finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect()
}

fn message(finding: &Value) -> String {
    finding["message"].as_str().unwrap().to_string()
}

/// Sends one request as `who` until it answers `want` (RBAC changes reach
/// the authorizer's cache within moments), and returns the last answer.
fn answers(cluster: &RealCluster, who: &kubeapi::Identity, request: Request, want: u16) -> u16 {
    let mut last = 0;
    for _ in 0..150 {
        let (code, _) = kubeapi::send_all(cluster, who, std::slice::from_ref(&request))
            .pop()
            .unwrap();
        last = code;
        if code == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    last
}

const SCHEDULER_CONFIG: &str = "apiVersion: kubescheduler.config.k8s.io/v1beta1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: RUN/scheduler.kubeconfig
leaderElection:
  leaderElect: true
profiles:
- schedulerName: default-scheduler
- schedulerName: sg-batch
";

const PATCH_NODES: &str = r#"{"apiGroups":[""],"resources":["nodes"],"verbs":["patch"]}"#;

fn node(name: &str) -> Request {
    // Tainted so that the real scheduler binds no pod to it.
    Request::post(
        "/api/v1/nodes",
        format!(
            r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"{name}"}},"spec":{{"taints":[{{"key":"sg.example/test","effect":"NoSchedule"}}]}}}}"#
        ),
    )
}

fn label_patch(label: &str) -> String {
    format!(r#"{{"metadata":{{"labels":{{"{label}":"yes"}}}}}}"#)
}

/// Every case of the issue in one real cluster: a ClusterRole granting
/// patch on nodes bound to a user (fail), Role-level grants that must not
/// count, an aggregated role, a wildcard role, a resourceNames grant, a
/// status-only grant; pods for the default scheduler, for a profile's name,
/// for a name declared with --known-scheduler and for a name nothing serves.
#[test]
fn cluster_mode_judges_real_rbac_and_pending_pods_needs_root() {
    let _one = one_at_a_time();
    let Some(cluster) =
        RealCluster::start_with("cluster", "delegated", "--config=@RUN@/sched.yaml", |run| {
            let config = SCHEDULER_CONFIG.replace("RUN", &run.display().to_string());
            std::fs::write(run.join("sched.yaml"), config).unwrap();
        })
    else {
        return;
    };

    let rbac = "/apis/rbac.authorization.k8s.io/v1";
    kubeapi::create_all(
        &cluster,
        &[
            kubeapi::namespace("sg-team"),
            kubeapi::namespace("sg-pods"),
            kubeapi::service_account("sg-team", "deployer"),
            kubeapi::service_account("sg-pods", "default"),
            // A ClusterRole granting patch on nodes, bound to a user.
            kubeapi::cluster_role("sg-node-patcher", PATCH_NODES),
            kubeapi::binding(
                None,
                "sg-alice",
                "ClusterRole",
                "sg-node-patcher",
                &kubeapi::user("alice"),
            ),
            // Role-level grants: a Role, and a RoleBinding to the ClusterRole.
            Request::post(
                format!("{rbac}/namespaces/sg-team/roles"),
                format!(
                    r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{{"name":"sg-ns-node-patcher","namespace":"sg-team"}},"rules":[{PATCH_NODES}]}}"#
                ),
            ),
            kubeapi::binding(
                Some("sg-team"),
                "sg-bob",
                "Role",
                "sg-ns-node-patcher",
                &kubeapi::user("bob"),
            ),
            kubeapi::binding(
                Some("sg-team"),
                "sg-carol",
                "ClusterRole",
                "sg-node-patcher",
                &kubeapi::user("carol"),
            ),
            // An aggregated role: no rules of its own (no controller runs to
            // fill them), a labelled role that holds update on nodes.
            Request::post(
                format!("{rbac}/clusterroles"),
                r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"sg-node-labeler","labels":{"sg.example/aggregate-to-node-ops":"true"}},"rules":[{"apiGroups":[""],"resources":["nodes"],"verbs":["update"]}]}"#,
            ),
            Request::post(
                format!("{rbac}/clusterroles"),
                r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"sg-node-ops"},"aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"sg.example/aggregate-to-node-ops":"true"}}]},"rules":[]}"#,
            ),
            kubeapi::binding(
                None,
                "sg-ops",
                "ClusterRole",
                "sg-node-ops",
                &kubeapi::group("sg-operators"),
            ),
            // A wildcard role for a service account.
            kubeapi::cluster_role(
                "sg-wildcard",
                r#"{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}"#,
            ),
            kubeapi::binding(
                None,
                "sg-deployer",
                "ClusterRole",
                "sg-wildcard",
                &kubeapi::service_account_subject("sg-team", "deployer"),
            ),
            // One named node; the status subresource only; read-only.
            kubeapi::cluster_role(
                "sg-one-node",
                r#"{"apiGroups":[""],"resources":["nodes"],"resourceNames":["worker-1"],"verbs":["patch"]}"#,
            ),
            kubeapi::binding(
                None,
                "sg-dave",
                "ClusterRole",
                "sg-one-node",
                &kubeapi::user("dave"),
            ),
            kubeapi::cluster_role(
                "sg-node-status",
                r#"{"apiGroups":[""],"resources":["nodes/status"],"verbs":["patch"]}"#,
            ),
            kubeapi::binding(
                None,
                "sg-erin",
                "ClusterRole",
                "sg-node-status",
                &kubeapi::user("erin"),
            ),
            kubeapi::cluster_role(
                "sg-node-reader",
                r#"{"apiGroups":[""],"resources":["nodes"],"verbs":["get","list","watch"]}"#,
            ),
            kubeapi::binding(
                None,
                "sg-frank",
                "ClusterRole",
                "sg-node-reader",
                &kubeapi::user("frank"),
            ),
            node("worker-1"),
            node("worker-2"),
            kubeapi::pod("sg-pods", "default-pod", None),
            kubeapi::pod("sg-pods", "batch-pod", Some("sg-batch")),
            kubeapi::pod("sg-pods", "elsewhere-pod", Some("sg-elsewhere")),
            kubeapi::pod("sg-pods", "lost-pod", Some("sg-nobody-runs-this")),
        ],
    );

    // The referee: what the real authorizer lets these identities do.
    let as_user = |name: &str| kubeapi::sign_user(&cluster, name, None);
    let patch = |path: &str| Request::patch(path, label_patch("sg.example/attract"));
    let (erin, dave, bob, carol, frank) = (
        as_user("erin"),
        as_user("dave"),
        as_user("bob"),
        as_user("carol"),
        as_user("frank"),
    );
    assert_eq!(
        answers(&cluster, &erin, patch("/api/v1/nodes/worker-1/status"), 200),
        200
    );
    assert_eq!(
        answers(&cluster, &dave, patch("/api/v1/nodes/worker-1"), 200),
        200
    );
    assert_eq!(
        answers(&cluster, &dave, patch("/api/v1/nodes/worker-2"), 403),
        403
    );
    for who in [&bob, &carol, &frank] {
        assert_eq!(
            answers(&cluster, who, patch("/api/v1/nodes/worker-2"), 403),
            403
        );
    }
    // A patch of the status subresource did change the Node's labels.
    let (_, node) = kubeapi::send_all(
        &cluster,
        &kubeapi::admin(&cluster),
        &[Request::get("/api/v1/nodes/worker-1")],
    )
    .pop()
    .unwrap();
    assert!(
        node.windows(18).any(|w| w == b"sg.example/attract"),
        "the status patch relabelled worker-1"
    );

    let (report, code) = cluster_audit(
        &cluster,
        &cluster.admin_kubeconfig(),
        &["--known-scheduler", "sg-elsewhere"],
    );
    // (The exit code also reflects the other schedulers of this machine.)
    assert_ne!(code, 0, "a failing finding: {report:#}");
    assert_eq!(report["cluster"]["server_version"], "v1.20.2");
    assert!(report["cluster"]["credentials"]
        .as_str()
        .unwrap()
        .contains("O=system:masters,CN=kubernetes-admin"));

    // SG-703: exactly the subjects outside the built-in identities.
    let nodes = cluster_finding(&report, "SG-703");
    assert_eq!(nodes["status"], "fail", "{nodes:#}");
    let text = message(&nodes);
    for subject in [
        "User alice",
        "Group sg-operators",
        "ServiceAccount sg-team/deployer",
        "User dave",
        "User erin",
    ] {
        assert!(text.contains(subject), "{subject} in {text}");
    }
    for not_counted in ["bob", "carol", "frank", "system:", "kube-system"] {
        assert!(!text.contains(not_counted), "{not_counted} not in {text}");
    }
    assert!(text.starts_with("5 subjects outside"), "{text}");
    let lines = evidence(&nodes);
    let line = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no evidence with {needle:?}: {lines:#?}"))
            .clone()
    };
    assert_eq!(
        line("User alice may"),
        "User alice may patch on nodes: ClusterRoleBinding sg-alice -> ClusterRole \
         sg-node-patcher, rule {verbs: [patch], apiGroups: [\"\"], resources: [nodes]}"
    );
    assert!(line("Group sg-operators may").contains(
        "update on nodes: ClusterRoleBinding sg-ops -> ClusterRole sg-node-ops, rule {verbs: \
         [update], apiGroups: [\"\"], resources: [nodes]} aggregated from ClusterRole sg-node-labeler"
    ));
    assert!(line("ServiceAccount sg-team/deployer may")
        .contains("patch, update on nodes; patch, update on nodes/status"));
    assert!(line("User dave may").contains("only the named nodes"));
    assert!(line("User erin may").contains("status subresource can change a Node's labels"));
    assert!(line("not counted: User bob")
        .contains("RoleBinding sg-team/sg-bob -> Role sg-ns-node-patcher"));
    assert!(line("not counted: User carol")
        .contains("RoleBinding sg-team/sg-carol -> ClusterRole sg-node-patcher"));
    assert!(line("allowed: ServiceAccount kube-system/node-controller").contains("built-in"));
    assert!(line("allowed: Group system:masters").contains("before RBAC"));
    assert!(!lines.iter().any(|l| l.contains("frank")), "{lines:#?}");

    // SG-704: only the pod whose scheduler nothing serves. (Another
    // kube-scheduler on the same machine whose profiles cannot be read, such
    // as a stand-in of a concurrent test run, rightly turns this into an
    // error: CI runs nothing else.)
    let pods = cluster_finding(&report, "SG-704");
    assert_eq!(pods["status"], "warn", "{pods:#}");
    assert_eq!(
        message(&pods),
        "1 pod waits for a scheduler that no profile serves: \"sg-nobody-runs-this\" (1); \
         they stay Pending with no events"
    );
    let lines = evidence(&pods);
    let scheduler = cluster.scheduler_pid();
    assert!(
        lines[0].contains(&format!("sg-batch (by kube-scheduler pid {scheduler})")),
        "{lines:#?}"
    );
    assert!(
        lines[0].contains("sg-elsewhere (by --known-scheduler)"),
        "{lines:#?}"
    );
    let listed: Vec<&String> = lines.iter().filter(|l| l.starts_with("sg-pods/")).collect();
    assert_eq!(listed.len(), 1, "{lines:#?}");
    assert!(
        listed[0].starts_with(
            "sg-pods/lost-pod: spec.schedulerName \"sg-nobody-runs-this\", Pending for "
        ),
        "{lines:#?}"
    );

    // The text report shows the same under the API server's heading.
    let kubeconfig = kubeapi::arg(&cluster.admin_kubeconfig());
    let text = run_in(
        &cluster,
        &[
            "audit",
            "--no-network",
            "--color",
            "never",
            "--cluster",
            "--kubeconfig",
            &kubeconfig,
        ],
        Duration::from_secs(120),
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("cluster https://127.0.0.1:6443 v1.20.2  as client certificate"),
        "{text}"
    );
    assert!(text.contains("FAIL  SG-703 [high]"), "{text}");
    assert!(
        text.contains("evidence (rbac): User alice may patch on nodes"),
        "{text}"
    );
    assert!(text.contains("evidence (pod): sg-pods/lost-pod"), "{text}");
}

/// Writes `count` pods for a scheduler nothing serves.
fn many_pods(cluster: &RealCluster, namespace: &str, count: usize) {
    let mut requests = vec![
        kubeapi::namespace(namespace),
        kubeapi::service_account(namespace, "default"),
    ];
    requests.extend(
        (0..count).map(|i| kubeapi::pod(namespace, &format!("p{i:03}"), Some("sg-nobody"))),
    );
    kubeapi::create_all(cluster, &requests);
}

/// The pods listing of a saved facts snapshot.
fn saved_pods(facts: &Path) -> Value {
    let facts: Value = serde_json::from_slice(&std::fs::read(facts).unwrap()).unwrap();
    facts["cluster"]["unscheduled_pods"]["ok"].clone()
}

/// Bumps etcd's revision and compacts to it, again and again, until told
/// to stop: continue tokens of lists in progress expire (410 Gone).
fn compact_continually(
    cluster: &RealCluster,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u32> {
    let netns = cluster.netns().to_string();
    std::thread::spawn(move || {
        let mut compactions = 0;
        while !stop.load(Ordering::SeqCst) {
            let put = Command::new("ip")
                .args(["netns", "exec", &netns, "curl", "-sS", "-X", "POST"])
                .args([
                    "http://127.0.0.1:2379/v3/kv/put",
                    "-d",
                    r#"{"key":"c2ctdGljaw==","value":"MQ=="}"#,
                ])
                .output()
                .expect("curl runs");
            let answer: Value = serde_json::from_slice(&put.stdout).unwrap_or(Value::Null);
            let Some(revision) = answer["header"]["revision"].as_str() else {
                continue;
            };
            let body = format!(r#"{{"revision":"{revision}","physical":true}}"#);
            let compacted = Command::new("ip")
                .args(["netns", "exec", &netns, "curl", "-sS", "-X", "POST"])
                .args(["http://127.0.0.1:2379/v3/kv/compaction", "-d", &body])
                .output()
                .expect("curl runs");
            if compacted.status.success() {
                compactions += 1;
            }
        }
        compactions
    })
}

/// More pods than a page holds are all read, page by page; and when etcd
/// compacts away the snapshot a continue token points at (410 Gone), the
/// list is read again and still complete.
#[test]
fn pagination_reads_every_page_and_survives_expired_continue_tokens_needs_root() {
    let _one = one_at_a_time();
    let Some(cluster) = RealCluster::start("pages", "delegated", "") else {
        return;
    };
    many_pods(&cluster, "sg-many", 150);
    let facts = cluster.run_dir().join("facts.json");
    let facts_arg = kubeapi::arg(&facts);
    let kubeconfig = cluster.admin_kubeconfig();

    let (report, _) = cluster_audit(&cluster, &kubeconfig, &["--save-facts", &facts_arg]);
    let one_page = saved_pods(&facts);
    assert_eq!(one_page["pods"].as_array().unwrap().len(), 150);
    assert_eq!(one_page["pages"], 1);
    let pods = cluster_finding(&report, "SG-704");
    assert!(message(&pods).starts_with("150 pods wait"), "{pods:#}");
    assert_eq!(
        evidence(&pods)
            .iter()
            .filter(|l| l.starts_with("sg-many/"))
            .count(),
        50
    );
    assert!(evidence(&pods)
        .iter()
        .any(|l| l.starts_with("and 100 more pods")));

    let (report, _) = cluster_audit(
        &cluster,
        &kubeconfig,
        &["--save-facts", &facts_arg, "--cluster-page-size", "7"],
    );
    let paged = saved_pods(&facts);
    assert_eq!(paged["pods"].as_array().unwrap().len(), 150);
    assert_eq!(paged["pages"], 22, "150 pods, 7 a page");
    assert!(paged.get("restarted").is_none());
    assert!(message(&cluster_finding(&report, "SG-704")).starts_with("150 pods wait"));

    // Compaction during a one-pod-a-page listing expires its continue
    // token; the pager starts over in one request, as client-go's does.
    let mut restarted = false;
    for attempt in 1..=5 {
        let stop = Arc::new(AtomicBool::new(false));
        let compactor = compact_continually(&cluster, stop.clone());
        let (report, _) = cluster_audit(
            &cluster,
            &kubeconfig,
            &["--save-facts", &facts_arg, "--cluster-page-size", "1"],
        );
        stop.store(true, Ordering::SeqCst);
        assert!(compactor.join().unwrap() > 0, "etcd compacted");
        let listing = saved_pods(&facts);
        assert_eq!(
            listing["pods"].as_array().unwrap().len(),
            150,
            "{listing:#}"
        );
        let finding = cluster_finding(&report, "SG-704");
        assert_eq!(finding["status"], "warn", "{finding:#}");
        if listing["restarted"] == true {
            assert!(evidence(&finding)
                .iter()
                .any(|l| l.contains("a continue token expired and the list was read again")));
            eprintln!("a continue token expired in attempt {attempt}");
            restarted = true;
            break;
        }
    }
    assert!(
        restarted,
        "no listing met an expired continue token in five tries"
    );
}

/// Permissions: the shipped read-only ClusterRole is enough; an identity
/// that lacks a list permission gets an error finding naming it, per check
/// (not a crash, not a pass); a bearer token from a tokenFile works; an
/// exec plugin is refused and never run.
#[test]
fn identities_without_list_permission_get_error_findings_needs_root() {
    let _one = one_at_a_time();
    let Some(cluster) = RealCluster::start("perms", "delegated", "") else {
        return;
    };

    // The shipped ClusterRole and its binding, applied as they are.
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/kubernetes/schedguard-reader.yaml"),
    )
    .unwrap();
    let documents: Vec<Request> = manifest
        .split("\n---\n")
        .filter(|d| d.contains("kind:"))
        .map(|d| {
            let plural = if d.contains("kind: ClusterRoleBinding") {
                "clusterrolebindings"
            } else {
                "clusterroles"
            };
            Request {
                content_type: "application/yaml",
                ..Request::post(format!("/apis/rbac.authorization.k8s.io/v1/{plural}"), d)
            }
        })
        .collect();
    assert_eq!(documents.len(), 2, "a ClusterRole and a ClusterRoleBinding");
    kubeapi::create_all(&cluster, &documents);
    let reader = kubeapi::sign_user(&cluster, "schedguard", None);
    let reader_config = kubeapi::kubeconfig_for(&cluster, "schedguard", &reader);
    let list_pods = Request::get("/api/v1/pods?limit=1");
    assert_eq!(answers(&cluster, &reader, list_pods, 200), 200);
    let (report, _) = cluster_audit(&cluster, &reader_config, &[]);
    assert_eq!(
        cluster_finding(&report, "SG-703")["status"],
        "pass",
        "{report:#}"
    );
    assert_eq!(
        cluster_finding(&report, "SG-704")["status"],
        "pass",
        "{report:#}"
    );

    // Some permissions, not all: each check says what it misses.
    kubeapi::create_all(
        &cluster,
        &[
            kubeapi::cluster_role(
                "sg-partial",
                r#"{"apiGroups":[""],"resources":["pods"],"verbs":["list"]},{"apiGroups":["rbac.authorization.k8s.io"],"resources":["clusterroles"],"verbs":["list"]}"#,
            ),
            kubeapi::binding(
                None,
                "sg-partial",
                "ClusterRole",
                "sg-partial",
                &kubeapi::user("sg-partial"),
            ),
            kubeapi::namespace("sg-ns"),
            kubeapi::service_account("sg-ns", "sg-token"),
        ],
    );
    let partial = kubeapi::sign_user(&cluster, "sg-partial", None);
    assert_eq!(
        answers(
            &cluster,
            &partial,
            Request::get("/api/v1/pods?limit=1"),
            200
        ),
        200
    );
    let (report, code) = cluster_audit(
        &cluster,
        &kubeapi::kubeconfig_for(&cluster, "sg-partial", &partial),
        &[],
    );
    assert_eq!(code, 2, "an error finding makes the audit incomplete");
    let nodes = cluster_finding(&report, "SG-703");
    assert_eq!(nodes["status"], "error", "{nodes:#}");
    let text = message(&nodes);
    assert!(
        text.starts_with("cannot list clusterrolebindings.rbac.authorization.k8s.io at the cluster scope: 403 Forbidden"),
        "{text}"
    );
    assert!(
        text.contains("User \"sg-partial\" cannot list resource \"clusterrolebindings\""),
        "{text}"
    );
    assert!(
        text.contains("packaging/kubernetes/schedguard-reader.yaml"),
        "{text}"
    );
    assert_eq!(cluster_finding(&report, "SG-704")["status"], "pass");

    // A service account's bearer token (TokenRequest), from a tokenFile;
    // it may list nothing.
    let (code, body) = kubeapi::send_all(
        &cluster,
        &kubeapi::admin(&cluster),
        &[Request {
            // A TokenRequest has no maps: its JSON answer is safe to ask for.
            accept: "application/json",
            ..Request::post(
                "/api/v1/namespaces/sg-ns/serviceaccounts/sg-token/token",
                r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}"#,
            )
        }],
    )
    .pop()
    .unwrap();
    assert_eq!(code, 201);
    let token = extract_token(&body);
    let token_file = cluster.run_dir().join("sg-token");
    support::write(&token_file, &token, 0o600);
    let token_config = kubeapi::kubeconfig(
        &cluster,
        "sg-token",
        &format!("    tokenFile: {}\n", token_file.display()),
    );
    let (report, code) = cluster_audit(&cluster, &token_config, &[]);
    assert_eq!(code, 2);
    assert!(report["cluster"]["credentials"]
        .as_str()
        .unwrap()
        .starts_with("bearer token (tokenFile "));
    for (check, permission) in [
        ("SG-703", "list clusterroles.rbac.authorization.k8s.io"),
        ("SG-704", "list pods"),
    ] {
        let f = cluster_finding(&report, check);
        assert_eq!(f["status"], "error", "{f:#}");
        let text = message(&f);
        assert!(
            text.starts_with(&format!("cannot {permission} at the cluster scope: 403")),
            "{text}"
        );
        assert!(
            text.contains("system:serviceaccount:sg-ns:sg-token"),
            "{text}"
        );
    }

    // An exec plugin is refused, and never run.
    let marker = cluster.run_dir().join("plugin-ran");
    let plugin = cluster.run_dir().join("plugin.sh");
    support::write(
        &plugin,
        &format!("#!/bin/sh\ntouch {}\n", marker.display()),
        0o755,
    );
    let exec_config = kubeapi::kubeconfig(
        &cluster,
        "sg-exec",
        &format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {}\n",
            plugin.display()
        ),
    );
    let (report, code) = cluster_audit(&cluster, &exec_config, &[]);
    assert_eq!(code, 2);
    let f = cluster_finding(&report, "SG-703");
    assert_eq!(f["status"], "error");
    assert!(message(&f).contains("never executes programs"), "{f:#}");
    assert!(!marker.exists(), "the exec plugin ran");
}

/// The `status.token` of a TokenRequest answer (JSON).
fn extract_token(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "TokenRequest answer ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    value["status"]["token"]
        .as_str()
        .expect("a token")
        .to_string()
}

/// True when `pid` has a TCP connection to port 6443 established (the
/// table of its network namespace, matched by the socket inodes it holds).
fn connected_to_api_server(pid: u32) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    let inodes: Vec<String> = fds
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.display().to_string();
            l.strip_prefix("socket:[")?
                .strip_suffix(']')
                .map(String::from)
        })
        .collect();
    let Ok(table) = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")) else {
        return false;
    };
    table.lines().skip(1).any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        f.len() > 9 && f[2].ends_with(":192B") && f[3] == "01" && inodes.iter().any(|i| i == f[9])
    })
}

/// The API server killed while schedguard reads from it: error findings
/// that say the connection broke (or was refused), not a crash or a hang;
/// and with the API server gone, errors at once.
#[test]
fn the_api_server_stopped_mid_run_gives_error_findings_needs_root() {
    let _one = one_at_a_time();
    let Some(cluster) = RealCluster::start("stop", "delegated", "") else {
        return;
    };
    many_pods(&cluster, "sg-many", 200);
    let kubeconfig = kubeapi::arg(&cluster.admin_kubeconfig());

    let mut command = kubeapi::in_netns(&cluster, env!("CARGO_BIN_EXE_schedguard"));
    command.args([
        "audit",
        "--format",
        "json",
        "--no-network",
        "--cluster",
        "--kubeconfig",
        &kubeconfig,
        "--cluster-page-size",
        "1",
    ]);
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("schedguard starts");
    let pid = child.id();
    let mut guard = KillOnDrop(Some(pid));
    support::wait_until(Duration::from_secs(60), "schedguard to connect", || {
        connected_to_api_server(pid) || !Path::new(&format!("/proc/{pid}")).exists()
    });
    cluster.kill_apiserver();
    guard.0 = None; // from here on, wait_output kills it if it hangs
    let output = support::wait_output(child, Duration::from_secs(120));
    let report = json(&output);
    assert_eq!(output.status.code(), Some(2), "{report:#}");
    let errors: Vec<String> = ["SG-703", "SG-704"]
        .iter()
        .map(|c| cluster_finding(&report, c))
        .filter(|f| f["status"] == "error")
        .map(|f| message(&f))
        .collect();
    assert!(!errors.is_empty(), "the stop shows as an error: {report:#}");
    eprintln!("errors after the API server stopped mid-run: {errors:#?}");
    for e in &errors {
        assert!(
            e.contains("connection to the API server broke")
                || e.contains("cannot connect to https://127.0.0.1:6443"),
            "{e}"
        );
    }

    // Gone for good: every cluster check errs with the refusal.
    let (report, code) = cluster_audit(&cluster, &cluster.admin_kubeconfig(), &[]);
    assert_eq!(code, 2);
    for check in ["SG-703", "SG-704"] {
        let f = cluster_finding(&report, check);
        assert_eq!(f["status"], "error", "{f:#}");
        assert!(
            message(&f).contains("cannot connect to https://127.0.0.1:6443"),
            "{f:#}"
        );
    }
}

/// Kills a process by pid when dropped, unless disarmed (it was reaped).
struct KillOnDrop(Option<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// A kubeconfig (token, the test CA) for a server on this port, in `dir`.
fn local_kubeconfig(dir: &Path, port: u16) -> String {
    let ca = dir.join("ca.crt");
    support::write(&ca, include_str!("support/test-ca.crt"), 0o644);
    let path = dir.join("kubeconfig");
    support::write(
        &path,
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: \
             https://127.0.0.1:{port}\n    certificate-authority: {}\ncontexts:\n- name: c\n  \
             context: {{cluster: c, user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user:\n    \
             token: not-a-secret\n",
            ca.display()
        ),
        0o600,
    );
    path.display().to_string()
}

/// An API server that accepts connections and never answers: each check
/// errs after the timeout, and the rest is not waited for again.
#[test]
fn an_api_server_that_never_answers_times_out_with_error_findings() {
    let dir = tempfile::tempdir().unwrap();
    // The kernel completes the handshakes; nothing ever reads or writes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let kubeconfig = local_kubeconfig(dir.path(), silent.local_addr().unwrap().port());
    let output = support::run(
        &[
            "audit",
            "--format",
            "json",
            "--no-network",
            "--cluster",
            "--kubeconfig",
            &kubeconfig,
            "--cluster-timeout",
            "2s",
        ],
        Duration::from_secs(60),
    );
    let report = json(&output);
    assert_eq!(output.status.code(), Some(2));
    for check in ["SG-703", "SG-704"] {
        let f = cluster_finding(&report, check);
        assert_eq!(f["status"], "error", "{f:#}");
        assert!(message(&f).contains("did not answer within 2.0s"), "{f:#}");
    }
    drop(silent);
}

/// Nothing listens: the refusal is named, and cluster mode without a
/// usable kubeconfig says which were tried.
#[test]
fn a_refused_connection_and_a_missing_kubeconfig_are_error_findings() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let kubeconfig = local_kubeconfig(dir.path(), port);
    let facts = dir.path().join("facts.json").display().to_string();
    let (report, code) = support::audit_json(&[
        "--no-network",
        "--cluster",
        "--kubeconfig",
        &kubeconfig,
        "--save-facts",
        &facts,
    ]);
    assert_eq!(code, 2);
    let f = cluster_finding(&report, "SG-704");
    assert_eq!(f["status"], "error");
    assert!(
        message(&f).contains(&format!("cannot connect to https://127.0.0.1:{port}")),
        "{f:#}"
    );

    // The saved snapshot is judged the same elsewhere, and holds no secret.
    let saved = std::fs::read_to_string(&facts).unwrap();
    assert!(
        !saved.contains("not-a-secret"),
        "the token stays out of the facts"
    );
    let (judged, _) = support::audit_json(&["--from-facts", &facts]);
    assert_eq!(cluster_finding(&judged, "SG-704"), f);
    assert_eq!(
        support::run(
            &["audit", "--from-facts", &facts, "--cluster"],
            Duration::from_secs(30)
        )
        .status
        .code(),
        Some(64),
        "--cluster asks the live cluster"
    );

    let empty_root = dir.path().join("root");
    std::fs::create_dir(&empty_root).unwrap();
    let root = empty_root.display().to_string();
    let (report, _) = support::audit_json(&["--no-network", "--cluster", "--host-root", &root]);
    let f = cluster_finding(&report, "SG-703");
    assert_eq!(f["status"], "error");
    assert!(
        message(&f)
            .contains("no admin kubeconfig found (tried /etc/kubernetes/admin.conf (kubeadm)"),
        "{f:#}"
    );
    assert_eq!(report["cluster"]["error"], f["message"]);
}
