//! Effective values: what the running scheduler actually uses, from its
//! release's defaults, its `--config` file and its command line, with
//! kube-scheduler's precedence.

use crate::facts::{Observed, Target};
use crate::k8s::api::ConfigApi;
use crate::k8s::argv::parse_bool;
use crate::k8s::config::{SchedulerConfig, DEFAULT_SCHEDULER_NAME};
use crate::k8s::flags::{self, FlagKind, WithConfig};
use crate::k8s::plugins::{effective_plugins, EffectivePlugins};
use crate::k8s::version::Version;
use std::fmt;

/// Where an effective value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The command line; `position` indexes argv.
    Argv {
        flag: String,
        raw: String,
        position: usize,
    },
    /// A field of the `--config` file.
    ConfigFile { path: String, field: String },
    /// The built-in default of the release.
    Default { release: Version, what: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Argv {
                flag,
                raw,
                position,
            } => {
                write!(f, "argv[{position}]: --{flag}={raw}")
            }
            Origin::ConfigFile { path, field } => write!(f, "config file {path}: {field}"),
            Origin::Default { release, what } => {
                write!(f, "built-in default of {release} ({what} not set)")
            }
        }
    }
}

impl Origin {
    /// The evidence source label used in findings.
    pub fn source(&self) -> &'static str {
        match self {
            Origin::Argv { .. } => "argv",
            Origin::ConfigFile { .. } => "config",
            Origin::Default { .. } => "default",
        }
    }
}

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

/// The `--config` file as the checks see it.
pub enum ConfigState<'a> {
    /// No `--config`: flags and defaults rule.
    Absent,
    Parsed {
        path: &'a str,
        config: &'a SchedulerConfig,
    },
    /// Given but not readable or not valid: every value it could set is unknown.
    Unreadable { path: &'a str, reason: &'a str },
}

/// The effective values of one target.
pub struct Effective<'a> {
    pub target: &'a Target,
    pub release: Version,
    pub config: ConfigState<'a>,
}

