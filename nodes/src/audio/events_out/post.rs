//! Posting batches of JSON lines over HTTP/1.1 from a thread of its own.
//!
//! The sink hands a batch over by copying it into one of a fixed set of
//! buffers and pushing that onto a bounded ring; the poster thread sends
//! it (`POST`, `Connection: close`, short timeouts) and hands the buffer
//! back on a second ring. Nothing on the sink's side waits for the
//! network or allocates: when every buffer is in flight the batch is
//! dropped and counted. A tiny client over `std::net::TcpStream` is
//! enough for plain `http://` on a local network (no TLS: put a proxy in
//! front for `https`).

use rtrb::{Consumer, Producer, RingBuffer};
use sluice_runtime::NodeError;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one read or write may block.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// The most of a response that is read (the status line is what matters).
const RESPONSE_LIMIT: usize = 16 * 1024;

/// A parsed `http://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    host: String,
    port: u16,
    path: String,
}

impl Url {
    /// Parses a plain-HTTP URL, with a message a user can act on.
    pub fn parse(url: &str) -> Result<Url, String> {
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(format!(
                "`{url}`: only http:// URLs can be posted to (no TLS; put a proxy in front for https)"
            ));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                let port = authority[i + 1..]
                    .parse()
                    .map_err(|_| format!("`{url}`: the port is not a number from 1 to 65535"))?;
                (&authority[..i], port)
            }
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port == 0 || path.contains(char::is_whitespace) {
            return Err(format!("`{url}`: expected http://host:port/path"));
        }
        Ok(Url {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }
}

/// Counters the poster thread keeps.
#[derive(Default)]
struct Counters {
    posted: AtomicU64,
    failed: AtomicU64,
    failed_lines: AtomicU64,
    dropped: AtomicU64,
    dropped_lines: AtomicU64,
    last_error: std::sync::Mutex<Option<String>>,
}

/// The sink's end: hands batches to the poster thread.
pub struct Poster {
    full: Producer<Vec<u8>>,
    free: Consumer<Vec<u8>>,
    counters: Arc<Counters>,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Poster {
    /// Starts the poster thread with `queue` buffers of `batch` bytes.
    pub fn start(url: Url, queue: usize, batch: usize) -> Result<Poster, NodeError> {
        let (full, full_rx) = RingBuffer::new(queue);
        let (mut free_tx, free) = RingBuffer::new(queue);
        for _ in 0..queue {
            let _ = free_tx.push(Vec::with_capacity(batch));
        }
        let counters = Arc::new(Counters::default());
        let done = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            url,
            full: full_rx,
            free: free_tx,
            counters: counters.clone(),
            done: done.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("sluice-post".into())
            .spawn(move || worker.run())
            .map_err(|e| NodeError::new(format!("cannot start the poster thread: {e}")))?;
        Ok(Poster {
            full,
            free,
            counters,
            done,
            thread: Some(thread),
        })
    }

    /// Queues a copy of `lines` for posting; drops it (counted) when every
    /// buffer is in flight. Never blocks or allocates.
    pub fn send(&mut self, lines: &[u8]) {
        let Ok(mut buf) = self.free.pop() else {
            let c = &self.counters;
            c.dropped.fetch_add(1, Ordering::Relaxed);
            c.dropped_lines
                .fetch_add(count_lines(lines), Ordering::Relaxed);
            return;
        };
        buf.clear();
        let n = lines.len().min(buf.capacity());
        buf.extend_from_slice(&lines[..n]);
        if let Err(rtrb::PushError::Full(_)) = self.full.push(buf) {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }

    /// Waits up to `grace` for queued batches, stops the thread, and says
    /// what was lost, if anything.
    pub fn finish(&mut self, grace: Duration) -> Option<String> {
        self.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let until = Instant::now() + grace;
            while !t.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
        self.report()
    }

    fn report(&self) -> Option<String> {
        let c = &self.counters;
        let failed = c.failed.load(Ordering::Relaxed);
        let dropped = c.dropped.load(Ordering::Relaxed);
        let unsent = self.full.buffer().capacity() - self.full.slots();
        if failed == 0 && dropped == 0 && unsent == 0 {
            return None;
        }
        let why = c.last_error.lock().ok().and_then(|e| e.clone());
        Some(format!(
            "{} batches posted, {failed} failed ({} events{}), {dropped} dropped on a full queue ({} events), {unsent} not sent before the end",
            c.posted.load(Ordering::Relaxed),
            c.failed_lines.load(Ordering::Relaxed),
            why.map(|w| format!("; last: {w}")).unwrap_or_default(),
            c.dropped_lines.load(Ordering::Relaxed),
        ))
    }

    /// Batches posted so far (tests).
    #[cfg(test)]
    pub fn posted(&self) -> u64 {
        self.counters.posted.load(Ordering::Relaxed)
    }
}

fn count_lines(b: &[u8]) -> u64 {
    b.iter().filter(|c| **c == b'\n').count() as u64
}

/// The poster thread.
struct Worker {
    url: Url,
    full: Consumer<Vec<u8>>,
    free: Producer<Vec<u8>>,
    counters: Arc<Counters>,
    done: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self) {
        loop {
            match self.full.pop() {
                Ok(batch) => {
                    self.post_one(&batch);
                    let _ = self.free.push(batch);
                }
                Err(_) if self.done.load(Ordering::Acquire) => return,
                Err(_) => std::thread::park_timeout(Duration::from_millis(50)),
            }
        }
    }

    fn post_one(&self, batch: &[u8]) {
        let c = &self.counters;
        match post(&self.url, batch) {
            Ok(()) => {
                c.posted.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                c.failed.fetch_add(1, Ordering::Relaxed);
                c.failed_lines
                    .fetch_add(count_lines(batch), Ordering::Relaxed);
                if let Ok(mut last) = c.last_error.lock() {
                    *last = Some(e);
                }
            }
        }
    }
}

/// Reads until the end of the response's first line (the status is all
/// that matters; the connection is closed after it).
fn status_line(s: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.contains(&b'\n') && answer.len() < RESPONSE_LIMIT {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if answer.is_empty() => return Err(format!("no answer: {e}")),
            Err(_) => break,
        }
    }
    Ok(answer)
}

/// One `POST` of `body`; Ok on a 2xx answer.
fn post(url: &Url, body: &[u8]) -> Result<(), String> {
    let addr = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("{}: {e}", url.host))?
        .next()
        .ok_or_else(|| format!("{}: no address", url.host))?;
    let mut s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/x-ndjson\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        url.path,
        url.host,
        url.port,
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
        .map_err(|e| e.to_string())?;
    let answer = status_line(&mut s)?;
    let status = answer.split(|b| *b == b' ').nth(1).unwrap_or(b"");
    if status.len() == 3 && status[0] == b'2' {
        Ok(())
    } else {
        let line = answer.split(|b| *b == b'\r').next().unwrap_or(b"");
        Err(format!(
            "the server answered `{}`",
            String::from_utf8_lossy(line)
        ))
    }
}

#[cfg(test)]
mod tests;
