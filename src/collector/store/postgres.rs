//! The PostgreSQL store, for several stateless collectors sharing one
//! database. The writer keeps one connection with its statements prepared
//! and writes a whole batch with a fixed number of statements (arrays
//! through `unnest`), in a REPEATABLE READ transaction: two collectors that
//! touch the same rows make one of them retry instead of losing an update.
//! Queries use two more connections. Lost connections are remade on the
//! next use.
//!
//! TLS: `sslmode=require` in the URL (or `--database-ca-file`) makes every
//! connection TLS, verified; `sslmode=disable`, or the default `prefer`
//! without a CA file, connects in the clear (for a local socket or a
//! loopback server).

use super::plan::{self, Loaded};
use super::postgres_tls::Rustls;
use super::schema::{self, Dialect, FINDING_COLUMNS, NODE_COLUMNS, REPORT_COLUMNS};
use super::{
    counts_of, parse_severity, parse_status, redact, summary_of, Change, ChangeFilter, Current,
    FindingFilter, Incoming, Node, Options, Outcome, ReportMeta, Store, StoreError, StoreFuture,
};
use std::collections::HashSet;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, IsolationLevel, NoTls, Row, Statement};

/// Connections for queries (each pipelines many queries at once).
const READERS: usize = 2;
/// Attempts of a batch that meets a concurrent writer.
const ATTEMPTS: u32 = 8;

/// A PostgreSQL error in one line: the server's message and code, or the
/// client's error chain.
pub fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        return text;
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn pg(doing: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |source| StoreError::Postgres { doing, source }
}

/// The six counts (pass, fail, warn, error, skip, total) from `first` on.
fn counts(row: &Row, first: usize) -> Result<crate::report::Summary, tokio_postgres::Error> {
    let mut values = [0i64; 6];
    for (i, v) in values.iter_mut().enumerate() {
        *v = row.try_get(first + i)?;
    }
    Ok(summary_of(values))
}

fn node_of(row: &Row) -> Result<Node, tokio_postgres::Error> {
    Ok(Node {
        node: row.try_get(0)?,
        hostname: row.try_get(1)?,
        machine_id: row.try_get(2)?,
        boot_id: row.try_get(3)?,
        agent_version: row.try_get(4)?,
        first_seen: row.try_get(5)?,
        last_received_at: row.try_get(6)?,
        last_created_at: row.try_get(7)?,
        last_report_id: row.try_get(8)?,
        summary: counts(row, 9)?,
        kept_reports: row.try_get(15)?,
        checks_digest: row.try_get(16)?,
    })
}

fn current_of(row: &Row) -> Result<Current, StoreError> {
    let get = pg("reading findings");
    let status: String = row.try_get(2).map_err(&get)?;
    let severity: String = row.try_get(3).map_err(&get)?;
    Ok(Current {
        node: row.try_get(0).map_err(&get)?,
        check: row.try_get(1).map_err(&get)?,
        status: parse_status(&status)?,
        severity: parse_severity(&severity)?,
        title: row.try_get(4).map_err(&get)?,
        message: row.try_get(5).map_err(&get)?,
        since: row.try_get(6).map_err(&get)?,
        report_id: row.try_get(7).map_err(&get)?,
    })
}

fn report_of(row: &Row) -> Result<ReportMeta, tokio_postgres::Error> {
    Ok(ReportMeta {
        report_id: row.try_get(0)?,
        node: row.try_get(1)?,
        created_at: row.try_get(2)?,
        received_at: row.try_get(3)?,
        summary: counts(row, 4)?,
    })
}

/// The writer's connection and its prepared statements.
struct Writer {
    client: Client,
    existing: Statement,
    nodes: Statement,
    findings: Statement,
    insert_reports: Statement,
    upsert_findings: Statement,
    delete_findings: Statement,
    insert_changes: Statement,
    upsert_nodes: Statement,
    prune: Statement,
}

