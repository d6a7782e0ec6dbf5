//! The SQLite store: one file in WAL mode, one writing connection (used only
//! by the collector's single writer, one transaction per batch) and a few
//! read-only connections for queries, all called from blocking threads.
//!
//! `synchronous=FULL`: a report is on disk before the agent hears 201 and
//! deletes its own copy, so not even a power cut loses an acknowledged
//! report. The WAL turns that into one fsync per batch, not per report.

use super::plan::{self, Loaded};
use super::schema::{self, Dialect, FINDING_COLUMNS, NODE_COLUMNS, REPORT_COLUMNS};
use super::{
    counts_of, parse_severity, parse_status, summary_of, Change, ChangeFilter, Current,
    FindingFilter, Incoming, Node, Outcome, ReportMeta, Store, StoreError, StoreFuture,
};
use crate::checks::Status;
use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension, Row};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Idle read connections kept open.
const READERS: usize = 4;

// Limitation: one collector per SQLite file. Several processes on one file
// stay correct (each batch is an IMMEDIATE transaction) but wait on each
// other's locks; share PostgreSQL instead.
pub struct SqliteStore {
    path: PathBuf,
    keep: usize,
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
}

fn sql(doing: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { doing, source }
}

/// The six counts (pass, fail, warn, error, skip, total) from `first` on.
fn counts(row: &Row<'_>, first: usize) -> rusqlite::Result<crate::report::Summary> {
    let mut values = [0i64; 6];
    for (i, v) in values.iter_mut().enumerate() {
        *v = row.get(first + i)?;
    }
    Ok(summary_of(values))
}

fn node_of(row: &Row<'_>) -> rusqlite::Result<Node> {
    Ok(Node {
        node: row.get(0)?,
        hostname: row.get(1)?,
        machine_id: row.get(2)?,
        boot_id: row.get(3)?,
        agent_version: row.get(4)?,
        first_seen: row.get(5)?,
        last_received_at: row.get(6)?,
        last_created_at: row.get(7)?,
        last_report_id: row.get(8)?,
        summary: counts(row, 9)?,
        kept_reports: row.get(15)?,
        checks_digest: row.get(16)?,
    })
}

fn current_of(row: &Row<'_>) -> Result<Current, StoreError> {
    let text =
        |i: usize| -> Result<String, StoreError> { row.get(i).map_err(sql("reading a finding")) };
    Ok(Current {
        node: text(0)?,
        check: text(1)?,
        status: parse_status(&text(2)?)?,
        severity: parse_severity(&text(3)?)?,
        title: text(4)?,
        message: text(5)?,
        since: row.get(6).map_err(sql("reading a finding"))?,
        report_id: text(7)?,
    })
}

fn change_of(row: &Row<'_>) -> Result<Change, StoreError> {
    let get = sql("reading a change");
    let status = |i: usize| -> Result<Option<Status>, StoreError> {
        let text: Option<String> = row.get(i).map_err(&get)?;
        text.as_deref().map(parse_status).transpose()
    };
    Ok(Change {
        node: row.get(0).map_err(&get)?,
        check: row.get(1).map_err(&get)?,
        at: row.get(2).map_err(&get)?,
        report_id: row.get(3).map_err(&get)?,
        from: status(4)?,
        to: status(5)?,
        severity: parse_severity(&row.get::<_, String>(6).map_err(&get)?)?,
        message: row.get(7).map_err(&get)?,
    })
}

