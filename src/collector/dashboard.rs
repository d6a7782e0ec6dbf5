//! The dashboard: server-rendered pages, no script, no build step. The
//! fleet at a glance (counts, a nodes × checks matrix coloured by status,
//! stale nodes, the day's changes), a page per node (findings with their
//! evidence and remediation, changes, stored reports), and the findings and
//! changes of the whole fleet with filters. A browser signs in with HTTP
//! Basic: any user name, a read token as the password.

use crate::checks::{catalogue, Finding, Severity, Status};
use crate::collector::html::{self, ago, esc, mark, page, time, url_part, Section};
use crate::collector::query::{self, now_millis, Params};
use crate::collector::reply::Problem;
use crate::collector::store::{urgency, Change, ChangeFilter, Current, FindingFilter, Node};
use crate::collector::tokens::valid_node_name;
use crate::collector::{auth, App};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;
use std::sync::Arc;

const DAY_MS: i64 = 86_400_000;

/// The stylesheet (public: it holds nothing about the fleet).
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        html::CSS,
    )
        .into_response()
}

/// A problem as a page, keeping its challenge so that the browser asks for
/// the token.
fn problem_page(problem: Problem) -> Response {
    let hint = if matches!(problem.status.as_u16(), 401 | 403) {
        "<p class=\"note\">Sign in with any user name and a read token as the password \
         (<code>schedguard collector token --read NAME</code> makes one).</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>{}</h1><p>{}</p>{hint}",
        problem.status.as_u16(),
        esc(&problem.message)
    );
    let mut response = page(problem.status, "Sign in", Section::None, "", &body);
    if let Some(challenge) = problem.challenge {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    if let Some(seconds) = problem.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn signed_in(app: &App, headers: &HeaderMap) -> Result<String, Problem> {
    auth::reader(&app.tokens(), headers, auth::BROWSER_CHALLENGE)
}

fn unavailable(e: impl std::fmt::Display) -> Problem {
    tracing::error!("a dashboard query failed: {e}");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "The database did not answer; see the collector's log.",
    )
    .retry_after(5)
}

macro_rules! attempt {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(problem) => return problem_page(problem),
        }
    };
}

/// Check IDs in catalogue order, then any others the fleet reports.
fn columns<'a>(checks: impl Iterator<Item = &'a str>) -> Vec<String> {
    let seen: BTreeSet<&str> = checks.collect();
    let mut ordered: Vec<String> = catalogue::CATALOGUE
        .iter()
        .filter(|c| seen.contains(c.id))
        .map(|c| c.id.to_string())
        .collect();
    for id in &seen {
        if catalogue::find(id).is_none() {
            ordered.push(id.to_string());
        }
    }
    ordered
}

fn node_link(node: &str) -> String {
    format!(
        "<a href=\"/nodes/{}\">{}</a>",
        esc(&url_part(node)),
        esc(node)
    )
}

fn check_title(id: &str) -> &str {
    catalogue::find(id).map_or("", |c| c.title)
}

