//! `POST /v1/reports`: an agent's upload, checked in the order that costs
//! least first (token, rate, encoding, size), then decompressed within a
//! limit, parsed, checked against the sender's identity and handed to the
//! writer. Each refusal has the status the agent acts on: 401/403 keep the
//! report and retry slowly, 429/503 retry after Retry-After, other 4xx drop
//! it, 2xx and 409 mean delivered.

use crate::checks::{Severity, Status};
use crate::collector::reply::{self, Problem};
use crate::collector::store::{urgency, CheckState, Incoming, Outcome};
use crate::collector::tokens::valid_node_name;
use crate::collector::writer::Refused;
use crate::collector::{auth, App, Peer};
use crate::report::Summary;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use http_body_util::BodyExt;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const ENVELOPE_SCHEMA: &str = crate::agent::upload::ENVELOPE_SCHEMA;
pub const REPORT_SCHEMA: &str = crate::report::json::REPORT_SCHEMA;

/// How long a client may take to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Bodies larger than this are decoded on a blocking thread.
const INLINE_DECODE: usize = 64 << 10;
/// A body refused before it was read is read and dropped, up to this much,
/// before the answer: a connection closed with unread data is reset, and
/// the client might see the reset (and retry) instead of the answer.
const DRAIN_LIMIT: u64 = 16 << 20;

/// A refusal and the metric reason it counts under.
type Refusal = (&'static str, Problem);

#[derive(Deserialize)]
struct Envelope<'a> {
    schema: String,
    report_id: String,
    created_at: String,
    sender: Sender,
    #[serde(borrow)]
    report: ReportBody<'a>,
}

#[derive(Deserialize)]
struct Sender {
    node: String,
    hostname: Option<String>,
    machine_id: Option<String>,
    boot_id: Option<String>,
    agent_version: String,
}

/// The parts of a `schedguard.report/v1` the collector reads; the rest
/// (evidence, remediation...) is only kept in the stored body, so it is
/// skipped here rather than copied.
#[derive(Deserialize)]
struct ReportBody<'a> {
    schema: String,
    #[serde(borrow)]
    findings: Vec<FindingHead<'a>>,
}

/// A finding's verdict, borrowing from the body where it can.
#[derive(Deserialize)]
struct FindingHead<'a> {
    #[serde(borrow)]
    check: Cow<'a, str>,
    #[serde(borrow)]
    title: Cow<'a, str>,
    status: Status,
    severity: Severity,
    #[serde(borrow)]
    message: Cow<'a, str>,
}

/// Only the schema names, to tell "another version" from "broken".
#[derive(Deserialize)]
struct Versions {
    schema: Option<serde_json::Value>,
    report: Option<ReportVersion>,
}

#[derive(Deserialize)]
struct ReportVersion {
    schema: Option<serde_json::Value>,
}

/// The handler.
pub async fn post_report(
    State(app): State<Arc<App>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let mut body = Some(body);
    let result = receive(&app, &headers, &mut body).await;
    if let Some(unread) = body {
        drain(unread).await;
    }
    match result {
        Ok(response) => {
            app.metrics.ingest.observe(started.elapsed());
            response
        }
        Err((reason, problem)) => {
            app.metrics.refused(reason);
            let from = peer.map(|Extension(p)| p.0.to_string()).unwrap_or_default();
            if matches!(reason, "unauthorized" | "rate_limited" | "overloaded") {
                tracing::debug!(
                    "upload from {from} refused ({}): {}",
                    problem.status,
                    problem.message
                );
            } else {
                tracing::warn!(
                    "upload from {from} refused ({}): {}",
                    problem.status,
                    problem.message
                );
            }
            problem.into_response()
        }
    }
}

