//! `/metrics` (Prometheus text), `/healthz` (the process answers) and
//! `/readyz` (broker and database reachable, not shutting down).

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicBool, Ordering},
};

use axum::{Router, extract::State, http::StatusCode, routing::get};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::worker::metrics as m;

/// What `/readyz` reports; set by the worker's tasks.
#[derive(Debug, Default)]
pub struct Readiness {
    amqp: AtomicBool,
    db: AtomicBool,
    draining: AtomicBool,
}

impl Readiness {
    pub fn set_amqp(&self, up: bool) {
        self.amqp.store(up, Ordering::Relaxed);
    }
    pub fn set_db(&self, up: bool) {
        self.db.store(up, Ordering::Relaxed);
    }
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }
    pub fn amqp(&self) -> bool {
        self.amqp.load(Ordering::Relaxed)
    }
    pub fn db(&self) -> bool {
        self.db.load(Ordering::Relaxed)
    }
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
    pub fn ready(&self) -> bool {
        self.amqp() && self.db() && !self.draining()
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus recorder (installed once; several workers in
/// one process, as in the tests, share it).
pub fn metrics_handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(m::PROCESSING_SECONDS.into()),
                    m::LATENCY_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(m::BATCH_SECONDS.into()),
                        m::LATENCY_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(m::BATCH_SIZE.into()), m::SIZE_BUCKETS)
                })
                .expect("static, non-empty bucket lists");
            let handle = match builder.install_recorder() {
                Ok(h) => h,
                // Another recorder is installed (an embedding program's):
                // keep ours private so /metrics still renders something.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            };
            m::describe();
            handle
        })
        .clone()
}

#[derive(Clone)]
struct AppState {
    metrics: PrometheusHandle,
    readiness: Arc<Readiness>,
}

pub fn router(metrics: PrometheusHandle, readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(AppState { metrics, readiness })
}

async fn render_metrics(State(state): State<AppState>) -> String {
    state.metrics.run_upkeep();
    state.metrics.render()
}

async fn ready(State(state): State<AppState>) -> (StatusCode, String) {
    let r = &state.readiness;
    let body = format!(
        "amqp={} db={} draining={}\n",
        r.amqp(),
        r.db(),
        r.draining()
    );
    if r.ready() {
        (StatusCode::OK, body)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, body)
    }
}

/// Serves until `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
}