/// `GET /`
// Limitation: the matrix shows every node on one page; beyond a few
// thousand nodes, use the findings page or the query API.
pub async fn fleet(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let reader = attempt!(signed_in(&app, &headers));
    let now = now_millis();
    let stale_before = app.stale_before(now);
    let loaded = tokio::try_join!(
        app.store.nodes(),
        app.store.findings(FindingFilter::default()),
        app.store.changes(ChangeFilter {
            node: None,
            since: now - DAY_MS,
            limit: 50,
        }),
    );
    let (nodes, findings, changes) = attempt!(loaded.map_err(unavailable));

    let mut states: HashMap<&str, BTreeMap<&str, &Current>> = HashMap::new();
    for f in &findings {
        states.entry(&f.node).or_default().insert(&f.check, f);
    }
    let failing_checks = |node: &str| {
        states.get(node).map_or(0, |m| {
            m.values().filter(|f| f.status == Status::Fail).count()
        })
    };
    let stale: Vec<&Node> = nodes
        .iter()
        .filter(|n| n.last_received_at < stale_before)
        .collect();
    let failing_nodes = nodes.iter().filter(|n| failing_checks(&n.node) > 0).count();
    let erroring_nodes = nodes
        .iter()
        .filter(|n| {
            states
                .get(n.node.as_str())
                .is_some_and(|m| m.values().any(|f| f.status == Status::Error))
        })
        .count();
    let mut by_severity: BTreeMap<Severity, BTreeSet<&str>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.status == Status::Fail) {
        by_severity.entry(f.severity).or_default().insert(&f.node);
    }

    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>Fleet</h1><p class=\"sub\">Each node's latest report. A node is stale after {} without a report.</p>",
        esc(&human(app.config.stale_after().as_secs()))
    );
    let _ = write!(
        body,
        "<section class=\"tiles\" id=\"summary\">\
         <div class=\"tile\"><b id=\"nodes-known\">{}</b>nodes</div>\
         <div class=\"tile fail\"><b id=\"nodes-failing\">{failing_nodes}</b>failing a check</div>\
         <div class=\"tile error\"><b>{erroring_nodes}</b>with checks in error</div>\
         <div class=\"tile stale\"><b id=\"nodes-stale\">{}</b>stale</div>",
        nodes.len(),
        stale.len()
    );
    for severity in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let count = by_severity.get(&severity).map_or(0, BTreeSet::len);
        let _ = write!(
            body,
            "<div class=\"tile{}\"><b>{count}</b><a href=\"/findings?status=fail&amp;severity={}\">failing a {} check</a></div>",
            if count > 0 { " fail" } else { "" },
            severity.as_str(),
            severity.as_str()
        );
    }
    body.push_str("</section>");

    body.push_str("<h2>Nodes × checks</h2>");
    if nodes.is_empty() {
        body.push_str("<p class=\"empty\">No node has reported yet.</p>");
    } else {
        body.push_str(&matrix(&nodes, &states, &findings, stale_before, now));
    }

    body.push_str("<h2 id=\"stale\">Stale nodes</h2>");
    if stale.is_empty() {
        body.push_str("<p class=\"empty\">None: every node reported recently.</p>");
    } else {
        body.push_str("<table class=\"list\" id=\"stale-nodes\"><tr><th>Node</th><th>Last report</th><th>Agent</th></tr>");
        for n in &stale {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{} ({})</td><td>{}</td></tr>",
                node_link(&n.node),
                time(n.last_received_at),
                ago(n.last_received_at, now),
                esc(&n.agent_version)
            );
        }
        body.push_str("</table>");
    }

    body.push_str("<h2>Changes in the last 24 hours</h2>");
    body.push_str(&changes_table(&changes, now, true));
    if changes.len() == 50 {
        body.push_str("<p><a href=\"/changes?since=24h\">All changes of the last 24 hours</a></p>");
    }
    page(StatusCode::OK, "Fleet", Section::Fleet, &reader, &body)
}

fn human(seconds: u64) -> String {
    match seconds {
        0..=119 => format!("{seconds} s"),
        120..=7199 => format!("{} min", seconds / 60),
        _ => format!("{} h", seconds / 3600),
    }
}

