//! The admin endpoints (`--admin ADDR`), for load balancers and
//! Prometheus: a small HTTP/1.1 `GET` responder for three paths.
//!
//! - [`HEALTHZ`]: 200 while the process serves (liveness);
//! - [`READYZ`]: 200 while it takes new calls, 503 while draining
//!   (readiness: the load balancer stops sending calls);
//! - [`METRICS`]: the Prometheus text exposition.
//!
//! Requests are capped at [`MAX_ADMIN_REQUEST`] bytes and
//! [`ADMIN_TIMEOUT`]; every answer closes the connection.

use crate::metrics::Metrics;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Liveness.
pub const HEALTHZ: &str = "/healthz";
/// Readiness.
pub const READYZ: &str = "/readyz";
/// Metrics.
pub const METRICS: &str = "/metrics";
/// The admin port the deployment examples use.
pub const DEFAULT_ADMIN_PORT: u16 = 9090;

/// Largest admin request read.
pub const MAX_ADMIN_REQUEST: usize = 8 * 1024;
/// Time allowed to send an admin request.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What the endpoints report on.
#[derive(Debug)]
pub struct AdminState {
    /// The server's counters.
    pub metrics: Arc<Metrics>,
    /// Set while draining: not ready.
    pub draining: Arc<AtomicBool>,
}

/// Serves admin requests until the task is dropped.
pub async fn serve(listener: TcpListener, state: Arc<AdminState>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(ADMIN_TIMEOUT, answer(stream, &state)).await;
        });
    }
}

async fn answer(mut stream: TcpStream, state: &AdminState) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() + n > MAX_ADMIN_REQUEST {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let (status, ctype, body) = respond(&buf, state);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// The status line, content type and body for a request.
pub fn respond(request: &[u8], state: &AdminState) -> (&'static str, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    let line = request.split(|b| *b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|b| *b == b' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let path = target.split(|b| *b == b'?').next().unwrap_or_default();
    if method != b"GET" && method != b"HEAD" {
        return ("405 Method Not Allowed", TEXT, "only GET\n".into());
    }
    match path {
        p if p == HEALTHZ.as_bytes() => ("200 OK", TEXT, "ok\n".into()),
        p if p == READYZ.as_bytes() => {
            if state.draining.load(Ordering::Acquire) {
                ("503 Service Unavailable", TEXT, "draining\n".into())
            } else {
                ("200 OK", TEXT, "ready\n".into())
            }
        }
        p if p == METRICS.as_bytes() => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            state.metrics.render(),
        ),
        _ => ("404 Not Found", TEXT, "not found\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_readiness() {
        let state = AdminState {
            metrics: Arc::new(Metrics::default()),
            draining: Arc::new(AtomicBool::new(false)),
        };
        let get = |p: &str| respond(format!("GET {p} HTTP/1.1\r\n\r\n").as_bytes(), &state);
        assert_eq!(get(HEALTHZ).0, "200 OK");
        assert_eq!(get(READYZ).0, "200 OK");
        assert!(get(METRICS).2.contains("sluice_calls_active"));
        assert_eq!(get("/nope").0, "404 Not Found");
        state.draining.store(true, Ordering::Release);
        assert_eq!(get(READYZ).0, "503 Service Unavailable");
        assert_eq!(get(HEALTHZ).0, "200 OK");
        let post = respond(b"POST /healthz HTTP/1.1\r\n\r\n", &state);
        assert_eq!(post.0, "405 Method Not Allowed");
    }
}
