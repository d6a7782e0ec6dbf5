//! Kubernetes release numbers, as read from a binary or an image tag.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A Kubernetes release `vMAJOR.MINOR.PATCH`. Pre-release and build suffixes
/// (`-rc.1`, `+k3s1`) are dropped: defaults change only between minor releases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
    pub patch: u16,
}

impl Version {
    /// The newest release whose defaults schedguard knows. An unknown version
    /// is judged with these defaults, and the report says so.
    pub const NEWEST_KNOWN: Version = Version::new(1, 34, 0);

    pub const fn new(major: u16, minor: u16, patch: u16) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Parses `v1.20.2`, `1.29.0-rc.1`, `v1.28.5+k3s1` and `v1.30` (patch 0).
    /// Returns `None` for anything else.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        if parts.next().is_some() || major != 1 {
            return None;
        }
        Some(Version::new(major, minor, patch))
    }

    /// True when this release is `1.minor` or newer.
    pub fn at_least(self, minor: u16) -> bool {
        self.major > 1 || (self.major == 1 && self.minor >= minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_tags_with_and_without_suffixes() {
        assert_eq!(Version::parse("v1.20.2"), Some(Version::new(1, 20, 2)));
        assert_eq!(Version::parse("1.29.0-rc.1"), Some(Version::new(1, 29, 0)));
        assert_eq!(Version::parse("v1.28.5+k3s1"), Some(Version::new(1, 28, 5)));
        assert_eq!(Version::parse("v1.30"), Some(Version::new(1, 30, 0)));
    }

    #[test]
    fn rejects_text_that_is_not_a_kubernetes_release() {
        assert_eq!(Version::parse("latest"), None);
        assert_eq!(Version::parse("v0.0.0-master+$Format:%H$"), None);
        assert_eq!(Version::parse("v2.1.0"), None);
        assert_eq!(Version::parse(""), None);
    }

    #[test]
    fn orders_by_minor_then_patch() {
        assert!(Version::new(1, 20, 9) < Version::new(1, 21, 0));
        assert!(Version::new(1, 23, 0).at_least(23));
        assert!(!Version::new(1, 22, 17).at_least(23));
    }
}
