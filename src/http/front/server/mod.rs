//! The accept loop: each TCP connection is served by hyper's HTTP/1.1 connection, with a
//! header-read timeout, an idle keep-alive timeout and a bound on concurrent connections per
//! client, an IPv4 address or an IPv6 /64 (`docs/decisions/0009-connections-and-headers.md`).
//! Handlers keep receiving `ConnectInfo<SocketAddr>` (the socket's peer), as under `axum::serve`.

mod keep_alive;
mod slots;

use crate::config::ConnectionLimits;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use keep_alive::{Activity, ConnTimer, Watched};
use slots::Slots;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets every
/// connection finish its request in flight, and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Slots::new(limits.max_per_address);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Past the bound the socket is closed at once: no task, no buffers, no timer.
        let slot = match slots.take(peer.ip()) {
            Ok(slot) => slot,
            // Once per episode at warn: behind a reverse proxy this is the sign the bound is too low.
            Err(refused) if refused.first => {
                let client = crate::domain::host::client_bucket(&peer.ip().to_string());
                tracing::warn!(peer = %peer.ip(), %client, max = ?limits.max_per_address, "too many connections from one address: closing new ones");
                continue;
            }
            Err(_) => continue,
        };
        let conn = graceful.watch(connection(stream, peer, router.clone(), &limits));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// One connection: hyper's HTTP/1.1 state machine over the socket, timed by [`ConnTimer`].
fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: &ConnectionLimits,
) -> hyper::server::conn::http1::Connection<
    TokioIo<Watched<TcpStream>>,
    TowerToHyperService<
        impl tower::Service<
                Request<Incoming>,
                Response = axum::response::Response,
                Error = std::convert::Infallible,
                Future: Send,
            > + Clone
            + Send,
    >,
> {
    let activity = Arc::new(Activity::default());
    let seen = activity.clone();
    let service = router.map_request(move |mut req: Request<Incoming>| {
        seen.note_request();
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(ConnTimer::new(activity.clone(), limits.header_read_timeout, limits.keep_alive_timeout))
        .keep_alive(limits.keep_alive_timeout.is_some())
        // hyper asks the timer for a deadline whenever it waits for a request head, but only
        // when this is set; the timer itself decides how long each wait may last.
        .header_read_timeout(limits.header_read_timeout.or(limits.keep_alive_timeout));
    builder.serve_connection(TokioIo::new(Watched::new(stream, activity)), TowerToHyperService::new(service))
}

/// As `axum::serve` does: errors about one connection are ignored; others (such as running out
/// of file descriptors) are logged, and accepting pauses so that connections can close.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accept error");
    tokio::time::sleep(Duration::from_millis(200)).await;
}