impl Writer {
    async fn prepare(client: Client) -> Result<Writer, StoreError> {
        let p = pg("preparing the writer's statements");
        let existing = client
            .prepare("SELECT report_id, node FROM reports WHERE report_id = ANY($1::text[])")
            .await
            .map_err(&p)?;
        let nodes = client
            .prepare(&format!(
                "SELECT {NODE_COLUMNS} FROM nodes WHERE node = ANY($1::text[])"
            ))
            .await
            .map_err(&p)?;
        let findings = client
            .prepare(&format!(
                "SELECT {FINDING_COLUMNS} FROM findings WHERE node = ANY($1::text[])"
            ))
            .await
            .map_err(&p)?;
        let insert_reports = client
            .prepare(&format!(
                "INSERT INTO reports ({REPORT_COLUMNS}, body) SELECT * FROM unnest($1::text[], \
                 $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], \
                 $9::int8[], $10::int8[], $11::bytea[]) ON CONFLICT (report_id) DO NOTHING RETURNING report_id"
            ))
            .await
            .map_err(&p)?;
        let upsert_findings = client
            .prepare(&format!(
                "INSERT INTO findings ({FINDING_COLUMNS}) SELECT * FROM unnest($1::text[], $2::text[], \
                 $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::text[]) \
                 ON CONFLICT (node, check_id) DO UPDATE SET status = excluded.status, \
                 severity = excluded.severity, title = excluded.title, message = excluded.message, \
                 since = excluded.since, report_id = excluded.report_id"
            ))
            .await
            .map_err(&p)?;
        let delete_findings = client
            .prepare(
                "DELETE FROM findings WHERE (node, check_id) IN \
                 (SELECT * FROM unnest($1::text[], $2::text[]))",
            )
            .await
            .map_err(&p)?;
        let insert_changes = client
            .prepare(
                "INSERT INTO changes (node, check_id, at, report_id, from_status, to_status, severity, message) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[]) ON CONFLICT (report_id, check_id) DO NOTHING",
            )
            .await
            .map_err(&p)?;
        let upsert_nodes = client
            .prepare(&format!(
                "INSERT INTO nodes ({NODE_COLUMNS}) SELECT * FROM unnest($1::text[], $2::text[], \
                 $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::int8[], $9::text[], \
                 $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::int8[], $15::int8[], $16::int8[], \
                 $17::text[]) \
                 ON CONFLICT (node) DO UPDATE SET hostname = excluded.hostname, \
                 machine_id = excluded.machine_id, boot_id = excluded.boot_id, \
                 agent_version = excluded.agent_version, last_received_at = excluded.last_received_at, \
                 last_created_at = excluded.last_created_at, last_report_id = excluded.last_report_id, \
                 pass_count = excluded.pass_count, fail_count = excluded.fail_count, \
                 warn_count = excluded.warn_count, error_count = excluded.error_count, \
                 skip_count = excluded.skip_count, total_count = excluded.total_count, \
                 kept_reports = excluded.kept_reports, checks_digest = excluded.checks_digest"
            ))
            .await
            .map_err(&p)?;
        let prune = client
            .prepare(
                "DELETE FROM reports WHERE node = $1 AND report_id IN (SELECT report_id FROM reports \
                 WHERE node = $1 ORDER BY created_at DESC, report_id DESC LIMIT 1000000000 OFFSET $2)",
            )
            .await
            .map_err(&p)?;
        Ok(Writer {
            client,
            existing,
            nodes,
            findings,
            insert_reports,
            upsert_findings,
            delete_findings,
            insert_changes,
            upsert_nodes,
            prune,
        })
    }
}

/// Why one attempt at a batch failed.
enum Attempt {
    /// A concurrent writer got there first: try again with fresh state.
    Again(String),
    Failed(StoreError),
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Attempt {
        match &e {
            StoreError::Postgres { source, .. }
                if source.code().is_some_and(|c| {
                    [
                        SqlState::T_R_SERIALIZATION_FAILURE,
                        SqlState::T_R_DEADLOCK_DETECTED,
                        SqlState::UNIQUE_VIOLATION,
                    ]
                    .contains(c)
                }) =>
            {
                Attempt::Again(describe(source))
            }
            _ => Attempt::Failed(e),
        }
    }
}

