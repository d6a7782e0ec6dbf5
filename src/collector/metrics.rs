//! The collector's /metrics (Prometheus text format 0.0.4): the fleet as the
//! database shows it (nodes known, stale, failing per check and severity)
//! and this process's own ingest counters. Names follow the agent's:
//! `schedguard_collector_*`, `_total` for counters, base units.

use crate::checks::Status;
use crate::collector::store::{Current, Node};
use crate::report::prometheus::{escape, family};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Why an upload was refused; every reason is exported from the start.
pub const ERROR_REASONS: &[&str] = &[
    "unauthorized",
    "forbidden",
    "rate_limited",
    "too_large",
    "timeout",
    "unsupported_media_type",
    "bad_gzip",
    "malformed",
    "invalid",
    "unsupported_schema",
    "conflict",
    "overloaded",
    "storage",
];

/// Upper bounds of the latency histograms, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A metric family with one sample without labels.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// A cumulative histogram of durations.
pub struct Histogram {
    counts: Vec<AtomicU64>,
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            counts: BUCKETS.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str) {
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// This process's counters.
#[derive(Default)]
pub struct Metrics {
    pub stored: AtomicU64,
    pub duplicates: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    /// From the request's arrival to the answer, for accepted reports.
    pub ingest: Histogram,
    pub batches: AtomicU64,
    pub batch_reports: AtomicU64,
    pub write: Histogram,
    pub token_reload_failures: AtomicU64,
    /// Seconds since the epoch of the last successful (re)load.
    pub tokens_loaded_at: AtomicU64,
    /// (write, read) tokens loaded.
    pub tokens: Mutex<(usize, usize)>,
    pub connections_refused: AtomicU64,
}

/// What the database shows, read at each scrape.
pub struct Fleet<'a> {
    pub nodes: &'a [Node],
    /// Current findings with status fail.
    pub failing: &'a [Current],
    /// A node is stale when its last report was received before this (ms).
    pub stale_before: i64,
    /// Reports waiting for the writer.
    pub waiting: usize,
}

