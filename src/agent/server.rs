//! The agent's local endpoint: /metrics (Prometheus text) and /healthz, on
//! loopback by default.

use crate::agent::metrics::State;
use axum::extract::State as Shared;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::sync::{Arc, Mutex};

pub type SharedState = Arc<Mutex<State>>;

async fn metrics(Shared(state): Shared<SharedState>) -> impl IntoResponse {
    let text = state.lock().map(|s| s.render()).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

/// 200 once the first audit has finished; 503 before.
async fn healthz(Shared(state): Shared<SharedState>) -> impl IntoResponse {
    let ready = state.lock().map(|s| s.ready).unwrap_or(false);
    if ready {
        (StatusCode::OK, "ok\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: the first audit has not finished\n",
        )
    }
}

pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(state)
}