pub struct PostgresStore {
    config: Config,
    tls: Option<Rustls>,
    target: String,
    keep: usize,
    writer: tokio::sync::Mutex<Option<Writer>>,
    readers: [Mutex<Option<Arc<Client>>>; READERS],
    next: AtomicUsize,
}

impl PostgresStore {
    /// Connects, migrates, and prepares the writer.
    pub async fn open(url: &str, options: &Options) -> Result<PostgresStore, StoreError> {
        let target = redact(url);
        let open_error = |reason: String| StoreError::Open {
            target: target.clone(),
            reason,
        };
        let mut config = Config::from_str(url).map_err(|e| open_error(e.to_string()))?;
        if let Some(password) = &options.password {
            config.password(password.as_bytes());
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("schedguard-collector");
        let tls = match (config.get_ssl_mode(), &options.ca_file) {
            (SslMode::Disable, _) => None,
            (SslMode::Require, ca) | (_, ca @ Some(_)) => {
                Some(Rustls::new(ca.as_deref()).map_err(open_error)?)
            }
            _ => None,
        };
        let store = PostgresStore {
            config,
            tls,
            target: target.clone(),
            keep: options.keep_reports,
            writer: tokio::sync::Mutex::new(None),
            readers: Default::default(),
            next: AtomicUsize::new(0),
        };
        let mut client = store.connect().await?;
        migrate(&mut client).await?;
        for statement in schema::POSTGRES_TUNING {
            if let Err(e) = client.batch_execute(statement).await {
                tracing::info!(
                    "this database does not take `{statement}` ({}); skipped",
                    describe(&e)
                );
            }
        }
        *store.writer.lock().await = Some(Writer::prepare(client).await?);
        Ok(store)
    }

    async fn connect(&self) -> Result<Client, StoreError> {
        let target = self.target.clone();
        let failed = |e: tokio_postgres::Error| StoreError::Open {
            target: target.clone(),
            reason: describe(&e),
        };
        let client = match &self.tls {
            None => {
                let (client, connection) = self.config.connect(NoTls).await.map_err(failed)?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::warn!("a PostgreSQL connection ended: {}", describe(&e));
                    }
                });
                client
            }
            Some(tls) => {
                let (client, connection) =
                    self.config.connect(tls.clone()).await.map_err(failed)?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::warn!("a PostgreSQL connection ended: {}", describe(&e));
                    }
                });
                client
            }
        };
        // Statements are prepared once per connection, often while the
        // tables are still small; a plan fixed then (a sequential scan)
        // would stay as they grow. Planning each execution costs little
        // beside a batch. Databases without the setting just skip it.
        if let Err(e) = client
            .batch_execute("SET plan_cache_mode = force_custom_plan")
            .await
        {
            tracing::debug!("plan_cache_mode not set: {}", describe(&e));
        }
        Ok(client)
    }

    /// A connection for queries, remade when it was lost.
    async fn reader(&self) -> Result<Arc<Client>, StoreError> {
        let slot = &self.readers[self.next.fetch_add(1, Ordering::Relaxed) % READERS];
        let current = slot.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(client) = current.filter(|c| !c.is_closed()) {
            return Ok(client);
        }
        let client = Arc::new(self.connect().await?);
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(client.clone());
        Ok(client)
    }

    async fn write_batch(&self, batch: Vec<Incoming>) -> Result<Vec<Outcome>, StoreError> {
        let mut slot = self.writer.lock().await;
        let mut attempt = 0;
        loop {
            attempt += 1;
            if slot.as_ref().is_none_or(|w| w.client.is_closed()) {
                *slot = None;
                *slot = Some(Writer::prepare(self.connect().await?).await?);
            }
            let writer = slot.as_mut().expect("connected above");
            match try_write(writer, &batch, self.keep).await {
                Ok(outcomes) => return Ok(outcomes),
                Err(Attempt::Again(why)) if attempt < ATTEMPTS => {
                    tracing::debug!("a concurrent write touched the same rows ({why}); retrying");
                    // Scattered, so that two collectors do not collide again.
                    let scatter = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| u64::from(d.subsec_nanos()) % 10);
                    tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt) + scatter))
                        .await;
                }
                Err(Attempt::Again(why)) => {
                    return Err(StoreError::Unavailable(format!(
                        "concurrent writes kept colliding ({why})"
                    )))
                }
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
    }
}

