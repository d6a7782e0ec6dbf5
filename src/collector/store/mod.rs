//! Storage behind one small trait: SQLite (one collector, the default) or
//! PostgreSQL (several stateless collectors), with the same schema and
//! migrations. Both keep the last N reports of each node, the current state
//! of every check on every node, and every status change ever seen.

pub mod plan;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "postgres")]
mod postgres_tls;
pub mod schema;
pub mod sqlite;

use crate::checks::{Severity, Status};
use crate::report::Summary;
use serde::Serialize;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

/// A check's state on a node as one report shows it: the worst status among
/// the check's findings (one per audited process), with that finding's
/// severity, title and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckState {
    pub check: String,
    pub status: Status,
    pub severity: Severity,
    pub title: String,
    pub message: String,
}

/// A validated report, ready to store.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub report_id: String,
    pub node: String,
    /// When the agent made the report (its clock), ms since the epoch.
    pub created_at: i64,
    /// When this collector received it (our clock), ms since the epoch.
    pub received_at: i64,
    pub hostname: Option<String>,
    pub machine_id: Option<String>,
    pub boot_id: Option<String>,
    pub agent_version: String,
    pub summary: Summary,
    pub checks: Vec<CheckState>,
    /// [`digest`] of `checks`: equal digests mean nothing to compare.
    pub digest: String,
    /// The envelope as JSON, gzipped.
    pub body: Vec<u8>,
}

/// A fingerprint of check states (SHA-256, hex). A report whose fingerprint
/// equals the node's stored one changes none of its checks, so the writer
/// need not read them: the common case, as most reports repeat the last.
pub fn digest(checks: &[CheckState]) -> String {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for c in checks {
        for part in [
            c.check.as_str(),
            c.status.as_str(),
            c.severity.as_str(),
            c.title.as_str(),
            c.message.as_str(),
        ] {
            context.update(part.as_bytes());
            context.update(&[0]);
        }
        context.update(b"\n");
    }
    context
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What storing one report did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Stored,
    /// Already stored by an earlier delivery of the same report.
    Duplicate,
    /// The report id is already taken by a report of another node.
    Conflict { node: String },
}

/// A node as the fleet sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    pub node: String,
    pub hostname: Option<String>,
    pub machine_id: Option<String>,
    pub boot_id: Option<String>,
    pub agent_version: String,
    pub first_seen: i64,
    pub last_received_at: i64,
    pub last_created_at: i64,
    pub last_report_id: String,
    /// Counts of findings by status in the last report.
    pub summary: Summary,
    /// Reports stored since the last pruning (retention bookkeeping).
    #[serde(skip)]
    pub kept_reports: i64,
    /// [`digest`] of the node's current check states.
    #[serde(skip)]
    pub checks_digest: String,
}

/// The current state of one check on one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Current {
    pub node: String,
    pub check: String,
    pub status: Status,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    /// When the check took this status (report time), ms since the epoch.
    pub since: i64,
    /// The report that last changed this row.
    pub report_id: String,
}

/// A check whose status changed on a node (or appeared, or disappeared).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub node: String,
    pub check: String,
    /// When the report showing the change was made, ms since the epoch.
    pub at: i64,
    pub report_id: String,
    /// None: the check was not in the node's previous report.
    pub from: Option<Status>,
    /// None: the check is no longer in the node's reports.
    pub to: Option<Status>,
    pub severity: Severity,
    pub message: String,
}

/// A stored report, without its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportMeta {
    pub report_id: String,
    pub node: String,
    pub created_at: i64,
    pub received_at: i64,
    pub summary: Summary,
}

/// Which current findings a query wants; empty fields match everything.
#[derive(Clone, Debug, Default)]
pub struct FindingFilter {
    pub node: Option<String>,
    pub check: Option<String>,
    pub statuses: Vec<Status>,
    pub severity: Option<Severity>,
}

