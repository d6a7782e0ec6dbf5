//! KubeSchedulerConfiguration files (v1beta1, v1beta2, v1beta3, v1) read into
//! the fields the checks need. Contents are kept as structure, never as text.

use crate::k8s::api::ConfigApi;
use crate::k8s::plugins::{ExtensionPoint, PluginEntry, PluginSet, ProfilePlugins};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why a configuration file could not be read as a KubeSchedulerConfiguration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ConfigError {
    #[error("not valid YAML or JSON: {0}")]
    Syntax(String),
    #[error("the document is not a mapping")]
    NotAMapping,
    #[error("kind is {0:?}, expected \"KubeSchedulerConfiguration\"")]
    WrongKind(String),
    #[error("apiVersion {0:?} is not a KubeSchedulerConfiguration version schedguard knows (v1beta1, v1beta2, v1beta3, v1)")]
    UnknownApiVersion(String),
    #[error("{path}: expected {expected}")]
    WrongType {
        path: String,
        expected: &'static str,
    },
}

/// A scheduler extender (`extenders[]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extender {
    pub url_prefix: String,
    pub filter_verb: Option<String>,
    pub prioritize_verb: Option<String>,
    pub preempt_verb: Option<String>,
    pub bind_verb: Option<String>,
    pub enable_https: bool,
    /// `tlsConfig.insecure`: the extender's certificate is not verified.
    pub tls_insecure: bool,
    pub ignorable: bool,
}

/// One `profiles[]` entry as written in the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProfile {
    /// `schedulerName`; kube-scheduler defaults it to `default-scheduler`.
    pub scheduler_name: Option<String>,
    pub plugins: Option<ProfilePlugins>,
}

/// The parts of a KubeSchedulerConfiguration that schedguard judges. Fields
/// the file leaves out are `None`; defaults are applied later, per release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerConfig {
    pub api: ConfigApi,
    pub enable_profiling: Option<bool>,
    pub enable_contention_profiling: Option<bool>,
    /// `clientConnection.kubeconfig`.
    pub kubeconfig: Option<String>,
    /// `leaderElection.leaderElect`.
    pub leader_elect: Option<bool>,
    /// `healthzBindAddress` and `metricsBindAddress` (v1beta1, v1beta2): the
    /// legacy insecure HTTP serving of releases up to 1.22.
    pub healthz_bind_address: Option<String>,
    pub metrics_bind_address: Option<String>,
    /// Absent `profiles` means one default profile.
    pub profiles: Vec<ConfigProfile>,
    pub extenders: Vec<Extender>,
    /// Fields the file sets that this API version does not have. The real
    /// scheduler ignores or rejects them; either way they configure nothing.
    pub unknown_fields: Vec<String>,
}

/// The name kube-scheduler gives a profile without `schedulerName`.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

const TOP_LEVEL_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "parallelism",
    "leaderElection",
    "clientConnection",
    "healthzBindAddress",
    "metricsBindAddress",
    "enableProfiling",
    "enableContentionProfiling",
    "percentageOfNodesToScore",
    "podInitialBackoffSeconds",
    "podMaxBackoffSeconds",
    "profiles",
    "extenders",
    "delayCacheUntilActive",
];

/// Parses a configuration file's bytes (YAML or JSON).
///
/// YAML follows what Kubernetes' loader accepts: YAML 1.1 booleans such as
/// `no`, and the last of duplicate keys wins. Field names are case-sensitive.
pub fn parse(bytes: &[u8]) -> Result<SchedulerConfig, ConfigError> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| ConfigError::Syntax(format!("not UTF-8: {e}")))?;
    let document: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?
    } else {
        let mut options = serde_saphyr::Options::default();
        options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
        serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| ConfigError::Syntax(first_line(&e.to_string())))?
    };
    from_value(&document)
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").to_string()
}