fn report_of(row: &Row<'_>) -> rusqlite::Result<ReportMeta> {
    Ok(ReportMeta {
        report_id: row.get(0)?,
        node: row.get(1)?,
        created_at: row.get(2)?,
        received_at: row.get(3)?,
        summary: counts(row, 4)?,
    })
}

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::Open {
        target: format!("sqlite:{}", path.display()),
        reason: e.to_string(),
    })?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(sql("setting the busy timeout"))?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    open_connection(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// Brings the schema up to date in one transaction; refuses a database
/// made by a newer collector.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("starting the migration"))?;
    tx.execute_batch(schema::MIGRATIONS_TABLE)
        .map_err(sql("creating schema_migrations"))?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(sql("reading the schema version"))?;
    if current > schema::latest() {
        return Err(StoreError::Migration {
            version: current,
            reason: format!(
                "the database was made by a newer collector (schema {current}, this one knows {}); upgrade schedguard",
                schema::latest()
            ),
        });
    }
    for migration in schema::MIGRATIONS.iter().filter(|m| m.version > current) {
        for statement in schema::statements(migration, Dialect::Sqlite) {
            tx.execute_batch(&statement)
                .map_err(|e| StoreError::Migration {
                    version: migration.version,
                    reason: e.to_string(),
                })?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?1, ?2, ?3)",
            params![migration.version, migration.description, now_millis()],
        )
        .map_err(sql("recording a migration"))?;
        tracing::info!(
            "database migrated to schema version {}: {}",
            migration.version,
            migration.description
        );
    }
    tx.commit().map_err(sql("committing the migration"))
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl SqliteStore {
    /// Opens (or creates, mode 0600) the database file and migrates it.
    pub async fn open(path: &Path, keep: usize) -> Result<SqliteStore, StoreError> {
        let path = path.to_path_buf();
        let opened = tokio::task::spawn_blocking(move || -> Result<SqliteStore, StoreError> {
            let target = format!("sqlite:{}", path.display());
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !dir.is_dir() {
                return Err(StoreError::Open {
                    target,
                    reason: format!("the directory {} does not exist", dir.display()),
                });
            }
            let created = !path.exists();
            let mut conn = open_connection(
                &path,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            if created {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(
                    |e| StoreError::Open {
                        target: target.clone(),
                        reason: format!("cannot make it private (chmod 600): {e}"),
                    },
                )?;
            }
            let mode: String = conn
                .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
                .map_err(sql("switching to WAL"))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Open {
                    target,
                    reason: format!("the file system does not allow WAL (journal_mode is {mode})"),
                });
            }
            // The writer keeps the hot pages (nodes, indexes) in a 64 MiB
            // cache instead of reading them back for every batch.
            conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA cache_size=-65536")
                .map_err(sql("setting synchronous=FULL"))?;
            migrate(&mut conn)?;
            Ok(SqliteStore {
                path,
                keep,
                writer: Arc::new(Mutex::new(conn)),
                readers: Arc::new(Mutex::new(Vec::new())),
            })
        });
        opened
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }

    /// Runs `f` on a read-only connection in a blocking thread.
    fn read<T, F>(&self, f: F) -> StoreFuture<'_, T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (path, pool) = (self.path.clone(), self.readers.clone());
        Box::pin(async move {
            let job = tokio::task::spawn_blocking(move || {
                let idle = pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let conn = match idle {
                    Some(conn) => conn,
                    None => open_reader(&path)?,
                };
                let result = f(&conn);
                let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
                if pool.len() < READERS {
                    pool.push(conn);
                }
                result
            });
            job.await
                .map_err(|e| StoreError::Unavailable(format!("a database query failed: {e}")))?
        })
    }
}

fn load(tx: &rusqlite::Transaction<'_>, batch: &[Incoming]) -> Result<Loaded, StoreError> {
    let mut loaded = Loaded::default();
    let mut existing = tx
        .prepare("SELECT node FROM reports WHERE report_id = ?1")
        .map_err(sql("preparing the duplicate check"))?;
    let mut node_row = tx
        .prepare(&format!("SELECT {NODE_COLUMNS} FROM nodes WHERE node = ?1"))
        .map_err(sql("preparing the node query"))?;
    for r in batch {
        if let Some(node) = existing
            .query_row([&r.report_id], |row| row.get::<_, String>(0))
            .optional()
            .map_err(sql("looking for an earlier delivery"))?
        {
            loaded.existing.insert(r.report_id.clone(), node);
        }
        if loaded.nodes.contains_key(&r.node) {
            continue;
        }
        if let Some(node) = node_row
            .query_row([&r.node], node_of)
            .optional()
            .map_err(sql("reading a node"))?
        {
            loaded.nodes.insert(r.node.clone(), node);
        }
    }

    let mut findings = tx
        .prepare(&format!(
            "SELECT {FINDING_COLUMNS} FROM findings WHERE node = ?1"
        ))
        .map_err(sql("preparing the findings query"))?;
    for name in plan::needs_checks(batch, &loaded.nodes) {
        let rows = findings
            .query_and_then([name], current_of)
            .map_err(sql("reading a node's findings"))?;
        let states = loaded.current.entry(name.to_string()).or_default();
        for row in rows {
            let current = row?;
            states.insert(current.check.clone(), current);
        }
    }
    Ok(loaded)
}

