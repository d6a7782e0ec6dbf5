//! The kube-scheduler embedded in `k3s server`: its command line is k3s'
//! defaults followed by every `kube-scheduler-arg` from k3s' config files and
//! command line.

use crate::host::files::Root;
use crate::k8s::{argv, flags};
use serde_json::Value;

const CONFIG: &str = "/etc/rancher/k3s/config.yaml";
const CONFIG_DROP_INS: &str = "/etc/rancher/k3s/config.yaml.d";
const DEFAULT_DATA_DIR: &str = "/var/lib/rancher/k3s";

/// Rebuilds the embedded scheduler's argv from the k3s server's argv and
/// k3s' configuration files (read through `root`). Problems reading the
/// files are returned beside the argv. `None` when k3s runs without its
/// scheduler (`disable-scheduler`).
///
/// Limitation: the defaults below are those of k3s releases 1.2x (loopback
/// bind, profiling off, the scheduler kubeconfig under the data dir); a k3s
/// release that changes them is judged with these. A `--config` flag of k3s
/// naming another config file is honoured; `K3S_CONFIG_FILE` is not.
pub fn scheduler_argv(k3s_argv: &[String], root: &Root) -> Option<(Vec<String>, Vec<String>)> {
    let cli = argv::parse(k3s_argv, 2, flags::K3S_SERVER);
    let mut problems = Vec::new();

    let config_path = cli
        .get("config")
        .or(cli.get("c"))
        .map_or(CONFIG.to_string(), |f| f.value.clone());
    let mut from_files = Vec::new();
    let mut data_dir = None;
    let mut disabled = cli
        .get("disable-scheduler")
        .is_some_and(|f| f.as_bool() == Ok(true));
    let mut files = vec![config_path.clone()];
    files.extend(
        root.list(CONFIG_DROP_INS)
            .into_iter()
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
            .map(|n| format!("{CONFIG_DROP_INS}/{n}")),
    );
    for file in files {
        match root.read(&file, 1 << 20) {
            Ok(bytes) => match serde_saphyr::from_slice::<Value>(&bytes) {
                Ok(value) => {
                    from_files.extend(strings(value.get("kube-scheduler-arg")));
                    if value.get("disable-scheduler").and_then(Value::as_bool) == Some(true) {
                        disabled = true;
                    }
                    if let Some(dir) = value.get("data-dir").and_then(Value::as_str) {
                        data_dir = Some(dir.to_string());
                    }
                }
                Err(e) => problems.push(format!("k3s config {file} is not valid YAML: {e}")),
            },
            Err(e) if file == config_path && e.to_string().contains("not found") => {}
            Err(e) => problems.push(format!("k3s config {e}")),
        }
    }

    if disabled {
        return None;
    }
    let data_dir = cli
        .get("data-dir")
        .or(cli.get("d"))
        .map(|f| f.value.clone())
        .or(data_dir)
        .unwrap_or_else(|| DEFAULT_DATA_DIR.to_string());
    let kubeconfig = format!("{data_dir}/server/cred/scheduler.kubeconfig");

    let mut argv = vec![
        "kube-scheduler".to_string(),
        format!("--authentication-kubeconfig={kubeconfig}"),
        format!("--authorization-kubeconfig={kubeconfig}"),
        "--bind-address=127.0.0.1".to_string(),
        format!("--kubeconfig={kubeconfig}"),
        "--profiling=false".to_string(),
        "--secure-port=10259".to_string(),
    ];
    let from_cli = cli
        .get("kube-scheduler-arg")
        .map(|f| f.list.clone())
        .unwrap_or_default();
    for arg in from_files.into_iter().chain(from_cli) {
        argv.push(format!("--{}", arg.trim_start_matches('-')));
    }
    Some((argv, problems))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn scheduler_args_from_config_file_come_before_command_line_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/rancher/k3s")).unwrap();
        std::fs::write(
            dir.path().join("etc/rancher/k3s/config.yaml"),
            "kube-scheduler-arg:\n- profiling=true\n- bind-address=0.0.0.0\n",
        )
        .unwrap();
        let root = Root::open(dir.path()).unwrap();
        let (built, problems) = scheduler_argv(
            &argv("k3s server --kube-scheduler-arg=bind-address=127.0.0.2"),
            &root,
        )
        .unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let n = built.len();
        assert_eq!(
            &built[n - 3..],
            &[
                "--profiling=true",
                "--bind-address=0.0.0.0",
                "--bind-address=127.0.0.2"
            ]
        );
    }

    #[test]
    fn data_dir_moves_the_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::open(dir.path()).unwrap();
        let (built, _) = scheduler_argv(&argv("k3s server --data-dir /srv/k3s"), &root).unwrap();
        assert!(scheduler_argv(&argv("k3s server --disable-scheduler"), &root).is_none());
        assert!(
            built.contains(&"--kubeconfig=/srv/k3s/server/cred/scheduler.kubeconfig".to_string())
        );
    }
}
