//! The exit codes of every schedguard command, documented in the README.

/// No failing finding at or above --fail-on.
pub const OK: u8 = 0;
/// At least one failing finding at or above --fail-on.
pub const FAILED: u8 = 1;
/// The audit could not run properly: some check could not be evaluated
/// or the scan hit a problem. Partial results are still printed.
pub const INCOMPLETE: u8 = 2;
/// No kube-scheduler runs on this host.
pub const NO_SCHEDULER: u8 = 3;
/// The command line was wrong.
pub const USAGE: u8 = 64;
