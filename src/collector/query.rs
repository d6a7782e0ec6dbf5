//! The query API (read token): the fleet's nodes, one node with its current
//! findings and latest report, its stored reports, status changes (what
//! changed since yesterday), and which nodes are in which state for a check.
//! Times are RFC 3339 in UTC with milliseconds. See docs/collector-api.yaml.

use crate::checks::{Severity, Status};
use crate::collector::reply::{self, Problem};
use crate::collector::store::{Change, ChangeFilter, Current, FindingFilter, Node, ReportMeta};
use crate::collector::tokens::valid_node_name;
use crate::collector::{auth, ingest, App};
use crate::report::Summary;
use crate::time::rfc3339_millis;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

/// The most rows one answer holds.
pub const MAX_LIMIT: usize = 10_000;

/// Query parameters by name (the last one wins).
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Params {
        Params(
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// A parameter's value; empty values count as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

fn bad(message: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, message)
}

/// `status=fail,error`.
pub fn statuses(text: Option<&str>) -> Result<Vec<Status>, Problem> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|s| {
            Status::ALL
                .into_iter()
                .find(|k| k.as_str() == s.trim())
                .ok_or_else(|| {
                    bad(format!(
                        "status {s:?} is not one of pass, fail, warn, error, skip"
                    ))
                })
        })
        .collect()
}

pub fn severity(text: Option<&str>) -> Result<Option<Severity>, Problem> {
    text.map(|s| {
        crate::collector::store::parse_severity(s).map_err(|_| {
            bad(format!(
                "severity {s:?} is not one of info, low, medium, high, critical"
            ))
        })
    })
    .transpose()
}

/// `since=2026-12-03T00:00:00Z`, or a time back from now: `since=24h`.
pub fn since(text: Option<&str>, now: i64) -> Result<i64, Problem> {
    let Some(text) = text else {
        return Ok(0);
    };
    if let Ok(ms) = crate::time::parse_rfc3339_millis(text) {
        return Ok(ms);
    }
    let back = crate::time::parse_duration(text).map_err(|_| {
        bad(format!(
            "since {text:?} is neither an RFC 3339 time nor a duration such as 24h"
        ))
    })?;
    Ok(now - back.as_millis() as i64)
}

pub fn limit(text: Option<&str>, default: usize) -> Result<usize, Problem> {
    match text {
        None => Ok(default),
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(bad(format!(
                "limit {t:?} must be between 1 and {MAX_LIMIT}"
            ))),
        },
    }
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A node as the API shows it.
#[derive(Serialize)]
pub struct NodeView<'a> {
    pub node: &'a str,
    pub hostname: Option<&'a str>,
    pub machine_id: Option<&'a str>,
    pub boot_id: Option<&'a str>,
    pub agent_version: &'a str,
    pub first_seen: String,
    /// When the last report was received (the collector's clock).
    pub last_report_at: String,
    /// When the agent made it (its own clock).
    pub last_report_created_at: String,
    pub last_report_id: &'a str,
    /// No report within the stale window.
    pub stale: bool,
    pub summary: &'a Summary,
}

impl<'a> NodeView<'a> {
    pub fn of(node: &'a Node, stale_before: i64) -> NodeView<'a> {
        NodeView {
            node: &node.node,
            hostname: node.hostname.as_deref(),
            machine_id: node.machine_id.as_deref(),
            boot_id: node.boot_id.as_deref(),
            agent_version: &node.agent_version,
            first_seen: rfc3339_millis(node.first_seen),
            last_report_at: rfc3339_millis(node.last_received_at),
            last_report_created_at: rfc3339_millis(node.last_created_at),
            last_report_id: &node.last_report_id,
            stale: node.last_received_at < stale_before,
            summary: &node.summary,
        }
    }
}

#[derive(Serialize)]
struct FindingView<'a> {
    node: &'a str,
    check: &'a str,
    status: Status,
    severity: Severity,
    title: &'a str,
    message: &'a str,
    since: String,
    report_id: &'a str,
}

