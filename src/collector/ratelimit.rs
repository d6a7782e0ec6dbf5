//! The per-node rate limit: a token bucket for each node identity, refilled
//! at `--rate` and holding at most `--burst`, so that an agent emptying its
//! spool after an outage gets through quickly while a runaway one is held
//! to its rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Bucket {
    tokens: f64,
    at: Instant,
}

// Limitation: each collector process keeps its own buckets, so behind a
// load balancer a node may send its rate to each collector.
/// Buckets by node. Only nodes holding a write token reach it, so it holds
/// at most one bucket per node of the tokens file.
pub struct Limiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    pub fn new(per_second: f64, burst: f64) -> Limiter {
        Limiter {
            per_second,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one report from `node`'s bucket, or says how long until one
    /// is available (whole seconds, at least 1, as Retry-After wants).
    pub fn take(&self, node: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = match buckets.get_mut(node) {
            Some(b) => b,
            None => buckets.entry(node.to_string()).or_insert(Bucket {
                tokens: self.burst,
                at: now,
            }),
        };
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / self.per_second;
        Err(Duration::from_secs(wait.ceil().max(1.0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds_per_node() {
        let limiter = Limiter::new(0.5, 3.0);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take("a", start), Ok(()));
        }
        assert_eq!(limiter.take("a", start), Err(Duration::from_secs(2)));
        assert_eq!(
            limiter.take("b", start),
            Ok(()),
            "another node has its own bucket"
        );
        assert_eq!(limiter.take("a", start + Duration::from_secs(2)), Ok(()));
        assert!(limiter.take("a", start + Duration::from_secs(2)).is_err());
    }
}