impl FindingFilter {
    /// The WHERE clause (or nothing) and its text parameters, with
    /// placeholders written by `mark` (`?1` for SQLite, `$1` for
    /// PostgreSQL).
    pub fn to_sql(&self, mark: fn(usize) -> String) -> (String, Vec<String>) {
        let mut conditions = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let mut equal = |column: &str, value: &str, values: &mut Vec<String>| {
            values.push(value.to_string());
            conditions.push(format!("{column} = {}", mark(values.len())));
        };
        if let Some(node) = &self.node {
            equal("node", node, &mut values);
        }
        if let Some(check) = &self.check {
            equal("check_id", check, &mut values);
        }
        if let Some(severity) = self.severity {
            equal("severity", severity.as_str(), &mut values);
        }
        if !self.statuses.is_empty() {
            let marks: Vec<String> = self
                .statuses
                .iter()
                .map(|s| {
                    values.push(s.as_str().to_string());
                    mark(values.len())
                })
                .collect();
            conditions.push(format!("status IN ({})", marks.join(", ")));
        }
        if conditions.is_empty() {
            return (String::new(), values);
        }
        (format!("WHERE {}", conditions.join(" AND ")), values)
    }
}

/// Which changes a query wants, newest first.
#[derive(Clone, Debug)]
pub struct ChangeFilter {
    pub node: Option<String>,
    /// Only changes at or after this time (ms since the epoch).
    pub since: i64,
    pub limit: usize,
}

/// Why storage failed: what was being done, and the database's answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {target}: {reason}")]
    Open { target: String, reason: String },
    #[error("database migration to schema version {version} failed: {reason}")]
    Migration { version: i64, reason: String },
    #[error("SQLite: {doing}: {source}")]
    Sqlite {
        doing: &'static str,
        source: rusqlite::Error,
    },
    #[cfg(feature = "postgres")]
    #[error("PostgreSQL: {doing}: {}", postgres::describe(source))]
    Postgres {
        doing: &'static str,
        source: tokio_postgres::Error,
    },
    #[error("the database holds a value this collector cannot read: {0}")]
    Data(String),
    #[error("the database is not available: {0}")]
    Unavailable(String),
}

/// For rusqlite's row callbacks, which need `From`.
impl From<rusqlite::Error> for StoreError {
    fn from(source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            doing: "reading a row",
            source,
        }
    }
}

/// A boxed future, so that the trait can be used as `dyn Store`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The operations the collector needs. One writer calls `write`; any number
/// of requests call the rest at the same time.
pub trait Store: Send + Sync + 'static {
    /// Stores a batch in one transaction: reports, current state, changes,
    /// node rows and retention. Returns one outcome per report, in order.
    fn write(&self, batch: Vec<Incoming>) -> StoreFuture<'_, Vec<Outcome>>;
    /// Every node, by name.
    fn nodes(&self) -> StoreFuture<'_, Vec<Node>>;
    fn node(&self, node: String) -> StoreFuture<'_, Option<Node>>;
    /// Current findings, by node then check.
    fn findings(&self, filter: FindingFilter) -> StoreFuture<'_, Vec<Current>>;
    /// A node's stored reports, newest first, received before `before`.
    fn reports(
        &self,
        node: String,
        limit: usize,
        before: Option<i64>,
    ) -> StoreFuture<'_, Vec<ReportMeta>>;
    /// One stored report and its gzipped envelope.
    fn report(&self, report_id: String) -> StoreFuture<'_, Option<(ReportMeta, Vec<u8>)>>;
    fn changes(&self, filter: ChangeFilter) -> StoreFuture<'_, Vec<Change>>;
    /// Succeeds when the database answers.
    fn ping(&self) -> StoreFuture<'_, ()>;
}

/// Where the data lives, from `--database`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Target {
    /// `sqlite:PATH` (or a bare path), `postgres://...` or `postgresql://...`.
    pub fn parse(text: &str) -> Result<Target, String> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            if cfg!(feature = "postgres") {
                return Ok(Target::Postgres(text.to_string()));
            }
            return Err(
                "this schedguard was built without PostgreSQL support (cargo feature `postgres`)"
                    .into(),
            );
        }
        let path = text.strip_prefix("sqlite:").unwrap_or(text);
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() || path.contains("://") {
            return Err(format!(
                "{text:?} is not a database: use sqlite:PATH or postgres://USER@HOST/DB"
            ));
        }
        Ok(Target::Sqlite(PathBuf::from(path)))
    }

    /// For logs: the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Target::Sqlite(path) => format!("sqlite:{}", path.display()),
            Target::Postgres(url) => redact(url),
        }
    }
}