fn from_value(document: &Value) -> Result<SchedulerConfig, ConfigError> {
    let root = document.as_object().ok_or(ConfigError::NotAMapping)?;

    let kind = str_field(root, "kind", "kind")?.unwrap_or_default();
    if kind != "KubeSchedulerConfiguration" {
        return Err(ConfigError::WrongKind(kind));
    }
    let api_version = str_field(root, "apiVersion", "apiVersion")?.unwrap_or_default();
    let api = ConfigApi::from_api_version(&api_version)
        .ok_or(ConfigError::UnknownApiVersion(api_version))?;

    let mut unknown_fields: Vec<String> = root
        .keys()
        .filter(|k| !TOP_LEVEL_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    if api.has_multi_point() {
        for legacy in ["healthzBindAddress", "metricsBindAddress"] {
            if root.contains_key(legacy) {
                unknown_fields.push(legacy.to_string());
            }
        }
    }

    let client = object_field(root, "clientConnection", "clientConnection")?;
    let leader = object_field(root, "leaderElection", "leaderElection")?;
    let profiles = match root.get("profiles") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => array(value, "profiles")?
            .iter()
            .enumerate()
            .map(|(i, p)| profile(p, &format!("profiles[{i}]"), api, &mut unknown_fields))
            .collect::<Result<_, _>>()?,
    };
    let extenders = match root.get("extenders") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => array(value, "extenders")?
            .iter()
            .enumerate()
            .map(|(i, e)| extender(e, &format!("extenders[{i}]")))
            .collect::<Result<_, _>>()?,
    };

    Ok(SchedulerConfig {
        api,
        enable_profiling: bool_field(root, "enableProfiling", "enableProfiling")?,
        enable_contention_profiling: bool_field(
            root,
            "enableContentionProfiling",
            "enableContentionProfiling",
        )?,
        kubeconfig: match client {
            Some(c) => str_field(c, "kubeconfig", "clientConnection.kubeconfig")?,
            None => None,
        },
        leader_elect: match leader {
            Some(l) => bool_field(l, "leaderElect", "leaderElection.leaderElect")?,
            None => None,
        },
        healthz_bind_address: str_field(root, "healthzBindAddress", "healthzBindAddress")?,
        metrics_bind_address: str_field(root, "metricsBindAddress", "metricsBindAddress")?,
        profiles,
        extenders,
        unknown_fields,
    })
}

fn profile(
    value: &Value,
    path: &str,
    api: ConfigApi,
    unknown_fields: &mut Vec<String>,
) -> Result<ConfigProfile, ConfigError> {
    let object = object(value, path)?;
    let plugins = match object_field(object, "plugins", &format!("{path}.plugins"))? {
        None => None,
        Some(p) => Some(profile_plugins(
            p,
            &format!("{path}.plugins"),
            api,
            unknown_fields,
        )?),
    };
    Ok(ConfigProfile {
        scheduler_name: str_field(object, "schedulerName", &format!("{path}.schedulerName"))?,
        plugins,
    })
}

fn profile_plugins(
    object: &Map<String, Value>,
    path: &str,
    api: ConfigApi,
    unknown_fields: &mut Vec<String>,
) -> Result<ProfilePlugins, ConfigError> {
    let mut plugins = ProfilePlugins::default();
    for (key, value) in object {
        let field_path = format!("{path}.{key}");
        if key == "multiPoint" && api.has_multi_point() {
            plugins.multi_point = Some(plugin_set(value, &field_path)?);
            continue;
        }
        match extension_point(key) {
            Some(point) => {
                plugins
                    .points
                    .insert(point, plugin_set(value, &field_path)?);
            }
            None => unknown_fields.push(field_path),
        }
    }
    Ok(plugins)
}

/// Maps a `plugins` key to its extension point.
pub fn extension_point(key: &str) -> Option<ExtensionPoint> {
    let point = match key {
        "preEnqueue" => ExtensionPoint::PreEnqueue,
        "queueSort" => ExtensionPoint::QueueSort,
        "preFilter" => ExtensionPoint::PreFilter,
        "filter" => ExtensionPoint::Filter,
        "postFilter" => ExtensionPoint::PostFilter,
        "preScore" => ExtensionPoint::PreScore,
        "score" => ExtensionPoint::Score,
        "reserve" => ExtensionPoint::Reserve,
        "permit" => ExtensionPoint::Permit,
        "preBind" => ExtensionPoint::PreBind,
        "bind" => ExtensionPoint::Bind,
        "postBind" => ExtensionPoint::PostBind,
        _ => return None,
    };
    Some(point)
}

fn plugin_set(value: &Value, path: &str) -> Result<PluginSet, ConfigError> {
    if value.is_null() {
        return Ok(PluginSet::default());
    }
    let object = object(value, path)?;
    let mut set = PluginSet::default();
    for (key, target) in [("enabled", true), ("disabled", false)] {
        let Some(list) = object.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        for (i, entry) in array(list, &format!("{path}.{key}"))?.iter().enumerate() {
            let entry_path = format!("{path}.{key}[{i}]");
            let entry = self::object(entry, &entry_path)?;
            let name = str_field(entry, "name", &format!("{entry_path}.name"))?.unwrap_or_default();
            if target {
                let weight = match entry.get("weight") {
                    None | Some(Value::Null) => None,
                    Some(w) => Some(w.as_i64().and_then(|w| i32::try_from(w).ok()).ok_or(
                        ConfigError::WrongType {
                            path: format!("{entry_path}.weight"),
                            expected: "an integer",
                        },
                    )?),
                };
                set.enabled.push(PluginEntry { name, weight });
            } else {
                set.disabled.push(name);
            }
        }
    }
    Ok(set)
}