/// Checks and stores an upload; takes `body` out when it reads it, so that
/// a body left there was refused unread.
async fn receive(
    app: &App,
    headers: &HeaderMap,
    body: &mut Option<Body>,
) -> Result<Response, Refusal> {
    let node = auth::writer(&app.tokens(), headers).map_err(|p| {
        let reason = if p.status == StatusCode::UNAUTHORIZED {
            "unauthorized"
        } else {
            "forbidden"
        };
        (reason, p)
    })?;
    if let Err(wait) = app.limiter.take(&node, Instant::now()) {
        let problem = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "node {node} sent more than its rate ({}/min, bursts of {}); retry in {}s",
                app.config.rate_per_second * 60.0,
                app.config.burst,
                wait.as_secs()
            ),
        )
        .retry_after(wait.as_secs());
        return Err(("rate_limited", problem));
    }

    let gzipped = encoding(headers)?;
    if let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if length > app.config.max_body {
            if length as u64 > DRAIN_LIMIT {
                // Too much to read just to be polite: close on it.
                body.take();
            }
            return Err(too_large(format!(
                "the body is {length} bytes; this collector takes at most {} (--max-body)",
                app.config.max_body
            )));
        }
    }
    let raw = read_body(body.take().unwrap_or_default(), app.config.max_body).await?;
    let received_at = now_millis();

    let max_report = app.config.max_report;
    let inline = raw.len() <= INLINE_DECODE;
    let decode = move || -> Result<Incoming, Refusal> {
        if gzipped {
            // Each thread inflates into the same buffer again and again
            // (about six times the body), rather than allocating it anew.
            thread_local! {
                static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
            }
            BUFFER.with_borrow_mut(|json| {
                let result = match gunzip_into(&raw, max_report, json) {
                    Ok(()) => parse(json, raw, received_at),
                    Err(e) => Err(e),
                };
                if json.capacity() > 1 << 20 {
                    *json = Vec::new();
                }
                result
            })
        } else {
            let stored = gzip(&raw);
            parse(&raw, stored, received_at)
        }
    };
    let incoming = if inline {
        decode()?
    } else {
        tokio::task::spawn_blocking(decode).await.map_err(|e| {
            (
                "storage",
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("decoding failed: {e}"),
                ),
            )
        })??
    };
    if incoming.node != node {
        return Err((
            "forbidden",
            Problem::new(
                StatusCode::FORBIDDEN,
                format!(
                    "the write token of node {node} cannot write reports of node {}; give each agent its own node's token (or fix its node_name)",
                    incoming.node
                ),
            ),
        ));
    }

    let report_id = incoming.report_id.clone();
    match app.writer.submit(incoming).await {
        Ok(Outcome::Stored) => {
            app.metrics
                .stored
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(reply::json(
                StatusCode::CREATED,
                &serde_json::json!({"report_id": report_id, "result": "stored"}),
            ))
        }
        Ok(Outcome::Duplicate) => {
            app.metrics
                .duplicates
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(reply::json(
                StatusCode::OK,
                &serde_json::json!({"report_id": report_id, "result": "duplicate"}),
            ))
        }
        Ok(Outcome::Conflict { node: other }) => Err((
            "conflict",
            Problem::new(
                StatusCode::CONFLICT,
                format!("report id {report_id} is already taken by a report of node {other}"),
            ),
        )),
        Err(Refused::Overloaded) => Err((
            "overloaded",
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many reports are waiting to be written; retry shortly",
            )
            .retry_after(2),
        )),
        Err(Refused::Stopping) => Err((
            "storage",
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the collector is stopping")
                .retry_after(5),
        )),
        Err(Refused::Failed(_)) => Err((
            "storage",
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the report could not be stored (database error, see the collector's log); retry later",
            )
            .retry_after(10),
        )),
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn too_large(message: String) -> Refusal {
    (
        "too_large",
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, message),
    )
}

fn unsupported(message: String) -> Refusal {
    (
        "unsupported_media_type",
        Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message),
    )
}

/// True for gzip, false for identity; anything else is refused.
fn encoding(headers: &HeaderMap) -> Result<bool, Refusal> {
    if let Some(kind) = headers.get(header::CONTENT_TYPE) {
        let kind = kind.to_str().unwrap_or_default();
        let essence = kind.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(unsupported(format!(
                "Content-Type {kind:?} is not supported; send application/json"
            )));
        }
    }
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    match value
        .to_str()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "gzip" | "x-gzip" => Ok(true),
        "identity" | "" => Ok(false),
        other => Err(unsupported(format!(
            "Content-Encoding {other:?} is not supported; send gzip or no encoding"
        ))),
    }
}

/// Reads the body within the size limit and the time limit.
async fn read_body(mut body: Body, limit: usize) -> Result<Vec<u8>, Refusal> {
    let read = async {
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                (
                    "malformed",
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        format!("cannot read the body: {e}"),
                    ),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() + data.len() > limit {
                    drain(body).await;
                    return Err(too_large(format!(
                        "the body is larger than {limit} bytes (--max-body)"
                    )));
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(bytes)
    };
    tokio::time::timeout(BODY_TIMEOUT, read)
        .await
        .map_err(|_| {
            (
                "timeout",
                Problem::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("the body did not arrive within {}s", BODY_TIMEOUT.as_secs()),
                ),
            )
        })?
}