fn write_batch(
    conn: &mut Connection,
    batch: &[Incoming],
    keep: usize,
) -> Result<Vec<Outcome>, StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("starting a write"))?;
    let loaded = load(&tx, batch)?;
    let plan = plan::plan(batch, loaded, keep);
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO reports (report_id, node, created_at, received_at, pass_count, fail_count, \
                 warn_count, error_count, skip_count, total_count, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .map_err(sql("preparing the report insert"))?;
        for &i in &plan.reports {
            let r = &batch[i];
            let c = counts_of(&r.summary);
            insert
                .execute(params![
                    r.report_id,
                    r.node,
                    r.created_at,
                    r.received_at,
                    c[0],
                    c[1],
                    c[2],
                    c[3],
                    c[4],
                    c[5],
                    r.body
                ])
                .map_err(sql("storing a report"))?;
        }

        let mut upsert = tx
            .prepare(
                "INSERT INTO findings (node, check_id, status, severity, title, message, since, report_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT (node, check_id) DO UPDATE SET status = excluded.status, \
                 severity = excluded.severity, title = excluded.title, message = excluded.message, \
                 since = excluded.since, report_id = excluded.report_id",
            )
            .map_err(sql("preparing the findings upsert"))?;
        for f in &plan.upserts {
            upsert
                .execute(params![
                    f.node,
                    f.check,
                    f.status.as_str(),
                    f.severity.as_str(),
                    f.title,
                    f.message,
                    f.since,
                    f.report_id
                ])
                .map_err(sql("storing a finding"))?;
        }
        let mut delete = tx
            .prepare("DELETE FROM findings WHERE node = ?1 AND check_id = ?2")
            .map_err(sql("preparing the findings delete"))?;
        for (node, check) in &plan.deletes {
            delete
                .execute(params![node, check])
                .map_err(sql("deleting a finding"))?;
        }

        let mut change = tx
            .prepare(
                "INSERT INTO changes (node, check_id, at, report_id, from_status, to_status, severity, message) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (report_id, check_id) DO NOTHING",
            )
            .map_err(sql("preparing the change insert"))?;
        for c in &plan.changes {
            change
                .execute(params![
                    c.node,
                    c.check,
                    c.at,
                    c.report_id,
                    c.from.map(|s| s.as_str()),
                    c.to.map(|s| s.as_str()),
                    c.severity.as_str(),
                    c.message
                ])
                .map_err(sql("recording a change"))?;
        }

        let mut node = tx
            .prepare(&format!(
                "INSERT INTO nodes ({NODE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
                 ON CONFLICT (node) DO UPDATE SET hostname = excluded.hostname, machine_id = excluded.machine_id, \
                 boot_id = excluded.boot_id, agent_version = excluded.agent_version, \
                 last_received_at = excluded.last_received_at, last_created_at = excluded.last_created_at, \
                 last_report_id = excluded.last_report_id, pass_count = excluded.pass_count, \
                 fail_count = excluded.fail_count, warn_count = excluded.warn_count, \
                 error_count = excluded.error_count, skip_count = excluded.skip_count, \
                 total_count = excluded.total_count, kept_reports = excluded.kept_reports, \
                 checks_digest = excluded.checks_digest"
            ))
            .map_err(sql("preparing the node upsert"))?;
        for n in &plan.nodes {
            let c = counts_of(&n.summary);
            node.execute(params![
                n.node,
                n.hostname,
                n.machine_id,
                n.boot_id,
                n.agent_version,
                n.first_seen,
                n.last_received_at,
                n.last_created_at,
                n.last_report_id,
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                c[5],
                n.kept_reports,
                n.checks_digest
            ])
            .map_err(sql("storing a node"))?;
        }

        let mut prune = tx
            .prepare(
                "DELETE FROM reports WHERE node = ?1 AND report_id IN (SELECT report_id FROM reports \
                 WHERE node = ?1 ORDER BY created_at DESC, report_id DESC LIMIT 1000000000 OFFSET ?2)",
            )
            .map_err(sql("preparing the retention delete"))?;
        for name in &plan.prune {
            prune
                .execute(params![name, keep as i64])
                .map_err(sql("pruning old reports"))?;
        }
    }
    tx.commit().map_err(sql("committing a write"))?;
    Ok(plan.outcomes)
}