fn extender(value: &Value, path: &str) -> Result<Extender, ConfigError> {
    let object = object(value, path)?;
    let verb = |key: &str| str_field(object, key, &format!("{path}.{key}"));
    let tls = object_field(object, "tlsConfig", &format!("{path}.tlsConfig"))?;
    Ok(Extender {
        url_prefix: verb("urlPrefix")?.unwrap_or_default(),
        filter_verb: verb("filterVerb")?.filter(|v| !v.is_empty()),
        prioritize_verb: verb("prioritizeVerb")?.filter(|v| !v.is_empty()),
        preempt_verb: verb("preemptVerb")?.filter(|v| !v.is_empty()),
        bind_verb: verb("bindVerb")?.filter(|v| !v.is_empty()),
        enable_https: bool_field(object, "enableHTTPS", &format!("{path}.enableHTTPS"))?
            .unwrap_or(false),
        tls_insecure: match tls {
            Some(t) => {
                bool_field(t, "insecure", &format!("{path}.tlsConfig.insecure"))?.unwrap_or(false)
            }
            None => false,
        },
        ignorable: bool_field(object, "ignorable", &format!("{path}.ignorable"))?.unwrap_or(false),
    })
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ConfigError> {
    value.as_object().ok_or_else(|| ConfigError::WrongType {
        path: path.to_string(),
        expected: "a mapping",
    })
}

fn array<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>, ConfigError> {
    value.as_array().ok_or_else(|| ConfigError::WrongType {
        path: path.to_string(),
        expected: "a list",
    })
}

fn object_field<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, ConfigError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => self::object(value, path).map(Some),
    }
}

fn str_field(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, ConfigError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ConfigError::WrongType {
            path: path.to_string(),
            expected: "a string",
        }),
    }
}

fn bool_field(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<bool>, ConfigError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ConfigError::WrongType {
            path: path.to_string(),
            expected: "a boolean",
        }),
    }
}