impl Metrics {
    pub fn refused(&self, reason: &'static str) {
        debug_assert!(ERROR_REASONS.contains(&reason), "{reason}");
        *self
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    pub fn batch_written(&self, reports: usize, took: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batch_reports
            .fetch_add(reports as u64, Ordering::Relaxed);
        self.write.observe(took);
    }

    /// The exposition text.
    pub fn render(&self, fleet: Option<&Fleet<'_>>) -> String {
        let mut out = String::new();
        family(
            &mut out,
            "schedguard_collector_build_info",
            "gauge",
            "The collector's version.",
        );
        let _ = writeln!(
            out,
            "schedguard_collector_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );

        single(
            &mut out,
            "schedguard_collector_database_up",
            "gauge",
            "1 when the database answered this scrape.",
            u8::from(fleet.is_some()),
        );
        if let Some(fleet) = fleet {
            render_fleet(&mut out, fleet);
        }

        family(
            &mut out,
            "schedguard_collector_reports_total",
            "counter",
            "Reports accepted by this collector: stored, or already stored (a redelivery).",
        );
        let _ = writeln!(
            out,
            "schedguard_collector_reports_total{{result=\"stored\"}} {}",
            self.stored.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "schedguard_collector_reports_total{{result=\"duplicate\"}} {}",
            self.duplicates.load(Ordering::Relaxed)
        );

        family(
            &mut out,
            "schedguard_collector_ingest_errors_total",
            "counter",
            "Uploads refused, by reason.",
        );
        let errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        for reason in ERROR_REASONS {
            let _ = writeln!(
                out,
                "schedguard_collector_ingest_errors_total{{reason=\"{reason}\"}} {}",
                errors.get(reason).copied().unwrap_or(0)
            );
        }
        drop(errors);

        family(
            &mut out,
            "schedguard_collector_ingest_duration_seconds",
            "histogram",
            "Time from an upload's arrival to its answer, for accepted reports.",
        );
        self.ingest
            .render(&mut out, "schedguard_collector_ingest_duration_seconds");

        single(
            &mut out,
            "schedguard_collector_write_batches_total",
            "counter",
            "Transactions written.",
            self.batches.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "schedguard_collector_write_batch_reports_total",
            "counter",
            "Reports in those transactions (divide by batches for the mean batch size).",
            self.batch_reports.load(Ordering::Relaxed),
        );
        family(
            &mut out,
            "schedguard_collector_write_duration_seconds",
            "histogram",
            "Time to write one transaction.",
        );
        self.write
            .render(&mut out, "schedguard_collector_write_duration_seconds");

        family(
            &mut out,
            "schedguard_collector_tokens",
            "gauge",
            "Tokens loaded from the tokens file, by kind.",
        );
        let (writes, reads) = *self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(
            out,
            "schedguard_collector_tokens{{kind=\"write\"}} {writes}"
        );
        let _ = writeln!(out, "schedguard_collector_tokens{{kind=\"read\"}} {reads}");
        single(
            &mut out,
            "schedguard_collector_tokens_loaded_timestamp_seconds",
            "gauge",
            "When the tokens file was last loaded.",
            self.tokens_loaded_at.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "schedguard_collector_token_reload_failures_total",
            "counter",
            "Reloads (SIGHUP) refused because the tokens file was invalid.",
            self.token_reload_failures.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "schedguard_collector_connections_refused_total",
            "counter",
            "Connections closed at once because --max-connections were open.",
            self.connections_refused.load(Ordering::Relaxed),
        );
        out
    }
}

fn render_fleet(out: &mut String, fleet: &Fleet<'_>) {
    single(
        out,
        "schedguard_collector_nodes",
        "gauge",
        "Nodes that have reported at least once.",
        fleet.nodes.len(),
    );
    let stale = fleet
        .nodes
        .iter()
        .filter(|n| n.last_received_at < fleet.stale_before)
        .count();
    single(
        out,
        "schedguard_collector_nodes_stale",
        "gauge",
        "Nodes without a report within --stale-after intervals.",
        stale,
    );

    family(
        out,
        "schedguard_collector_nodes_failing",
        "gauge",
        "Nodes whose last report fails a check, by check and severity.",
    );
    let mut failing: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for f in fleet.failing.iter().filter(|f| f.status == Status::Fail) {
        *failing
            .entry((f.check.as_str(), f.severity.as_str()))
            .or_default() += 1;
    }
    for ((check, severity), count) in failing {
        let _ = writeln!(
            out,
            "schedguard_collector_nodes_failing{{check=\"{}\",severity=\"{severity}\"}} {count}",
            escape(check)
        );
    }

    let newest = fleet
        .nodes
        .iter()
        .map(|n| n.last_received_at)
        .max()
        .unwrap_or(0);
    single(
        out,
        "schedguard_collector_last_report_timestamp_seconds",
        "gauge",
        "When the newest report of the fleet was received.",
        newest as f64 / 1000.0,
    );
    single(
        out,
        "schedguard_collector_write_queue",
        "gauge",
        "Reports waiting for the writer.",
        fleet.waiting,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(30));
        let mut out = String::new();
        h.render(&mut out, "x");
        assert!(out.contains("x_bucket{le=\"0.0025\"} 0\n"));
        assert!(out.contains("x_bucket{le=\"0.005\"} 1\n"));
        assert!(out.contains("x_bucket{le=\"0.05\"} 2\n"));
        assert!(out.contains("x_bucket{le=\"+Inf\"} 2\nx_sum 0.033\nx_count 2\n"));
    }

    #[test]
    fn every_refusal_reason_is_exported_from_the_start() {
        let text = Metrics::default().render(None);
        for reason in ERROR_REASONS {
            assert!(
                text.contains(&format!("reason=\"{reason}\"}} 0")),
                "{reason}"
            );
        }
        assert!(text.contains("schedguard_collector_database_up 0"));
    }
}
