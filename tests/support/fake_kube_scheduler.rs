//! A stand-in kube-scheduler for integration tests. It accepts any argv and
//! waits. It exits when its parent goes away, so a test that is killed
//! leaves nothing behind.
//!
//! Environment:
//! - `FAKE_EXIT_AFTER_MS`: exit after this many milliseconds.

use std::time::{Duration, Instant};

fn parent() -> u32 {
    std::os::unix::process::parent_id()
}

fn main() {
    let started = Instant::now();
    let parent_at_start = parent();
    let exit_after = std::env::var("FAKE_EXIT_AFTER_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis);

    loop {
        if parent() != parent_at_start {
            return;
        }
        if exit_after.is_some_and(|after| started.elapsed() >= after) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