/// Brings the schema up to date. Several collectors may start at once: a
/// migration that collides with another collector's is retried, and then
/// finds the work done.
async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match migrate_once(client).await {
            Ok(()) => return Ok(()),
            Err(e @ StoreError::Migration { .. }) => return Err(e),
            Err(e) if attempt >= ATTEMPTS => return Err(e),
            Err(e) => {
                tracing::debug!("migration attempt {attempt} failed ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
    }
}

async fn migrate_once(client: &mut Client) -> Result<(), StoreError> {
    client
        .batch_execute(schema::MIGRATIONS_TABLE)
        .await
        .map_err(pg("creating schema_migrations"))?;
    let tx = client
        .transaction()
        .await
        .map_err(pg("starting the migration"))?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::int8 FROM schema_migrations",
            &[],
        )
        .await
        .and_then(|r| r.try_get(0))
        .map_err(pg("reading the schema version"))?;
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
        for statement in schema::statements(migration, Dialect::Postgres) {
            tx.batch_execute(&statement)
                .await
                .map_err(pg("applying a migration"))?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
            &[&migration.version, &migration.description, &now_millis()],
        )
        .await
        .map_err(pg("recording a migration"))?;
        tracing::info!(
            "database migrated to schema version {}: {}",
            migration.version,
            migration.description
        );
    }
    tx.commit().await.map_err(pg("committing the migration"))
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn try_write(
    w: &mut Writer,
    batch: &[Incoming],
    keep: usize,
) -> Result<Vec<Outcome>, Attempt> {
    let tx = w
        .client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .start()
        .await
        .map_err(pg("starting a write"))?;

    let ids: Vec<&str> = batch.iter().map(|r| r.report_id.as_str()).collect();
    let mut names: Vec<&str> = Vec::new();
    let mut unique = HashSet::new();
    for r in batch {
        if unique.insert(r.node.as_str()) {
            names.push(&r.node);
        }
    }
    let (by_id, by_node): ([&(dyn ToSql + Sync); 1], [&(dyn ToSql + Sync); 1]) = ([&ids], [&names]);
    let (existing, nodes) =
        tokio::try_join!(tx.query(&w.existing, &by_id), tx.query(&w.nodes, &by_node),)
            .map_err(pg("reading the state a batch touches"))?;
    let mut loaded = Loaded::default();
    for row in &existing {
        let get = pg("reading earlier deliveries");
        loaded
            .existing
            .insert(row.try_get(0).map_err(&get)?, row.try_get(1).map_err(&get)?);
    }
    for row in &nodes {
        let node = node_of(row).map_err(pg("reading nodes"))?;
        loaded.nodes.insert(node.node.clone(), node);
    }
    // Check states only of nodes whose checks may have changed.
    let changed = plan::needs_checks(batch, &loaded.nodes);
    if !changed.is_empty() {
        let rows = tx
            .query(&w.findings, &[&changed])
            .await
            .map_err(pg("reading the findings a batch changes"))?;
        for name in &changed {
            loaded.current.entry(name.to_string()).or_default();
        }
        for row in &rows {
            let current = current_of(row)?;
            loaded
                .current
                .entry(current.node.clone())
                .or_default()
                .insert(current.check.clone(), current);
        }
    }
    let plan = plan::plan(batch, loaded, keep);

    // Reports.
    let new: Vec<&Incoming> = plan.reports.iter().map(|&i| &batch[i]).collect();
    let counts: Vec<[i64; 6]> = new.iter().map(|r| counts_of(&r.summary)).collect();
    let column = |k: usize| counts.iter().map(|c| c[k]).collect::<Vec<i64>>();
    let (pass, fail, warn, error, skip, total) = (
        column(0),
        column(1),
        column(2),
        column(3),
        column(4),
        column(5),
    );
    let report_ids: Vec<&str> = new.iter().map(|r| r.report_id.as_str()).collect();
    let report_nodes: Vec<&str> = new.iter().map(|r| r.node.as_str()).collect();
    let created: Vec<i64> = new.iter().map(|r| r.created_at).collect();
    let received: Vec<i64> = new.iter().map(|r| r.received_at).collect();
    let bodies: Vec<&[u8]> = new.iter().map(|r| r.body.as_slice()).collect();
    let report_params: [&(dyn ToSql + Sync); 11] = [
        &report_ids,
        &report_nodes,
        &created,
        &received,
        &pass,
        &fail,
        &warn,
        &error,
        &skip,
        &total,
        &bodies,
    ];

    // Current findings.
    let u = &plan.upserts;
    let f_nodes: Vec<&str> = u.iter().map(|f| f.node.as_str()).collect();
    let f_checks: Vec<&str> = u.iter().map(|f| f.check.as_str()).collect();
    let f_status: Vec<&str> = u.iter().map(|f| f.status.as_str()).collect();
    let f_severity: Vec<&str> = u.iter().map(|f| f.severity.as_str()).collect();
    let f_title: Vec<&str> = u.iter().map(|f| f.title.as_str()).collect();
    let f_message: Vec<&str> = u.iter().map(|f| f.message.as_str()).collect();
    let f_since: Vec<i64> = u.iter().map(|f| f.since).collect();
    let f_report: Vec<&str> = u.iter().map(|f| f.report_id.as_str()).collect();
    let d_nodes: Vec<&str> = plan.deletes.iter().map(|d| d.0.as_str()).collect();
    let d_checks: Vec<&str> = plan.deletes.iter().map(|d| d.1.as_str()).collect();

    // Changes.
    let c = &plan.changes;
    let c_nodes: Vec<&str> = c.iter().map(|c| c.node.as_str()).collect();
    let c_checks: Vec<&str> = c.iter().map(|c| c.check.as_str()).collect();
    let c_at: Vec<i64> = c.iter().map(|c| c.at).collect();
    let c_report: Vec<&str> = c.iter().map(|c| c.report_id.as_str()).collect();
    let c_from: Vec<Option<&str>> = c.iter().map(|c| c.from.map(|s| s.as_str())).collect();
    let c_to: Vec<Option<&str>> = c.iter().map(|c| c.to.map(|s| s.as_str())).collect();
    let c_severity: Vec<&str> = c.iter().map(|c| c.severity.as_str()).collect();
    let c_message: Vec<&str> = c.iter().map(|c| c.message.as_str()).collect();

    // Nodes.
    let n = &plan.nodes;
    let n_counts: Vec<[i64; 6]> = n.iter().map(|n| counts_of(&n.summary)).collect();
    let n_column = |k: usize| n_counts.iter().map(|c| c[k]).collect::<Vec<i64>>();
    let n_names: Vec<&str> = n.iter().map(|n| n.node.as_str()).collect();
    let n_hostname: Vec<Option<&str>> = n.iter().map(|n| n.hostname.as_deref()).collect();
    let n_machine: Vec<Option<&str>> = n.iter().map(|n| n.machine_id.as_deref()).collect();
    let n_boot: Vec<Option<&str>> = n.iter().map(|n| n.boot_id.as_deref()).collect();
    let n_agent: Vec<&str> = n.iter().map(|n| n.agent_version.as_str()).collect();
    let n_first: Vec<i64> = n.iter().map(|n| n.first_seen).collect();
    let n_received: Vec<i64> = n.iter().map(|n| n.last_received_at).collect();
    let n_created: Vec<i64> = n.iter().map(|n| n.last_created_at).collect();
    let n_last: Vec<&str> = n.iter().map(|n| n.last_report_id.as_str()).collect();
    let (n_pass, n_fail, n_warn, n_error, n_skip, n_total) = (
        n_column(0),
        n_column(1),
        n_column(2),
        n_column(3),
        n_column(4),
        n_column(5),
    );
    let n_kept: Vec<i64> = n.iter().map(|n| n.kept_reports).collect();
    let n_digest: Vec<&str> = n.iter().map(|n| n.checks_digest.as_str()).collect();

    // All writes are sent at once (the connection pipelines them). When one
    // fails, the server refuses the ones after it ("transaction is
    // aborted"), so the errors are read in statement order: the first is
    // the cause, and it says whether to try again.
    let (inserted, upserted, deleted, recorded, noded) = tokio::join!(
        async {
            if new.is_empty() {
                Ok(Vec::new())
            } else {
                tx.query(&w.insert_reports, &report_params).await
            }
        },
        async {
            if u.is_empty() {
                Ok(0)
            } else {
                tx.execute(
                    &w.upsert_findings,
                    &[
                        &f_nodes,
                        &f_checks,
                        &f_status,
                        &f_severity,
                        &f_title,
                        &f_message,
                        &f_since,
                        &f_report,
                    ],
                )
                .await
            }
        },
        async {
            if d_nodes.is_empty() {
                Ok(0)
            } else {
                tx.execute(&w.delete_findings, &[&d_nodes, &d_checks]).await
            }
        },
        async {
            if c.is_empty() {
                Ok(0)
            } else {
                tx.execute(
                    &w.insert_changes,
                    &[
                        &c_nodes,
                        &c_checks,
                        &c_at,
                        &c_report,
                        &c_from,
                        &c_to,
                        &c_severity,
                        &c_message,
                    ],
                )
                .await
            }
        },
        async {
            if n.is_empty() {
                Ok(0)
            } else {
                tx.execute(
                    &w.upsert_nodes,
                    &[
                        &n_names,
                        &n_hostname,
                        &n_machine,
                        &n_boot,
                        &n_agent,
                        &n_first,
                        &n_received,
                        &n_created,
                        &n_last,
                        &n_pass,
                        &n_fail,
                        &n_warn,
                        &n_error,
                        &n_skip,
                        &n_total,
                        &n_kept,
                        &n_digest,
                    ],
                )
                .await
            }
        },
    );
    let write = pg("writing a batch");
    let inserted = inserted.map_err(&write)?;
    for result in [upserted, deleted, recorded, noded] {
        result.map_err(&write)?;
    }
    if inserted.len() != new.len() {
        // Another collector stored one of these reports since we looked.
        return Err(Attempt::Again(
            "a report of the batch was stored meanwhile".into(),
        ));
    }
    for name in &plan.prune {
        tx.execute(&w.prune, &[name, &(keep as i64)])
            .await
            .map_err(pg("pruning old reports"))?;
    }
    tx.commit().await.map_err(pg("committing a write"))?;
    Ok(plan.outcomes)
}

