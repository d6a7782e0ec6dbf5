//! The KubeSchedulerConfiguration API versions (`kubescheduler.config.k8s.io`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A `kubescheduler.config.k8s.io` version that schedguard can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigApi {
    V1beta1,
    V1beta2,
    V1beta3,
    V1,
}

impl ConfigApi {
    pub const GROUP: &'static str = "kubescheduler.config.k8s.io";

    /// Parses a full `apiVersion` value such as `kubescheduler.config.k8s.io/v1`.
    pub fn from_api_version(text: &str) -> Option<ConfigApi> {
        let version = text.strip_prefix(Self::GROUP)?.strip_prefix('/')?;
        match version {
            "v1beta1" => Some(ConfigApi::V1beta1),
            "v1beta2" => Some(ConfigApi::V1beta2),
            "v1beta3" => Some(ConfigApi::V1beta3),
            "v1" => Some(ConfigApi::V1),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConfigApi::V1beta1 => "v1beta1",
            ConfigApi::V1beta2 => "v1beta2",
            ConfigApi::V1beta3 => "v1beta3",
            ConfigApi::V1 => "v1",
        }
    }

    /// Whether default plugins are enabled through `multiPoint` (v1beta3 and v1)
    /// rather than listed per extension point (v1beta1, v1beta2).
    pub fn has_multi_point(self) -> bool {
        matches!(self, ConfigApi::V1beta3 | ConfigApi::V1)
    }

    /// The releases `(first, last)` whose kube-scheduler accepts this version;
    /// `None` for `last` means still accepted by the newest release.
    pub fn served_by(self) -> (u16, Option<u16>) {
        match self {
            ConfigApi::V1beta1 => (19, Some(22)),
            ConfigApi::V1beta2 => (22, Some(27)),
            ConfigApi::V1beta3 => (23, Some(28)),
            ConfigApi::V1 => (25, None),
        }
    }

    /// The newest config API a release serves: what it uses when no `--config`
    /// is given.
    pub fn newest_for_minor(minor: u16) -> ConfigApi {
        if minor >= 25 {
            ConfigApi::V1
        } else if minor >= 23 {
            ConfigApi::V1beta3
        } else if minor >= 22 {
            ConfigApi::V1beta2
        } else {
            ConfigApi::V1beta1
        }
    }
}

impl fmt::Display for ConfigApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Self::GROUP, self.as_str())
    }
}