/// A URL with the password of its user-info replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_string(),
    }
}

/// How to open a database.
#[derive(Clone, Debug)]
pub struct Options {
    pub target: Target,
    /// Reports kept per node (older ones are pruned; changes are kept).
    pub keep_reports: usize,
    /// The PostgreSQL password, when not in the URL.
    pub password: Option<String>,
    /// CA certificates (PEM) for a PostgreSQL server reached over TLS.
    pub ca_file: Option<PathBuf>,
}

/// Opens the database and brings its schema up to date.
pub async fn open(options: &Options) -> Result<Arc<dyn Store>, StoreError> {
    match &options.target {
        Target::Sqlite(path) => {
            let store = sqlite::SqliteStore::open(path, options.keep_reports).await?;
            Ok(Arc::new(store))
        }
        #[cfg(feature = "postgres")]
        Target::Postgres(url) => {
            let store = postgres::PostgresStore::open(url, options).await?;
            Ok(Arc::new(store))
        }
        #[cfg(not(feature = "postgres"))]
        Target::Postgres(url) => Err(StoreError::Open {
            target: redact(url),
            reason: "built without PostgreSQL support".into(),
        }),
    }
}

/// How much a status asks for attention, the worst highest: fail, error,
/// warn, pass, skip. It picks a check's state when several processes were
/// audited, and orders findings on the dashboard.
pub fn urgency(status: Status) -> u8 {
    match status {
        Status::Fail => 4,
        Status::Error => 3,
        Status::Warn => 2,
        Status::Pass => 1,
        Status::Skip => 0,
    }
}

/// A status from its stored name.
pub fn parse_status(text: &str) -> Result<Status, StoreError> {
    Status::ALL
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| StoreError::Data(format!("unknown status {text:?}")))
}

/// A severity from its stored name.
pub fn parse_severity(text: &str) -> Result<Severity, StoreError> {
    [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ]
    .into_iter()
    .find(|s| s.as_str() == text)
    .ok_or_else(|| StoreError::Data(format!("unknown severity {text:?}")))
}

/// Counts as stored (non-negative integers) back to a summary.
pub fn summary_of(counts: [i64; 6]) -> Summary {
    let n = |v: i64| usize::try_from(v).unwrap_or(0);
    Summary {
        pass: n(counts[0]),
        fail: n(counts[1]),
        warn: n(counts[2]),
        error: n(counts[3]),
        skip: n(counts[4]),
        total: n(counts[5]),
    }
}

/// A summary as the six stored counts.
pub fn counts_of(summary: &Summary) -> [i64; 6] {
    [
        summary.pass,
        summary.fail,
        summary.warn,
        summary.error,
        summary.skip,
        summary.total,
    ]
    .map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_filters_become_one_where_clause_per_dialect() {
        let filter = FindingFilter {
            check: Some("SG-501".into()),
            statuses: vec![Status::Fail, Status::Error],
            ..Default::default()
        };
        let (sql, values) = filter.to_sql(|n| format!("${n}"));
        assert_eq!(sql, "WHERE check_id = $1 AND status IN ($2, $3)");
        assert_eq!(values, ["SG-501", "fail", "error"]);
        assert_eq!(FindingFilter::default().to_sql(|n| format!("?{n}")).0, "");
    }

    #[test]
    fn database_targets_parse_and_hide_passwords() {
        assert_eq!(
            Target::parse("sqlite:/var/lib/c.db"),
            Ok(Target::Sqlite("/var/lib/c.db".into()))
        );
        assert_eq!(
            Target::parse("/var/lib/c.db"),
            Ok(Target::Sqlite("/var/lib/c.db".into()))
        );
        assert!(Target::parse("mysql://x").is_err());
        assert_eq!(
            redact("postgres://fleet:s3cret@db.example:5432/fleet?sslmode=require"),
            "postgres://fleet:***@db.example:5432/fleet?sslmode=require"
        );
        assert_eq!(
            redact("postgres://fleet@db/fleet"),
            "postgres://fleet@db/fleet"
        );
    }
}
