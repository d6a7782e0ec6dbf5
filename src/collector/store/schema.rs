//! The schema and its migrations, shared by both databases. The SQL keeps to
//! what SQLite, PostgreSQL and PostgreSQL-compatible distributed databases
//! all accept: text keys (no sequences), BIGINT times in milliseconds since
//! the epoch, no triggers, no stored procedures. The only difference is the
//! name of the binary type, written `{blob}` here.
//!
//! Migrations only ever append: a released version is never edited.

// Limitation: verified against SQLite and PostgreSQL 15 only; CockroachDB
// and YugabyteDB were not available to test here.

/// One step of the schema.
pub struct Migration {
    pub version: i64,
    pub description: &'static str,
    /// Statements separated by `;`.
    pub sql: &'static str,
}

/// The database flavour, for the few words that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

// The columns the stores read, in the order their row readers (`node_of`,
// `current_of`, `report_of`) take them.
/// A node row.
pub const NODE_COLUMNS: &str = "node, hostname, machine_id, boot_id, agent_version, first_seen, \
    last_received_at, last_created_at, last_report_id, pass_count, fail_count, warn_count, \
    error_count, skip_count, total_count, kept_reports, checks_digest";
/// A current finding.
pub const FINDING_COLUMNS: &str =
    "node, check_id, status, severity, title, message, since, report_id";
/// A stored report, without its body.
pub const REPORT_COLUMNS: &str =
    "report_id, node, created_at, received_at, pass_count, fail_count, \
    warn_count, error_count, skip_count, total_count";

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "nodes, reports, current findings, status changes",
    sql: "
CREATE TABLE nodes (
    node TEXT PRIMARY KEY,
    hostname TEXT,
    machine_id TEXT,
    boot_id TEXT,
    agent_version TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_received_at BIGINT NOT NULL,
    last_created_at BIGINT NOT NULL,
    last_report_id TEXT NOT NULL,
    pass_count BIGINT NOT NULL,
    fail_count BIGINT NOT NULL,
    warn_count BIGINT NOT NULL,
    error_count BIGINT NOT NULL,
    skip_count BIGINT NOT NULL,
    total_count BIGINT NOT NULL,
    kept_reports BIGINT NOT NULL,
    checks_digest TEXT NOT NULL
);
CREATE TABLE reports (
    report_id TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    pass_count BIGINT NOT NULL,
    fail_count BIGINT NOT NULL,
    warn_count BIGINT NOT NULL,
    error_count BIGINT NOT NULL,
    skip_count BIGINT NOT NULL,
    total_count BIGINT NOT NULL,
    body {blob} NOT NULL
);
CREATE INDEX reports_by_node ON reports (node, created_at);
CREATE TABLE findings (
    node TEXT NOT NULL,
    check_id TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    since BIGINT NOT NULL,
    report_id TEXT NOT NULL,
    PRIMARY KEY (node, check_id)
);
CREATE INDEX findings_by_check ON findings (check_id, status);
CREATE TABLE changes (
    node TEXT NOT NULL,
    check_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    report_id TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (report_id, check_id)
);
CREATE INDEX changes_by_node ON changes (node, at);
CREATE INDEX changes_by_time ON changes (at)
",
}];

/// Storage settings that only PostgreSQL itself knows, applied at every
/// start (they are idempotent) and skipped where the database refuses them
/// (a compatible distributed database): bodies are gzip already, so no
/// second compression; room in each page of the rows updated with every
/// report, so that updates stay on their page (HOT) and the table does not
/// bloat between vacuums.
pub const POSTGRES_TUNING: &[&str] = &[
    "ALTER TABLE reports ALTER COLUMN body SET STORAGE EXTERNAL",
    "ALTER TABLE nodes SET (fillfactor = 50)",
    "ALTER TABLE findings SET (fillfactor = 80)",
];

/// The bookkeeping table, created before any migration runs.
pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// The newest schema version this collector knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// A migration's statements in a dialect.
pub fn statements(migration: &Migration, dialect: Dialect) -> Vec<String> {
    let blob = match dialect {
        Dialect::Sqlite => "BLOB",
        Dialect::Postgres => "BYTEA",
    };
    migration
        .sql
        .split(';')
        .map(|s| s.trim().replace("{blob}", blob))
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
    }

    #[test]
    fn statements_name_the_dialects_binary_type() {
        let pg = statements(&MIGRATIONS[0], Dialect::Postgres).join(";");
        assert!(pg.contains("body BYTEA NOT NULL") && !pg.contains("{blob}"));
        let lite = statements(&MIGRATIONS[0], Dialect::Sqlite).join(";");
        assert!(lite.contains("body BLOB NOT NULL"));
    }
}