fn matrix(
    nodes: &[Node],
    states: &HashMap<&str, BTreeMap<&str, &Current>>,
    findings: &[Current],
    stale_before: i64,
    now: i64,
) -> String {
    let columns = columns(findings.iter().map(|f| f.check.as_str()));
    let mut out = String::new();
    out.push_str(
        "<div class=\"legend\"><span><span class=\"badge pass\">✓</span> pass</span>\
         <span><span class=\"badge fail\">✗</span> fail</span><span><span class=\"badge warn\">!</span> warn</span>\
         <span><span class=\"badge error\">?</span> error (could not be evaluated)</span>\
         <span><span class=\"badge skip\">–</span> skip</span><span>· not reported</span></div>",
    );
    out.push_str("<div class=\"scroll\"><table class=\"matrix\" id=\"matrix\"><thead><tr><th class=\"node\">Node</th><th>Last report</th>");
    for id in &columns {
        let _ = write!(
            out,
            "<th class=\"check\"><a href=\"/findings?check={}\" title=\"{}\">{}</a></th>",
            esc(&url_part(id)),
            esc(&format!("{id}: {}", check_title(id))),
            esc(id)
        );
    }
    out.push_str("</tr></thead><tbody>");

    // The nodes in most trouble first.
    let mut order: Vec<&Node> = nodes.iter().collect();
    let score = |n: &Node| {
        let m = states.get(n.node.as_str());
        let count = |s: Status| m.map_or(0, |m| m.values().filter(|f| f.status == s).count());
        (
            count(Status::Fail),
            count(Status::Error),
            count(Status::Warn),
        )
    };
    order.sort_by(|a, b| score(b).cmp(&score(a)).then(a.node.cmp(&b.node)));

    let empty = BTreeMap::new();
    for n in order {
        let stale = n.last_received_at < stale_before;
        let badge = if stale {
            " <span class=\"badge stale\">stale</span>"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr data-node=\"{}\"{}><th class=\"node\">{}{badge}</th><td class=\"when\" title=\"{}\">{}</td>",
            esc(&n.node),
            if stale { " class=\"stale\"" } else { "" },
            node_link(&n.node),
            time(n.last_received_at),
            ago(n.last_received_at, now)
        );
        let row = states.get(n.node.as_str()).unwrap_or(&empty);
        for id in &columns {
            let state = row.get(id.as_str());
            let status = state.map(|f| f.status);
            let class = status.map_or("none", Status::as_str);
            let tip = match state {
                Some(f) => format!("{id} {} ({}): {}", f.status, f.severity, f.message),
                None => format!("{id}: not in this node's report"),
            };
            let _ = write!(
                out,
                "<td class=\"cell s-{class}\" data-check=\"{}\" data-status=\"{class}\" title=\"{}\">{}</td>",
                esc(id),
                esc(&tip),
                mark(status)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

fn changes_table(changes: &[Change], now: i64, with_node: bool) -> String {
    if changes.is_empty() {
        return "<p class=\"empty\">No status changed.</p>".into();
    }
    let mut out = String::from("<table class=\"list changes\"><tr><th>When</th>");
    if with_node {
        out.push_str("<th>Node</th>");
    }
    out.push_str("<th>Check</th><th>From</th><th>To</th><th>Severity</th><th>Message</th></tr>");
    let status = |s: Option<Status>| {
        s.map_or(
            "<span class=\"note\">(none)</span>".into(),
            html::status_badge,
        )
    };
    for c in changes {
        let _ = write!(
            out,
            "<tr><td title=\"{}\">{}</td>",
            time(c.at),
            ago(c.at, now)
        );
        if with_node {
            let _ = write!(out, "<td>{}</td>", node_link(&c.node));
        }
        let _ = write!(
            out,
            "<td><a class=\"mono\" href=\"/findings?check={}\" title=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&url_part(&c.check)),
            esc(check_title(&c.check)),
            esc(&c.check),
            status(c.from),
            status(c.to),
            html::severity_badge(c.severity),
            esc(&c.message)
        );
    }
    out.push_str("</table>");
    out
}

/// `GET /nodes/{node}` (`?report=ID` shows an older stored report).
pub async fn node(
    State(app): State<Arc<App>>,
    Path(node): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let reader = attempt!(signed_in(&app, &headers));
    let now = now_millis();
    let not_found = |what: String| {
        page(
            StatusCode::NOT_FOUND,
            "Not found",
            Section::None,
            &reader,
            &format!(
                "<h1>Not found</h1><p>{}</p><p><a href=\"/\">Back to the fleet</a></p>",
                esc(&what)
            ),
        )
    };
    if !valid_node_name(&node) {
        return not_found(format!("{node:?} is not a node name."));
    }
    let Some(row) = attempt!(app.store.node(node.clone()).await.map_err(unavailable)) else {
        return not_found(format!("Node {node} has not reported yet."));
    };
    let params = Params::parse(query.as_deref());
    let wanted = params
        .get("report")
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| row.last_report_id.clone());
    let loaded = tokio::try_join!(
        app.store.report(wanted.clone()),
        app.store.changes(ChangeFilter {
            node: Some(node.clone()),
            since: 0,
            limit: 100,
        }),
        app.store.reports(node.clone(), 20, None),
    );
    let (report, changes, reports) = attempt!(loaded.map_err(unavailable));
    let Some((meta, body)) = report.filter(|(m, _)| m.node == node) else {
        return not_found(format!(
            "Node {node} has no stored report {wanted} (only the last {} are kept).",
            app.config.store.keep_reports
        ));
    };
    let envelope = attempt!(query::envelope(&body, app.config.max_report).map_err(unavailable));
    let report = &envelope["report"];
    let mut findings: Vec<Finding> = report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| serde_json::from_value(f.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    findings.sort_by(|a, b| {
        urgency(b.status)
            .cmp(&urgency(a.status))
            .then(b.severity.cmp(&a.severity))
            .then(a.check.cmp(&b.check))
    });

    let stale = row.last_received_at < app.stale_before(now);
    let latest = meta.report_id == row.last_report_id;
    let mut out = String::new();
    let _ = write!(
        out,
        "<h1>{}{}</h1><p class=\"sub\">{}</p>",
        esc(&row.node),
        if stale {
            " <span class=\"badge stale\">stale</span>"
        } else {
            ""
        },
        if latest {
            "Its latest report.".to_string()
        } else {
            format!(
                "An older report; <a href=\"/nodes/{}\">see the latest</a>.",
                esc(&url_part(&row.node))
            )
        }
    );
    let sender = &envelope["sender"];
    let text = |v: &serde_json::Value| esc(v.as_str().unwrap_or("unknown"));
    let _ = write!(
        out,
        "<dl class=\"facts\"><dt>Report</dt><dd class=\"mono\">{}</dd>\
         <dt>Made</dt><dd>{} ({})</dd><dt>Received</dt><dd>{}</dd>\
         <dt>Hostname</dt><dd>{}</dd><dt>Machine ID</dt><dd class=\"mono\">{}</dd><dt>Boot ID</dt><dd class=\"mono\">{}</dd>\
         <dt>Agent</dt><dd>{}</dd><dt>Kernel</dt><dd>{}</dd><dt>First seen</dt><dd>{}</dd></dl>",
        esc(&meta.report_id),
        time(meta.created_at),
        ago(meta.created_at, now),
        time(meta.received_at),
        text(&sender["hostname"]),
        text(&sender["machine_id"]),
        text(&sender["boot_id"]),
        text(&sender["agent_version"]),
        text(&report["host"]["kernel"]),
        time(row.first_seen),
    );

    let s = &meta.summary;
    let _ = write!(
        out,
        "<section class=\"tiles\"><div class=\"tile fail\"><b>{}</b>fail</div><div class=\"tile error\"><b>{}</b>error</div>\
         <div class=\"tile warn\"><b>{}</b>warn</div><div class=\"tile pass\"><b>{}</b>pass</div><div class=\"tile\"><b>{}</b>skip</div></section>",
        s.fail, s.error, s.warn, s.pass, s.skip
    );

    if let Some(targets) = report["targets"].as_array().filter(|t| !t.is_empty()) {
        out.push_str("<h2>Audited processes</h2><table class=\"list\"><tr><th>PID</th><th>Kind</th><th>Version</th><th>Config file</th></tr>");
        for t in targets {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                t["pid"].as_u64().unwrap_or(0),
                text(&t["kind"]),
                text(&t["version"]["value"]),
                esc(t["config_file"].as_str().unwrap_or("none"))
            );
        }
        out.push_str("</table>");
    }
    if let Some(problems) = report["problems"].as_array().filter(|p| !p.is_empty()) {
        out.push_str("<h2>Problems during the audit</h2><ul>");
        for p in problems {
            let _ = write!(out, "<li>{}</li>", text(p));
        }
        out.push_str("</ul>");
    }

    let _ = write!(
        out,
        "<h2>Findings ({})</h2><div id=\"findings\">",
        findings.len()
    );
    if findings.is_empty() {
        out.push_str("<p class=\"empty\">This report has no findings.</p>");
    }
    for f in &findings {
        out.push_str(&finding(f));
    }
    out.push_str("</div>");

    out.push_str("<h2>Status changes</h2>");
    out.push_str(&changes_table(&changes, now, false));

    out.push_str("<h2>Stored reports</h2><table class=\"list\"><tr><th>Made</th><th>Received</th><th>Fail</th><th>Error</th><th>Warn</th><th>Pass</th><th>Report</th></tr>");
    for r in &reports {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a class=\"mono\" href=\"/nodes/{}?report={}\">{}</a></td></tr>",
            time(r.created_at),
            time(r.received_at),
            r.summary.fail,
            r.summary.error,
            r.summary.warn,
            r.summary.pass,
            esc(&url_part(&row.node)),
            esc(&url_part(&r.report_id)),
            esc(&r.report_id)
        );
    }
    out.push_str("</table>");
    page(StatusCode::OK, &row.node, Section::None, &reader, &out)
}

/// One finding: its verdict in the summary line; message, evidence,
/// remediation and references inside. Problems are open.
fn finding(f: &Finding) -> String {
    let status = f.status.as_str();
    let open = matches!(f.status, Status::Fail | Status::Error | Status::Warn);
    let target = f
        .target
        .as_ref()
        .map_or(String::new(), |t| format!("{} (pid {})", t.kind, t.pid));
    let mut out = format!(
        "<details class=\"finding {status}\" data-check=\"{}\"{}><summary>{} <span class=\"id\">{}</span> {} <span>{}</span><span class=\"target\">{}</span></summary><div class=\"body\">",
        esc(&f.check),
        if open { " open" } else { "" },
        html::status_badge(f.status),
        esc(&f.check),
        html::severity_badge(f.severity),
        esc(&f.title),
        esc(&target)
    );
    let _ = write!(out, "<h4>Finding</h4><p>{}</p>", esc(&f.message));
    if !f.evidence.is_empty() {
        out.push_str("<h4>Evidence</h4><ul class=\"evidence\">");
        for e in &f.evidence {
            let _ = write!(
                out,
                "<li><code class=\"src\">{}</code> <code>{}</code></li>",
                esc(&e.source),
                esc(&e.detail)
            );
        }
        out.push_str("</ul>");
    }
    if !f.remediation.is_empty() && f.status != Status::Pass {
        let _ = write!(out, "<h4>Remediation</h4><p>{}</p>", esc(&f.remediation));
    }
    if !f.references.is_empty() {
        out.push_str("<h4>References</h4><ul>");
        for r in &f.references {
            let _ = write!(out, "<li>{}</li>", html::reference(r));
        }
        out.push_str("</ul>");
    }
    out.push_str("</div></details>");
    out
}

fn options(
    out: &mut String,
    name: &str,
    label: &str,
    chosen: Option<&str>,
    values: &[(String, String)],
) {
    let _ = write!(
        out,
        "<label>{label}<select name=\"{name}\"><option value=\"\">any</option>"
    );
    for (value, text) in values {
        let selected = if chosen == Some(value.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<option value=\"{}\"{selected}>{}</option>",
            esc(value),
            esc(text)
        );
    }
    out.push_str("</select></label>");
}

/// `GET /findings?check=&status=&severity=`: which nodes are in which state.
pub async fn findings(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let reader = attempt!(signed_in(&app, &headers));
    let now = now_millis();
    let params = Params::parse(query.as_deref());
    let status_text = params
        .get("status")
        .or(if query.is_none() { Some("fail") } else { None });
    let statuses = attempt!(query::statuses(status_text));
    let severity = attempt!(query::severity(params.get("severity")));
    let check = params.get("check").map(str::to_ascii_uppercase);
    let rows = attempt!(app
        .store
        .findings(FindingFilter {
            node: None,
            check: check.clone(),
            statuses,
            severity,
        })
        .await
        .map_err(unavailable));

    let mut out = String::from("<h1>Findings</h1><p class=\"sub\">The state of each check on each node, from its latest report.</p>");
    out.push_str("<form class=\"filter\" method=\"get\" action=\"/findings\">");
    let checks: Vec<(String, String)> = catalogue::CATALOGUE
        .iter()
        .map(|c| (c.id.to_string(), format!("{} {}", c.id, c.title)))
        .collect();
    options(&mut out, "check", "Check", check.as_deref(), &checks);
    let statuses: Vec<(String, String)> = Status::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), s.as_str().to_string()))
        .collect();
    options(&mut out, "status", "Status", status_text, &statuses);
    let severities: Vec<(String, String)> = ["critical", "high", "medium", "low", "info"]
        .iter()
        .map(|s| (s.to_string(), s.to_string()))
        .collect();
    options(
        &mut out,
        "severity",
        "Severity",
        params.get("severity"),
        &severities,
    );
    out.push_str("<button type=\"submit\">Show</button></form>");
    if let Some(c) = check.as_deref().and_then(catalogue::find) {
        let _ = write!(
            out,
            "<p><b class=\"mono\">{}</b> {}: {}</p><p class=\"note\">Fix: {}</p>",
            esc(c.id),
            esc(c.title),
            esc(c.rationale),
            esc(c.remediation)
        );
    }
    let _ = write!(out, "<p>{} finding(s).</p>", rows.len());
    if !rows.is_empty() {
        out.push_str("<table class=\"list\" id=\"finding-list\"><tr><th>Node</th><th>Check</th><th>Status</th><th>Severity</th><th>Since</th><th>Message</th></tr>");
        for f in &rows {
            let _ = write!(
                out,
                "<tr><td>{}</td><td><span class=\"mono\" title=\"{}\">{}</span></td><td>{}</td><td>{}</td><td title=\"{}\">{}</td><td>{}</td></tr>",
                node_link(&f.node),
                esc(&f.title),
                esc(&f.check),
                html::status_badge(f.status),
                html::severity_badge(f.severity),
                time(f.since),
                ago(f.since, now),
                esc(&f.message)
            );
        }
        out.push_str("</table>");
    }
    page(StatusCode::OK, "Findings", Section::Findings, &reader, &out)
}