/// The scheduler names a configuration serves (one per profile).
pub fn scheduler_names(config: Option<&SchedulerConfig>) -> Vec<String> {
    match config {
        Some(c) if !c.profiles.is_empty() => c
            .profiles
            .iter()
            .map(|p| {
                p.scheduler_name
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SCHEDULER_NAME.into())
            })
            .collect(),
        _ => vec![DEFAULT_SCHEDULER_NAME.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<SchedulerConfig, ConfigError> {
        parse(text.as_bytes())
    }

    const V1_NO_PROFILING: &str = "apiVersion: kubescheduler.config.k8s.io/v1\n\
        kind: KubeSchedulerConfiguration\n\
        enableProfiling: false\n\
        clientConnection:\n  kubeconfig: /etc/kubernetes/scheduler.conf\n";

    #[test]
    fn reads_every_supported_api_version() {
        for (version, api) in [
            ("v1beta1", ConfigApi::V1beta1),
            ("v1beta2", ConfigApi::V1beta2),
            ("v1beta3", ConfigApi::V1beta3),
            ("v1", ConfigApi::V1),
        ] {
            let text = format!(
                "apiVersion: kubescheduler.config.k8s.io/{version}\nkind: KubeSchedulerConfiguration\n"
            );
            assert_eq!(yaml(&text).unwrap().api, api);
        }
    }

    #[test]
    fn reads_profiling_and_kubeconfig() {
        let config = yaml(V1_NO_PROFILING).unwrap();
        assert_eq!(config.enable_profiling, Some(false));
        assert_eq!(config.enable_contention_profiling, None);
        assert_eq!(
            config.kubeconfig.as_deref(),
            Some("/etc/kubernetes/scheduler.conf")
        );
    }

    #[test]
    fn reads_json_documents() {
        let json = r#"{"apiVersion":"kubescheduler.config.k8s.io/v1beta3","kind":"KubeSchedulerConfiguration","enableProfiling":true}"#;
        assert_eq!(yaml(json).unwrap().enable_profiling, Some(true));
    }

    #[test]
    fn accepts_yaml_1_1_booleans_as_kubernetes_does() {
        let text = V1_NO_PROFILING.replace("enableProfiling: false", "enableProfiling: no");
        assert_eq!(yaml(&text).unwrap().enable_profiling, Some(false));
    }

    #[test]
    fn field_names_are_case_sensitive() {
        let text = V1_NO_PROFILING.replace("enableProfiling", "enableprofiling");
        let config = yaml(&text).unwrap();
        assert_eq!(config.enable_profiling, None);
        assert_eq!(config.unknown_fields, vec!["enableprofiling"]);
    }

    #[test]
    fn last_duplicate_key_wins() {
        let text = format!("{V1_NO_PROFILING}enableProfiling: true\n");
        assert_eq!(yaml(&text).unwrap().enable_profiling, Some(true));
    }

    #[test]
    fn unknown_api_version_is_an_error() {
        let text = V1_NO_PROFILING.replace("/v1\n", "/v2\n");
        assert!(
            matches!(yaml(&text), Err(ConfigError::UnknownApiVersion(v)) if v.ends_with("/v2"))
        );
    }

    #[test]
    fn other_kinds_are_an_error() {
        let text = "apiVersion: v1\nkind: Config\nclusters: []\n";
        assert!(matches!(yaml(text), Err(ConfigError::WrongKind(k)) if k == "Config"));
    }

    #[test]
    fn malformed_yaml_is_a_syntax_error() {
        assert!(matches!(
            yaml("kind: [unclosed\n"),
            Err(ConfigError::Syntax(_))
        ));
        assert!(matches!(yaml("- a\n- b\n"), Err(ConfigError::NotAMapping)));
        assert!(matches!(
            parse(&[0xff, 0xfe, 0x00]),
            Err(ConfigError::Syntax(_))
        ));
    }

    #[test]
    fn wrong_types_name_the_field() {
        let text = V1_NO_PROFILING.replace("enableProfiling: false", "enableProfiling: \"false\"");
        assert_eq!(
            yaml(&text),
            Err(ConfigError::WrongType {
                path: "enableProfiling".into(),
                expected: "a boolean"
            })
        );
    }

    #[test]
    fn reads_profiles_plugins_and_multi_point() {
        let text = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n\
            profiles:\n\
            - schedulerName: my-scheduler\n  plugins:\n    queueSort:\n      disabled:\n      - name: \"*\"\n\
            \x20     enabled:\n      - name: Custom\n    multiPoint:\n      enabled:\n      - name: Extra\n        weight: 3\n\
            - plugins: {}\n";
        let config = yaml(text).unwrap();
        assert_eq!(
            scheduler_names(Some(&config)),
            vec!["my-scheduler", "default-scheduler"]
        );
        let plugins = config.profiles[0].plugins.as_ref().unwrap();
        let queue_sort = &plugins.points[&ExtensionPoint::QueueSort];
        assert_eq!(queue_sort.disabled, vec!["*"]);
        assert_eq!(queue_sort.enabled[0].name, "Custom");
        assert_eq!(
            plugins.multi_point.as_ref().unwrap().enabled[0].weight,
            Some(3)
        );
    }

    #[test]
    fn multi_point_in_v1beta2_is_an_unknown_field() {
        let text =
            "apiVersion: kubescheduler.config.k8s.io/v1beta2\nkind: KubeSchedulerConfiguration\n\
            profiles:\n- plugins:\n    multiPoint:\n      enabled:\n      - name: X\n";
        let config = yaml(text).unwrap();
        assert_eq!(
            config.unknown_fields,
            vec!["profiles[0].plugins.multiPoint"]
        );
    }

    #[test]
    fn reads_extenders() {
        let text = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n\
            extenders:\n- urlPrefix: http://10.0.0.1:8888/\n  filterVerb: filter\n  tlsConfig:\n    insecure: true\n";
        let extender = &yaml(text).unwrap().extenders[0];
        assert_eq!(extender.filter_verb.as_deref(), Some("filter"));
        assert!(extender.tls_insecure);
        assert!(!extender.enable_https);
        assert!(!extender.ignorable);
    }

    #[test]
    fn legacy_bind_addresses_are_read_in_v1beta1() {
        let text =
            "apiVersion: kubescheduler.config.k8s.io/v1beta1\nkind: KubeSchedulerConfiguration\n\
            healthzBindAddress: 127.0.0.1:10251\n";
        assert_eq!(
            yaml(text).unwrap().healthz_bind_address.as_deref(),
            Some("127.0.0.1:10251")
        );
    }

    #[test]
    fn alias_bombs_are_refused_not_expanded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert!(matches!(yaml(&text), Err(ConfigError::Syntax(_))));
    }
}