impl Store for PostgresStore {
    fn write(&self, batch: Vec<Incoming>) -> StoreFuture<'_, Vec<Outcome>> {
        Box::pin(self.write_batch(batch))
    }

    fn nodes(&self) -> StoreFuture<'_, Vec<Node>> {
        Box::pin(async move {
            let client = self.reader().await?;
            let rows = client
                .query(
                    &format!("SELECT {NODE_COLUMNS} FROM nodes ORDER BY node"),
                    &[],
                )
                .await
                .map_err(pg("listing nodes"))?;
            rows.iter()
                .map(|r| node_of(r).map_err(pg("listing nodes")))
                .collect()
        })
    }

    fn node(&self, node: String) -> StoreFuture<'_, Option<Node>> {
        Box::pin(async move {
            let client = self.reader().await?;
            let row = client
                .query_opt(
                    &format!("SELECT {NODE_COLUMNS} FROM nodes WHERE node = $1"),
                    &[&node],
                )
                .await
                .map_err(pg("reading a node"))?;
            row.as_ref()
                .map(node_of)
                .transpose()
                .map_err(pg("reading a node"))
        })
    }

    fn findings(&self, filter: FindingFilter) -> StoreFuture<'_, Vec<Current>> {
        Box::pin(async move {
            let (filter, values) = filter.to_sql(|n| format!("${n}"));
            let params: Vec<&(dyn ToSql + Sync)> =
                values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            let client = self.reader().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {FINDING_COLUMNS} FROM findings {filter} ORDER BY node, check_id"
                    ),
                    &params,
                )
                .await
                .map_err(pg("querying findings"))?;
            rows.iter().map(current_of).collect()
        })
    }

    fn reports(
        &self,
        node: String,
        limit: usize,
        before: Option<i64>,
    ) -> StoreFuture<'_, Vec<ReportMeta>> {
        Box::pin(async move {
            let client = self.reader().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {REPORT_COLUMNS} FROM reports WHERE node = $1 AND created_at < $2 \
                         ORDER BY created_at DESC, report_id DESC LIMIT $3"
                    ),
                    &[&node, &before.unwrap_or(i64::MAX), &(limit as i64)],
                )
                .await
                .map_err(pg("listing reports"))?;
            rows.iter()
                .map(|r| report_of(r).map_err(pg("listing reports")))
                .collect()
        })
    }

    fn report(&self, report_id: String) -> StoreFuture<'_, Option<(ReportMeta, Vec<u8>)>> {
        Box::pin(async move {
            let client = self.reader().await?;
            let row = client
                .query_opt(
                    &format!("SELECT {REPORT_COLUMNS}, body FROM reports WHERE report_id = $1"),
                    &[&report_id],
                )
                .await
                .map_err(pg("reading a report"))?;
            let Some(row) = row else {
                return Ok(None);
            };
            let meta = report_of(&row).map_err(pg("reading a report"))?;
            let body: Vec<u8> = row.try_get(10).map_err(pg("reading a report"))?;
            Ok(Some((meta, body)))
        })
    }

    fn changes(&self, filter: ChangeFilter) -> StoreFuture<'_, Vec<Change>> {
        Box::pin(async move {
            let client = self.reader().await?;
            let rows = client
                .query(
                    "SELECT node, check_id, at, report_id, from_status, to_status, severity, message \
                     FROM changes WHERE at >= $1 AND ($3::text IS NULL OR node = $3) \
                     ORDER BY at DESC, node, check_id LIMIT $2",
                    &[&filter.since, &(filter.limit as i64), &filter.node],
                )
                .await
                .map_err(pg("listing changes"))?;
            let get = pg("listing changes");
            let mut changes = Vec::new();
            for row in &rows {
                let from: Option<String> = row.try_get(4).map_err(&get)?;
                let to: Option<String> = row.try_get(5).map_err(&get)?;
                let severity: String = row.try_get(6).map_err(&get)?;
                changes.push(Change {
                    node: row.try_get(0).map_err(&get)?,
                    check: row.try_get(1).map_err(&get)?,
                    at: row.try_get(2).map_err(&get)?,
                    report_id: row.try_get(3).map_err(&get)?,
                    from: from.as_deref().map(parse_status).transpose()?,
                    to: to.as_deref().map(parse_status).transpose()?,
                    severity: parse_severity(&severity)?,
                    message: row.try_get(7).map_err(&get)?,
                });
            }
            Ok(changes)
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.reader().await?;
            client
                .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
                .await
                .map(|_| ())
                .map_err(pg("checking the database"))
        })
    }
}
