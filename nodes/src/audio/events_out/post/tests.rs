use super::*;
use std::net::TcpListener;
use std::sync::mpsc;

/// A local server that answers `status` to every request and sends each
/// body it receives down the channel; it stops after `requests`.
fn server(status: &'static str, requests: usize) -> (Url, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut s) = stream else { continue };
            if let Some(body) = read_request(&mut s) {
                let _ = tx.send(body);
            }
            let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (
        Url::parse(&format!("http://127.0.0.1:{port}/events")).unwrap(),
        rx,
    )
}

/// The body of one request (by its Content-Length).
fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some(end) = text.find("\r\n\r\n") {
            assert!(text.starts_with("POST /events HTTP/1.1\r\n"), "{text}");
            assert!(text.contains("Content-Type: application/x-ndjson"));
            let len: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))?
                .trim()
                .parse()
                .ok()?;
            if data.len() >= end + 4 + len {
                return Some(data[end + 4..end + 4 + len].to_vec());
            }
        }
    }
}

#[test]
fn urls_parse_with_and_without_port_and_path() {
    let u = Url::parse("http://example.com").unwrap();
    assert_eq!(
        (u.host.as_str(), u.port, u.path.as_str()),
        ("example.com", 80, "/")
    );
    let u = Url::parse("http://127.0.0.1:8080/a/b?x=1").unwrap();
    assert_eq!(
        (u.host.as_str(), u.port, u.path.as_str()),
        ("127.0.0.1", 8080, "/a/b?x=1")
    );
    let u = Url::parse("http://[::1]:9000/e").unwrap();
    assert_eq!((u.host.as_str(), u.port), ("::1", 9000));
    assert!(Url::parse("https://x/")
        .unwrap_err()
        .contains("only http://"));
    assert!(Url::parse("http://x:port/").unwrap_err().contains("port"));
    assert!(Url::parse("http:///x").is_err());
}

#[test]
fn batches_reach_the_server_in_order() {
    let (url, bodies) = server("200 OK", 3);
    let mut p = Poster::start(url, 4, 1024).unwrap();
    for i in 0..3 {
        p.send(format!("{{\"n\": {i}}}\n").as_bytes());
        let body = bodies.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(body, format!("{{\"n\": {i}}}\n").as_bytes());
    }
    assert_eq!(p.finish(Duration::from_secs(2)), None, "nothing lost");
    assert_eq!(p.posted(), 3);
}

#[test]
fn an_error_status_is_counted_as_a_failure() {
    let (url, _bodies) = server("500 Internal Server Error", 1);
    let mut p = Poster::start(url, 4, 1024).unwrap();
    p.send(b"{}\n{}\n");
    let report = p.finish(Duration::from_secs(3)).unwrap();
    assert!(report.contains("1 failed (2 events"), "{report}");
    assert!(report.contains("500"), "{report}");
}

#[test]
fn a_server_that_never_answers_costs_the_sender_nothing() {
    // Accepts connections but never reads or answers: every post waits
    // for its timeout on the poster thread; the sender drops and counts.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(2) {
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(6));
    });
    let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let mut p = Poster::start(url, 2, 1024).unwrap();
    let start = Instant::now();
    for _ in 0..100 {
        p.send(b"{\"x\": 1}\n");
    }
    let sending = start.elapsed();
    assert!(
        sending < Duration::from_millis(100),
        "sending took {sending:?}"
    );
    let report = p.finish(Duration::from_millis(300)).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "finish waited too long"
    );
    assert!(report.contains("dropped on a full queue"), "{report}");
    drop(hold);
}

#[test]
fn no_server_is_a_counted_failure_not_a_hang() {
    // A port nothing listens on: connection refused at once.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let mut p = Poster::start(url, 2, 1024).unwrap();
    p.send(b"{}\n");
    let report = p.finish(Duration::from_secs(3)).unwrap();
    assert!(report.contains("1 failed"), "{report}");
}