/// Reads and drops what is left of a body, up to DRAIN_LIMIT bytes and
/// BODY_TIMEOUT.
async fn drain(mut body: Body) {
    let read = async {
        let mut seen: u64 = 0;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen += data.len() as u64;
                if seen > DRAIN_LIMIT {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(BODY_TIMEOUT, read).await;
}

/// Decompresses at most `limit` bytes: a small body that inflates beyond
/// it (a gzip bomb) is refused without being inflated further.
pub fn gunzip(raw: &[u8], limit: usize) -> Result<Vec<u8>, Refusal> {
    let mut json = Vec::new();
    gunzip_into(raw, limit, &mut json)?;
    Ok(json)
}

/// [`gunzip`] into a buffer (emptied first).
fn gunzip_into(raw: &[u8], limit: usize, json: &mut Vec<u8>) -> Result<(), Refusal> {
    json.clear();
    json.reserve((raw.len() * 6).min(limit));
    let read = flate2::read::GzDecoder::new(raw)
        .take(limit as u64 + 1)
        .read_to_end(json);
    if let Err(e) = read {
        return Err((
            "bad_gzip",
            Problem::new(
                StatusCode::BAD_REQUEST,
                format!("the body is not valid gzip ({e}), though Content-Encoding says gzip"),
            ),
        ));
    }
    if json.len() > limit {
        return Err(too_large(format!(
            "the body decompresses to more than {limit} bytes (--max-report)"
        )));
    }
    Ok(())
}

fn gzip(json: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(json);
    encoder.finish().unwrap_or_default()
}

fn bad(message: String) -> Refusal {
    ("invalid", Problem::new(StatusCode::BAD_REQUEST, message))
}

/// A UUID in its text form (8-4-4-4-12 hex digits).
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A check ID as the collector stores it (`SG-501`).
fn is_check_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Parses and checks an envelope.
pub fn parse(json: &[u8], stored: Vec<u8>, received_at: i64) -> Result<Incoming, Refusal> {
    let envelope: Envelope = match serde_json::from_slice(json) {
        Ok(e) => e,
        Err(e) if e.is_data() => {
            schema_versions(json)?;
            return Err(bad(format!(
                "the body is not a {ENVELOPE_SCHEMA} envelope: {e}"
            )));
        }
        Err(e) => {
            return Err((
                "malformed",
                Problem::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")),
            ))
        }
    };
    if envelope.schema != ENVELOPE_SCHEMA {
        return Err(unknown_schema(
            "envelope schema",
            &envelope.schema,
            ENVELOPE_SCHEMA,
        ));
    }
    if envelope.report.schema != REPORT_SCHEMA {
        return Err(unknown_schema(
            "report.schema",
            &envelope.report.schema,
            REPORT_SCHEMA,
        ));
    }
    if !is_uuid(&envelope.report_id) {
        return Err(bad(format!(
            "report_id {:?} is not a UUID",
            envelope.report_id
        )));
    }
    let report_id = envelope.report_id.to_ascii_lowercase();
    if !valid_node_name(&envelope.sender.node) {
        return Err(bad(format!(
            "sender.node {:?} is not a valid node name (letters, digits, '.', '-', '_'; at most 253)",
            envelope.sender.node
        )));
    }
    let created_at = crate::time::parse_rfc3339_millis(&envelope.created_at)
        .map_err(|e| bad(format!("created_at: {e}")))?;

    let findings = &envelope.report.findings;
    let mut checks: BTreeMap<&str, &FindingHead> = BTreeMap::new();
    let summary = Summary::of_statuses(findings.iter().map(|f| f.status));
    for f in findings {
        if !is_check_id(&f.check) {
            return Err(bad(format!(
                "finding check {:?} is not a check ID such as SG-501",
                f.check
            )));
        }
        // Limitation: the fleet view keeps one state per check and node (the
        // worst of its targets); the stored report keeps every target's.
        let worse = checks
            .get(f.check.as_ref())
            .is_none_or(|kept| urgency(f.status) > urgency(kept.status));
        if worse {
            checks.insert(&f.check, f);
        }
    }
    let checks: Vec<CheckState> = checks
        .into_values()
        .map(|f| CheckState {
            check: f.check.to_string(),
            status: f.status,
            severity: f.severity,
            title: f.title.to_string(),
            message: f.message.to_string(),
        })
        .collect();
    let digest = crate::collector::store::digest(&checks);

    let sender = envelope.sender;
    Ok(Incoming {
        report_id,
        node: sender.node,
        created_at,
        received_at,
        hostname: sender.hostname,
        machine_id: sender.machine_id,
        boot_id: sender.boot_id,
        agent_version: sender.agent_version,
        summary,
        checks,
        digest,
        body: stored,
    })
}

fn unknown_schema(field: &str, found: &str, known: &str) -> Refusal {
    (
        "unsupported_schema",
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{field} {found:?} is not supported; this collector reads {known} (upgrade the collector)"),
        ),
    )
}

/// On a body that did not fit the envelope: refuses it as another schema
/// version when it names one.
fn schema_versions(json: &[u8]) -> Result<(), Refusal> {
    let Ok(versions) = serde_json::from_slice::<Versions>(json) else {
        return Ok(());
    };
    let text = |v: &Option<serde_json::Value>| {
        v.as_ref().map(|v| {
            v.as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string())
        })
    };
    if let Some(schema) = text(&versions.schema).filter(|s| s != ENVELOPE_SCHEMA) {
        return Err(unknown_schema("envelope schema", &schema, ENVELOPE_SCHEMA));
    }
    if let Some(schema) = versions
        .report
        .and_then(|r| text(&r.schema))
        .filter(|s| s != REPORT_SCHEMA)
    {
        return Err(unknown_schema("report.schema", &schema, REPORT_SCHEMA));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(schema: &str, node: &str, findings: &str) -> Vec<u8> {
        format!(
            r#"{{"schema":"{schema}","report_id":"0b6f6c1e-8f0a-4c4e-9d6a-2b1c3d4e5f60","created_at":"2026-12-03T21:20:31.042Z",
            "sender":{{"node":"{node}","hostname":"h","machine_id":null,"boot_id":null,"agent_version":"0.1.0"}},
            "report":{{"schema":"schedguard.report/v1","findings":[{findings}]}}}}"#
        )
        .into_bytes()
    }

    fn finding(check: &str, status: &str, pid: u32) -> String {
        format!(
            r#"{{"check":"{check}","title":"t","status":"{status}","severity":"high","target":{{"pid":{pid},"kind":"kube-scheduler"}},"message":"m{pid}","evidence":[],"remediation":"r","references":[]}}"#
        )
    }

    fn refusal(json: &[u8]) -> (&'static str, u16, String) {
        let (reason, p) = parse(json, Vec::new(), 0).expect_err("refused");
        (reason, p.status.as_u16(), p.message)
    }

    #[test]
    fn the_worst_finding_of_a_check_is_its_state() {
        let body = envelope(
            ENVELOPE_SCHEMA,
            "cp-1",
            &[
                finding("SG-501", "pass", 1),
                finding("SG-501", "fail", 2),
                finding("SG-101", "skip", 1),
            ]
            .join(","),
        );
        let incoming = parse(&body, Vec::new(), 7).unwrap();
        assert_eq!(incoming.created_at, 1_796_332_831_042);
        assert_eq!(incoming.checks.len(), 2);
        let sg501 = incoming
            .checks
            .iter()
            .find(|c| c.check == "SG-501")
            .unwrap();
        assert_eq!((sg501.status, sg501.message.as_str()), (Status::Fail, "m2"));
        assert_eq!(incoming.summary.total, 3);
    }

    #[test]
    fn broken_bodies_are_refused_naming_the_problem() {
        let (reason, status, message) = refusal(b"{\"schema\": ");
        assert_eq!((reason, status), ("malformed", 400));
        assert!(
            message.contains("malformed JSON") && message.contains("line 1 column"),
            "{message}"
        );

        let (reason, status, message) = refusal(br#"{"schema":"schedguard.upload/v1"}"#);
        assert_eq!((reason, status), ("invalid", 400));
        assert!(message.contains("missing field `report_id`"), "{message}");

        let (_, status, message) = refusal(&envelope(ENVELOPE_SCHEMA, "cp 1", ""));
        assert_eq!(status, 400);
        assert!(message.contains("sender.node"), "{message}");

        let (_, status, message) = refusal(&envelope(
            ENVELOPE_SCHEMA,
            "cp-1",
            &finding("<b>", "fail", 1),
        ));
        assert_eq!(status, 400);
        assert!(message.contains("not a check ID"), "{message}");
    }

    #[test]
    fn other_schema_versions_get_422_even_when_their_shape_differs() {
        let (reason, status, message) = refusal(&envelope("schedguard.upload/v2", "cp-1", ""));
        assert_eq!((reason, status), ("unsupported_schema", 422));
        assert!(message.contains("schedguard.upload/v2"), "{message}");
        let (_, status, _) = refusal(br#"{"schema":"schedguard.upload/v2","whatever":1}"#);
        assert_eq!(status, 422);
        let (_, status, message) = refusal(
            br#"{"schema":"schedguard.upload/v1","report":{"schema":"schedguard.report/v9"}}"#,
        );
        assert_eq!(status, 422);
        assert!(message.contains("report.schema"), "{message}");
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 4 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 64 << 10);
        let (reason, problem) = gunzip(&bomb, 1 << 20).unwrap_err();
        assert_eq!((reason, problem.status.as_u16()), ("too_large", 413));
        assert_eq!(gunzip(&bomb, 8 << 20).unwrap().len(), 4 << 20);
        let (reason, _) = gunzip(b"not gzip", 1 << 20).unwrap_err();
        assert_eq!(reason, "bad_gzip");
    }
}