impl Store for SqliteStore {
    fn write(&self, batch: Vec<Incoming>) -> StoreFuture<'_, Vec<Outcome>> {
        let (writer, keep) = (self.writer.clone(), self.keep);
        Box::pin(async move {
            let job = tokio::task::spawn_blocking(move || {
                let mut conn = writer.lock().unwrap_or_else(|e| e.into_inner());
                write_batch(&mut conn, &batch, keep)
            });
            job.await
                .map_err(|e| StoreError::Unavailable(format!("the write failed: {e}")))?
        })
    }

    fn nodes(&self) -> StoreFuture<'_, Vec<Node>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(&format!("SELECT {NODE_COLUMNS} FROM nodes ORDER BY node"))
                .map_err(sql("listing nodes"))?;
            let rows = stmt.query_map([], node_of).map_err(sql("listing nodes"))?;
            rows.collect::<Result<_, _>>().map_err(sql("listing nodes"))
        })
    }

    fn node(&self, node: String) -> StoreFuture<'_, Option<Node>> {
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {NODE_COLUMNS} FROM nodes WHERE node = ?1"),
                [&node],
                node_of,
            )
            .optional()
            .map_err(sql("reading a node"))
        })
    }

    fn findings(&self, filter: FindingFilter) -> StoreFuture<'_, Vec<Current>> {
        self.read(move |conn| {
            let (filter, values) = filter.to_sql(|n| format!("?{n}"));
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {FINDING_COLUMNS} FROM findings {filter} ORDER BY node, check_id"
                ))
                .map_err(sql("querying findings"))?;
            let rows = stmt
                .query_and_then(params_from_iter(values.iter()), current_of)
                .map_err(sql("querying findings"))?;
            rows.collect()
        })
    }

    fn reports(
        &self,
        node: String,
        limit: usize,
        before: Option<i64>,
    ) -> StoreFuture<'_, Vec<ReportMeta>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {REPORT_COLUMNS} FROM reports WHERE node = ?1 AND created_at < ?2 \
                     ORDER BY created_at DESC, report_id DESC LIMIT ?3"
                ))
                .map_err(sql("listing reports"))?;
            let rows = stmt
                .query_map(
                    params![node, before.unwrap_or(i64::MAX), limit as i64],
                    report_of,
                )
                .map_err(sql("listing reports"))?;
            rows.collect::<Result<_, _>>()
                .map_err(sql("listing reports"))
        })
    }

    fn report(&self, report_id: String) -> StoreFuture<'_, Option<(ReportMeta, Vec<u8>)>> {
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {REPORT_COLUMNS}, body FROM reports WHERE report_id = ?1"),
                [&report_id],
                |row| Ok((report_of(row)?, row.get::<_, Vec<u8>>(10)?)),
            )
            .optional()
            .map_err(sql("reading a report"))
        })
    }

    fn changes(&self, filter: ChangeFilter) -> StoreFuture<'_, Vec<Change>> {
        self.read(move |conn| {
            let by_node = if filter.node.is_some() {
                "AND node = ?3"
            } else {
                "AND ?3 IS NULL"
            };
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT node, check_id, at, report_id, from_status, to_status, severity, message \
                     FROM changes WHERE at >= ?1 {by_node} ORDER BY at DESC, node, check_id LIMIT ?2"
                ))
                .map_err(sql("listing changes"))?;
            let rows = stmt
                .query_and_then(
                    params![filter.since, filter.limit as i64, filter.node],
                    change_of,
                )
                .map_err(sql("listing changes"))?;
            rows.collect()
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        self.read(|conn| {
            conn.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|_| ())
            .map_err(sql("checking the database"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Severity, Status};
    use crate::collector::store::CheckState;

    fn report(id: &str, node: &str, at: i64, status: Status) -> Incoming {
        let mut r = Incoming {
            report_id: id.into(),
            node: node.into(),
            created_at: at,
            received_at: at,
            hostname: None,
            machine_id: None,
            boot_id: None,
            agent_version: "0.1.0".into(),
            summary: Default::default(),
            checks: vec![CheckState {
                check: "SG-501".into(),
                status,
                severity: Severity::High,
                title: "t".into(),
                message: format!("SG-501 is {status}"),
            }],
            digest: String::new(),
            body: vec![1, 2, 3],
        };
        r.digest = crate::collector::store::digest(&r.checks);
        r
    }

    #[tokio::test]
    async fn a_real_file_keeps_reports_changes_and_schema_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("collector.db");
        let store = SqliteStore::open(&path, 3).await.unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        for i in 0..10 {
            let status = if i < 5 { Status::Fail } else { Status::Pass };
            let outcomes = store
                .write(vec![report(&format!("r{i}"), "a", i, status)])
                .await
                .unwrap();
            assert_eq!(outcomes, [Outcome::Stored]);
        }
        let again = store
            .write(vec![report("r9", "a", 9, Status::Pass)])
            .await
            .unwrap();
        assert_eq!(again, [Outcome::Duplicate]);
        drop(store);

        let store = SqliteStore::open(&path, 3).await.unwrap();
        let reports = store.reports("a".into(), 100, None).await.unwrap();
        assert!(reports.len() <= 4, "{} kept", reports.len());
        assert_eq!(reports[0].report_id, "r9");
        let changes = store
            .changes(ChangeFilter {
                node: Some("a".into()),
                since: 0,
                limit: 10,
            })
            .await
            .unwrap();
        let seen: Vec<_> = changes.iter().map(|c| (c.at, c.from, c.to)).collect();
        assert_eq!(
            seen,
            [
                (5, Some(Status::Fail), Some(Status::Pass)),
                (0, None, Some(Status::Fail))
            ]
        );
        let node = store.node("a".into()).await.unwrap().unwrap();
        assert_eq!(node.last_report_id, "r9");
        store.ping().await.unwrap();
    }

    #[tokio::test]
    async fn a_database_from_a_newer_collector_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("collector.db");
        drop(SqliteStore::open(&path, 3).await.unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations VALUES (999, 'future', 0)",
            [],
        )
        .unwrap();
        drop(conn);
        let error = SqliteStore::open(&path, 3).await.err().unwrap().to_string();
        assert!(error.contains("made by a newer collector"), "{error}");
    }
}