impl<'a> Effective<'a> {
    pub fn new(target: &'a Target) -> Effective<'a> {
        let config = match &target.config {
            None => ConfigState::Absent,
            Some(file) => match &file.parsed {
                Observed::Ok(config) => ConfigState::Parsed {
                    path: &file.path,
                    config,
                },
                Observed::Error(reason) => ConfigState::Unreadable {
                    path: &file.path,
                    reason,
                },
            },
        };
        Effective {
            target,
            release: target.version.assumed(),
            config,
        }
    }

    /// True when `--config` is given (readable or not).
    pub fn has_config(&self) -> bool {
        !matches!(self.config, ConfigState::Absent)
    }

    fn config_error(&self, what: &str) -> String {
        match &self.config {
            ConfigState::Unreadable { path, reason } => {
                format!(
                    "{what} comes from the --config file {path}, which could not be read: {reason}"
                )
            }
            _ => String::new(),
        }
    }

    /// A command-line flag that `--config` does not affect: argv, else the
    /// release's default (`None` when the default is empty).
    pub fn flag(&self, name: &str) -> Setting<Option<String>> {
        if let Some(value) = self.target.args.get(name) {
            let position = *value.positions.last().unwrap_or(&0);
            return Setting {
                value: Some(value.value.clone()),
                origin: Origin::Argv {
                    flag: name.into(),
                    raw: value.value.clone(),
                    position,
                },
            };
        }
        Setting {
            value: default_of(name, self.release).map(String::from),
            origin: Origin::Default {
                release: self.release,
                what: format!("--{name}"),
            },
        }
    }

    /// A boolean flag, by Go's rules; an unparseable value is an error.
    pub fn flag_bool(&self, name: &str) -> Result<Setting<bool>, String> {
        let setting = self.flag(name);
        let text = setting.value.as_deref().unwrap_or("false");
        let value = parse_bool(text).map_err(|e| format!("--{name}: {e}"))?;
        Ok(Setting {
            value,
            origin: setting.origin,
        })
    }

    /// A `strings` flag as its elements.
    pub fn flag_list(&self, name: &str) -> Setting<Vec<String>> {
        if let Some(value) = self.target.args.get(name) {
            let position = *value.positions.last().unwrap_or(&0);
            return Setting {
                value: value.list.clone(),
                origin: Origin::Argv {
                    flag: name.into(),
                    raw: value.value.clone(),
                    position,
                },
            };
        }
        let default = default_of(name, self.release).unwrap_or("");
        Setting {
            value: default
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            origin: Origin::Default {
                release: self.release,
                what: format!("--{name}"),
            },
        }
    }

    /// A setting that lives in the config file when `--config` is given and
    /// in a deprecated flag otherwise.
    fn config_or_flag(
        &self,
        field: &str,
        from_config: impl Fn(&SchedulerConfig) -> Option<bool>,
        flag: &str,
        default: bool,
    ) -> Result<Setting<bool>, String> {
        match &self.config {
            ConfigState::Parsed { path, config } => Ok(match from_config(config) {
                Some(value) => Setting {
                    value,
                    origin: Origin::ConfigFile {
                        path: path.to_string(),
                        field: field.into(),
                    },
                },
                None => Setting {
                    value: default,
                    origin: Origin::Default {
                        release: self.release,
                        what: field.into(),
                    },
                },
            }),
            ConfigState::Unreadable { .. } => Err(self.config_error(field)),
            ConfigState::Absent => {
                if self.target.args.has(flag) {
                    self.flag_bool(flag)
                } else {
                    Ok(Setting {
                        value: default,
                        origin: Origin::Default {
                            release: self.release,
                            what: format!("--{flag}"),
                        },
                    })
                }
            }
        }
    }

    /// `enableProfiling` (or `--profiling` without `--config`); default true.
    pub fn profiling(&self) -> Result<Setting<bool>, String> {
        self.config_or_flag("enableProfiling", |c| c.enable_profiling, "profiling", true)
    }

    /// `enableContentionProfiling` (or `--contention-profiling`); defaults to
    /// true when profiling is on.
    pub fn contention_profiling(&self) -> Result<Setting<bool>, String> {
        let profiling = self.profiling()?.value;
        self.config_or_flag(
            "enableContentionProfiling",
            |c| c.enable_contention_profiling,
            "contention-profiling",
            profiling,
        )
    }

    /// The kubeconfig files the process uses, as (role, path). With
    /// `--config`, `--kubeconfig` is ignored and `clientConnection.kubeconfig`
    /// is used instead.
    pub fn kubeconfigs(&self) -> Result<Vec<(String, String)>, String> {
        let mut used = Vec::new();
        match &self.config {
            ConfigState::Parsed { config, .. } => {
                if let Some(path) = config.kubeconfig.as_ref().filter(|p| !p.is_empty()) {
                    used.push(("clientConnection.kubeconfig".to_string(), path.clone()));
                }
            }
            ConfigState::Unreadable { .. } => {
                return Err(self.config_error("clientConnection.kubeconfig"));
            }
            ConfigState::Absent => {
                if let Some(path) = self.flag("kubeconfig").value.filter(|p| !p.is_empty()) {
                    used.push(("--kubeconfig".to_string(), path));
                }
            }
        }
        for flag in ["authentication-kubeconfig", "authorization-kubeconfig"] {
            if let Some(path) = self.flag(flag).value.filter(|p| !p.is_empty()) {
                used.push((format!("--{flag}"), path));
            }
        }
        Ok(used)
    }

    /// Deprecated flags on the command line that `--config` makes ignored,
    /// with the config field that rules instead.
    pub fn ignored_flags(&self) -> Vec<IgnoredFlag> {
        if !self.has_config() {
            return Vec::new();
        }
        self.target
            .args
            .flags
            .iter()
            .filter_map(|(name, value)| {
                let spec = flags::lookup(flags::KUBE_SCHEDULER, name)?;
                match spec.with_config {
                    WithConfig::Ignored { field } => Some(IgnoredFlag {
                        flag: name.clone(),
                        value: value.value.clone(),
                        position: *value.positions.last().unwrap_or(&0),
                        field,
                    }),
                    _ => None,
                }
            })
            .collect()
    }

    /// Every profile's scheduler name and effective plugins.
    pub fn profiles(&self) -> Result<Vec<(String, EffectivePlugins)>, String> {
        let newest = ConfigApi::newest_for_minor(self.release.minor);
        match &self.config {
            ConfigState::Unreadable { .. } => Err(self.config_error("profiles")),
            ConfigState::Absent => Ok(vec![(
                DEFAULT_SCHEDULER_NAME.to_string(),
                effective_plugins(newest, self.release, None),
            )]),
            ConfigState::Parsed { config, .. } if config.profiles.is_empty() => Ok(vec![(
                DEFAULT_SCHEDULER_NAME.to_string(),
                effective_plugins(config.api, self.release, None),
            )]),
            ConfigState::Parsed { config, .. } => Ok(config
                .profiles
                .iter()
                .map(|p| {
                    let name = p
                        .scheduler_name
                        .clone()
                        .unwrap_or(DEFAULT_SCHEDULER_NAME.into());
                    (
                        name,
                        effective_plugins(config.api, self.release, p.plugins.as_ref()),
                    )
                })
                .collect()),
        }
    }

    /// The legacy insecure HTTP serving of releases up to 1.22: the
    /// `host:port` values that configure it, each with its origin. A value
    /// with port 0 (from `--port=0`) turns it off; see [`serves`].
    pub fn insecure_serving(&self) -> Result<Vec<Setting<String>>, String> {
        if self.release.at_least(23) {
            return Ok(Vec::new());
        }
        match &self.config {
            ConfigState::Unreadable { .. } => Err(self.config_error("healthzBindAddress")),
            ConfigState::Parsed { path, config } => {
                let mut settings: Vec<Setting<String>> = Vec::new();
                for (field, value) in [
                    ("healthzBindAddress", &config.healthz_bind_address),
                    ("metricsBindAddress", &config.metrics_bind_address),
                ] {
                    // The real 1.20 scheduler reads an empty value as unset
                    // (it serves on the default) and refuses to start with
                    // port 0: the file cannot turn insecure serving off.
                    let (value, origin) = match value.as_deref() {
                        Some(v) if !v.is_empty() => (
                            v.to_string(),
                            Origin::ConfigFile {
                                path: path.to_string(),
                                field: field.into(),
                            },
                        ),
                        Some(_) => (
                            "0.0.0.0:10251".to_string(),
                            Origin::ConfigFile {
                                path: path.to_string(),
                                field: format!(
                                    "{field} is empty, so the default 0.0.0.0:10251 applies"
                                ),
                            },
                        ),
                        None => (
                            "0.0.0.0:10251".to_string(),
                            Origin::Default {
                                release: self.release,
                                what: field.into(),
                            },
                        ),
                    };
                    if !settings.iter().any(|s| s.value == value) {
                        settings.push(Setting { value, origin });
                    }
                }
                Ok(settings)
            }
            ConfigState::Absent => {
                let port = self.flag("port");
                let address = self.flag("address");
                let port_value = port.value.clone().unwrap_or_default();
                let host = address.value.unwrap_or_default();
                Ok(vec![Setting {
                    value: join_host_port(&host, &port_value),
                    origin: port.origin,
                }])
            }
        }
    }
}

/// A deprecated flag that has no effect because `--config` is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredFlag {
    pub flag: String,
    pub value: String,
    pub position: usize,
    pub field: &'static str,
}

/// True when a legacy `host:port` bind address serves (not empty, port not 0).
pub fn serves(address: &str) -> bool {
    !address.is_empty() && address.rsplit_once(':').is_none_or(|(_, port)| port != "0")
}

fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The built-in default of a kube-scheduler flag for a release.
fn default_of(name: &str, release: Version) -> Option<&'static str> {
    // Releases before 1.21 defaulted --authorization-always-allow-paths to
    // /healthz alone.
    if name == "authorization-always-allow-paths" && !release.at_least(21) {
        return Some("/healthz");
    }
    let spec = flags::lookup(flags::KUBE_SCHEDULER, name)?;
    if spec.kind == FlagKind::Bool {
        return Some(spec.default.unwrap_or("false"));
    }
    spec.default
}
