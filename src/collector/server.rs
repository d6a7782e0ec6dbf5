//! Accepting connections: TLS handshakes (or plain HTTP when asked for),
//! HTTP/1.1 with keep-alive, a limit on open connections, time limits on
//! handshakes and request headers (a client that dribbles bytes is cut
//! off), and a graceful stop that lets requests in flight finish.

use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::collector::metrics::Metrics;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a stop waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The client's address, for logs.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// The TLS configuration in use; replaced on reload.
pub type TlsSlot = Arc<RwLock<Arc<rustls::ServerConfig>>>;

/// Serves until `stop` turns true, then waits (a while) for open
/// connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsSlot>,
    router: Router,
    max_connections: usize,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(max_connections));
    let (closing, closed) = watch::channel(false);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors, most likely: give others time
                // to close theirs.
                tracing::warn!("cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics
                .connections_refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let config = tls
            .as_ref()
            .map(|slot| slot.read().unwrap_or_else(|e| e.into_inner()).clone());
        let (router, closed) = (router.clone(), closed.clone());
        tokio::spawn(async move {
            match config {
                Some(config) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => connection(tls, peer, router, closed).await,
                        Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
                    }
                }
                None => connection(stream, peer, router, closed).await,
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = closing.send(true);
    let drained = permits.acquire_many(max_connections as u32);
    if tokio::time::timeout(DRAIN_TIMEOUT, drained).await.is_err() {
        tracing::warn!("some connections were still busy after {DRAIN_TIMEOUT:?}; closing them");
    }
}

async fn connection<I>(io: I, peer: SocketAddr, router: Router, mut closed: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let inner = TowerToHyperService::new(router);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        hyper::service::Service::call(&inner, request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!("connection with {peer}: {e}");
            }
            return;
        }
        _ = closed.wait_for(|c| *c) => {}
    }
    // Stopping: finish the request in flight, then close.
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