fn finding_view(f: &Current) -> FindingView<'_> {
    FindingView {
        node: &f.node,
        check: &f.check,
        status: f.status,
        severity: f.severity,
        title: &f.title,
        message: &f.message,
        since: rfc3339_millis(f.since),
        report_id: &f.report_id,
    }
}

#[derive(Serialize)]
struct ChangeView<'a> {
    node: &'a str,
    check: &'a str,
    at: String,
    from: Option<Status>,
    to: Option<Status>,
    severity: Severity,
    message: &'a str,
    report_id: &'a str,
}

fn change_view(c: &Change) -> ChangeView<'_> {
    ChangeView {
        node: &c.node,
        check: &c.check,
        at: rfc3339_millis(c.at),
        from: c.from,
        to: c.to,
        severity: c.severity,
        message: &c.message,
        report_id: &c.report_id,
    }
}

#[derive(Serialize)]
struct ReportView<'a> {
    report_id: &'a str,
    created_at: String,
    received_at: String,
    summary: &'a Summary,
}

fn report_view(r: &ReportMeta) -> ReportView<'_> {
    ReportView {
        report_id: &r.report_id,
        created_at: rfc3339_millis(r.created_at),
        received_at: rfc3339_millis(r.received_at),
        summary: &r.summary,
    }
}

fn storage(e: impl std::fmt::Display) -> Problem {
    tracing::error!("a query failed: {e}");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the database did not answer (see the collector's log)",
    )
    .retry_after(5)
}

fn node_name(node: &str) -> Result<(), Problem> {
    if valid_node_name(node) {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::NOT_FOUND,
            format!("{node:?} is not a node name"),
        ))
    }
}

/// Unpacks a stored (gzipped) envelope.
pub fn envelope(body: &[u8], limit: usize) -> Result<serde_json::Value, String> {
    let json = ingest::gunzip(body, limit).map_err(|(_, p)| p.message)?;
    serde_json::from_slice(&json).map_err(|e| format!("a stored report is not JSON: {e}"))
}

macro_rules! attempt {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(p) => return p.into_response(),
        }
    };
}

fn read(app: &App, headers: &HeaderMap) -> Result<String, Problem> {
    auth::reader(&app.tokens(), headers, auth::API_CHALLENGE)
}

/// `GET /v1/nodes`
pub async fn nodes(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    attempt!(read(&app, &headers));
    let nodes = attempt!(app.store.nodes().await.map_err(storage));
    let stale_before = app.stale_before(now_millis());
    let views: Vec<NodeView> = nodes
        .iter()
        .map(|n| NodeView::of(n, stale_before))
        .collect();
    reply::json(
        StatusCode::OK,
        &serde_json::json!({
            "stale_after_seconds": app.config.stale_after().as_secs_f64(),
            "nodes": views,
        }),
    )
}

/// `GET /v1/nodes/{node}`: the node, its current findings and its latest
/// report (the envelope as the agent sent it).
pub async fn node(
    State(app): State<Arc<App>>,
    Path(node): Path<String>,
    headers: HeaderMap,
) -> Response {
    attempt!(read(&app, &headers));
    attempt!(node_name(&node));
    let Some(row) = attempt!(app.store.node(node.clone()).await.map_err(storage)) else {
        return Problem::new(
            StatusCode::NOT_FOUND,
            format!("no report from node {node} yet"),
        )
        .into_response();
    };
    let findings = attempt!(app
        .store
        .findings(FindingFilter {
            node: Some(node.clone()),
            ..Default::default()
        })
        .await
        .map_err(storage));
    let latest = attempt!(app
        .store
        .report(row.last_report_id.clone())
        .await
        .map_err(storage));
    let report = match latest {
        Some((_, body)) => attempt!(envelope(&body, app.config.max_report).map_err(storage)),
        None => serde_json::Value::Null,
    };
    let stale_before = app.stale_before(now_millis());
    reply::json(
        StatusCode::OK,
        &serde_json::json!({
            "node": NodeView::of(&row, stale_before),
            "findings": findings.iter().map(finding_view).collect::<Vec<_>>(),
            "latest_report": report,
        }),
    )
}

