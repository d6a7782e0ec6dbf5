//! Facts about the host itself: names and ids a report carries.

use crate::facts::Host;
use crate::host::identity::read_small;
use std::path::Path;

/// Reads hostname, machine id, boot id and kernel release under `root`.
pub fn host(root: &Path) -> Host {
    let read = |path: &str| {
        read_small(&root.join(path.trim_start_matches('/')))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    Host {
        hostname: read("/proc/sys/kernel/hostname").or_else(|| read("/etc/hostname")),
        machine_id: read("/etc/machine-id"),
        boot_id: read("/proc/sys/kernel/random/boot_id"),
        kernel: read("/proc/sys/kernel/osrelease"),
        root: root.display().to_string(),
    }
}