/// `GET /changes?since=24h&node=`
pub async fn changes(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let reader = attempt!(signed_in(&app, &headers));
    let now = now_millis();
    let params = Params::parse(query.as_deref());
    let since_text = params.get("since").unwrap_or("24h");
    let since = attempt!(query::since(Some(since_text), now));
    let node = params
        .get("node")
        .filter(|n| valid_node_name(n))
        .map(String::from);
    let rows = attempt!(app
        .store
        .changes(ChangeFilter {
            node: node.clone(),
            since,
            limit: 1000,
        })
        .await
        .map_err(unavailable));
    let mut out = String::from("<h1>Status changes</h1>");
    let _ = write!(
        out,
        "<form class=\"filter\" method=\"get\" action=\"/changes\"><label>Since (a time or a duration back, e.g. 24h)<input name=\"since\" value=\"{}\"></label>\
         <label>Node<input name=\"node\" value=\"{}\"></label><button type=\"submit\">Show</button></form>",
        esc(since_text),
        esc(node.as_deref().unwrap_or(""))
    );
    let _ = write!(
        out,
        "<p>{} change(s) since {}.</p>",
        rows.len(),
        time(since)
    );
    out.push_str(&changes_table(&rows, now, true));
    page(StatusCode::OK, "Changes", Section::Changes, &reader, &out)
}