/// `GET /v1/nodes/{node}/reports?limit=&before=`
pub async fn reports(
    State(app): State<Arc<App>>,
    Path(node): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    attempt!(read(&app, &headers));
    attempt!(node_name(&node));
    let params = Params::parse(query.as_deref());
    let limit = attempt!(limit(params.get("limit"), 100));
    let before = match params.get("before") {
        Some(t) => Some(attempt!(
            crate::time::parse_rfc3339_millis(t).map_err(|e| bad(format!("before: {e}")))
        )),
        None => None,
    };
    let rows = attempt!(app
        .store
        .reports(node, limit, before)
        .await
        .map_err(storage));
    reply::json(
        StatusCode::OK,
        &serde_json::json!({"reports": rows.iter().map(report_view).collect::<Vec<_>>()}),
    )
}

/// `GET /v1/nodes/{node}/reports/{id}`: the envelope as the agent sent it.
pub async fn report(
    State(app): State<Arc<App>>,
    Path((node, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    attempt!(read(&app, &headers));
    attempt!(node_name(&node));
    let found = attempt!(app
        .store
        .report(id.to_ascii_lowercase())
        .await
        .map_err(storage));
    match found {
        Some((meta, body)) if meta.node == node => {
            let value = attempt!(envelope(&body, app.config.max_report).map_err(storage));
            reply::json(StatusCode::OK, &value)
        }
        _ => Problem::new(
            StatusCode::NOT_FOUND,
            format!(
                "node {node} has no stored report {id} (only the last {} are kept)",
                app.config.store.keep_reports
            ),
        )
        .into_response(),
    }
}

/// `GET /v1/changes?since=&node=&limit=`: status changes, newest first.
pub async fn changes(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let node = Params::parse(query.as_deref())
        .get("node")
        .map(String::from);
    changes_of(&app, node, query, &headers).await
}

/// `GET /v1/nodes/{node}/changes?since=&limit=`
pub async fn node_changes(
    State(app): State<Arc<App>>,
    Path(node): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    changes_of(&app, Some(node), query, &headers).await
}

async fn changes_of(
    app: &App,
    node: Option<String>,
    query: Option<String>,
    headers: &HeaderMap,
) -> Response {
    attempt!(read(app, headers));
    if let Some(n) = &node {
        attempt!(node_name(n));
    }
    let params = Params::parse(query.as_deref());
    let filter = ChangeFilter {
        node,
        since: attempt!(since(params.get("since"), now_millis())),
        limit: attempt!(limit(params.get("limit"), 1000)),
    };
    let rows = attempt!(app.store.changes(filter).await.map_err(storage));
    reply::json(
        StatusCode::OK,
        &serde_json::json!({"changes": rows.iter().map(change_view).collect::<Vec<_>>()}),
    )
}

/// `GET /v1/findings?check=&status=&severity=&node=`: which nodes are in
/// which state, from their latest reports.
pub async fn findings(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    attempt!(read(&app, &headers));
    let params = Params::parse(query.as_deref());
    let filter = FindingFilter {
        node: params.get("node").map(String::from),
        check: params.get("check").map(|c| c.to_ascii_uppercase()),
        statuses: attempt!(statuses(params.get("status"))),
        severity: attempt!(severity(params.get("severity"))),
    };
    let rows = attempt!(app.store.findings(filter).await.map_err(storage));
    reply::json(
        StatusCode::OK,
        &serde_json::json!({"findings": rows.iter().map(finding_view).collect::<Vec<_>>()}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_or_a_duration_back() {
        assert_eq!(
            since(Some("24h"), 100_000_000).unwrap(),
            100_000_000 - 86_400_000
        );
        assert_eq!(since(Some("1970-01-01T00:00:01Z"), 0).unwrap(), 1000);
        assert_eq!(since(None, 5).unwrap(), 0);
        assert!(since(Some("yesterday"), 0).is_err());
    }

    #[test]
    fn statuses_are_a_comma_list_of_known_names() {
        assert_eq!(
            statuses(Some("fail,error")).unwrap(),
            [Status::Fail, Status::Error]
        );
        assert!(statuses(Some("failed")).is_err());
        assert!(Params::parse(Some("check=SG-501&status="))
            .get("status")
            .is_none());
    }
}
