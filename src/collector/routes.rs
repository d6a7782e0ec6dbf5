//! The collector's routes, and its own endpoints: /metrics, /healthz (the
//! process answers) and /readyz (the database answers too).

use crate::checks::Status;
use crate::collector::reply::Problem;
use crate::collector::store::FindingFilter;
use crate::collector::{auth, dashboard, ingest, metrics::Fleet, query, App};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

/// How long /readyz and /metrics wait for the database.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(3);

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/reports", post(ingest::post_report))
        .route("/v1/nodes", get(query::nodes))
        .route("/v1/nodes/{node}", get(query::node))
        .route("/v1/nodes/{node}/reports", get(query::reports))
        .route("/v1/nodes/{node}/reports/{id}", get(query::report))
        .route("/v1/nodes/{node}/changes", get(query::node_changes))
        .route("/v1/changes", get(query::changes))
        .route("/v1/findings", get(query::findings))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/", get(dashboard::fleet))
        .route("/nodes/{node}", get(dashboard::node))
        .route("/findings", get(dashboard::findings))
        .route("/changes", get(dashboard::changes))
        .route("/dashboard.css", get(dashboard::stylesheet))
        // The ingest handler reads the body itself, within --max-body.
        .layer(DefaultBodyLimit::disable())
        .with_state(app)
}

async fn healthz() -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], "ok\n").into_response()
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    match tokio::time::timeout(DATABASE_TIMEOUT, app.store.ping()).await {
        Ok(Ok(())) => ([(header::CONTENT_TYPE, "text/plain")], "ready\n").into_response(),
        Ok(Err(e)) => {
            // The reason goes to the log: this endpoint needs no token.
            tracing::warn!("/readyz: {e}");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database does not answer (see the collector's log)",
            )
            .into_response()
        }
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the database did not answer within {DATABASE_TIMEOUT:?}"),
        )
        .into_response(),
    }
}

async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if !app.config.public_metrics {
        if let Err(p) = auth::reader(&app.tokens(), &headers, auth::API_CHALLENGE) {
            return p.into_response();
        }
    }
    let fleet = async {
        let nodes = app.store.nodes().await?;
        let failing = app
            .store
            .findings(FindingFilter {
                statuses: vec![Status::Fail],
                ..Default::default()
            })
            .await?;
        Ok::<_, crate::collector::store::StoreError>((nodes, failing))
    };
    let loaded = match tokio::time::timeout(DATABASE_TIMEOUT, fleet).await {
        Ok(Ok(loaded)) => Some(loaded),
        Ok(Err(e)) => {
            tracing::warn!("/metrics without the fleet: {e}");
            None
        }
        Err(_) => None,
    };
    let stale_before = app.stale_before(query::now_millis());
    let fleet = loaded.as_ref().map(|(nodes, failing)| Fleet {
        nodes,
        failing,
        stale_before,
        waiting: app.writer.waiting(),
    });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(fleet.as_ref()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    /// The API as docs/collector-api.yaml describes it.
    const SPEC: &str = include_str!("../../docs/collector-api.yaml");

    #[test]
    fn every_api_route_is_in_the_openapi_file() {
        for path in [
            "/v1/reports",
            "/v1/nodes",
            "/v1/nodes/{node}",
            "/v1/nodes/{node}/reports",
            "/v1/nodes/{node}/reports/{id}",
            "/v1/nodes/{node}/changes",
            "/v1/changes",
            "/v1/findings",
            "/metrics",
            "/healthz",
            "/readyz",
        ] {
            assert!(
                SPEC.contains(&format!("\n  {path}:\n")),
                "{path} is not documented"
            );
        }
    }
}
