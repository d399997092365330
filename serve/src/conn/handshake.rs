//! The HTTP upgrade: read the request (bounded), check the token, answer
//! `101 Switching Protocols` or an HTTP error, all on the pipe.

use super::pipe::Pipe;
use super::{open, Connection, EndKind, Event, Outcome, Phase, State, MAX_REQUEST_BYTES};
use sluice_nodes::acs::ids::echo;
use std::time::Instant;
use tungstenite::handshake::machine::TryParse;
use tungstenite::handshake::server::{create_response, write_response, Request};

/// The request header naming the platform's call connection.
pub const CONNECTION_ID_HEADER: &str = "x-ms-call-connection-id";

impl Connection {
    /// Reads the upgrade request if it is complete; answers it.
    pub(super) fn handshake(&mut self, mut pipe: Pipe, now: Instant) -> State {
        if now >= self.deadline {
            let why = format!(
                "no WebSocket upgrade within {:.1} s",
                self.cfg.limits.setup_deadline.as_secs_f64()
            );
            return self.http_error(pipe, 408, "Request Timeout", &why, EndKind::Timeout, "");
        }
        let input = pipe.pending_input();
        let Some(end) = input
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| i + 4)
        else {
            if input.len() > MAX_REQUEST_BYTES {
                let why = format!("upgrade request over {MAX_REQUEST_BYTES} bytes");
                let status = "Request Header Fields Too Large";
                return self.http_error(pipe, 431, status, &why, EndKind::BadRequest, "");
            }
            if pipe.eof() {
                self.end(Outcome::new(
                    EndKind::Lost,
                    None,
                    "closed during the upgrade",
                ));
                return State::Done(pipe);
            }
            return State::Handshake(pipe);
        };
        let request = match Request::try_parse(&input[..end]) {
            Ok(Some((_, r))) => r,
            Ok(None) => {
                let why = "incomplete upgrade request";
                return self.http_error(pipe, 400, "Bad Request", why, EndKind::BadRequest, "");
            }
            Err(e) => {
                let why = format!("bad upgrade request: {e}");
                return self.http_error(pipe, 400, "Bad Request", &why, EndKind::BadRequest, "");
            }
        };
        pipe.consume_input(end);
        self.upgrade(pipe, &request)
    }

    fn upgrade(&mut self, mut pipe: Pipe, request: &Request) -> State {
        let response = match create_response(request) {
            Ok(r) => r,
            Err(e) => {
                let why = format!("not a WebSocket upgrade: {e}");
                return self.http_error(pipe, 400, "Bad Request", &why, EndKind::BadRequest, "");
            }
        };
        self.connection_id = request
            .headers()
            .get(CONNECTION_ID_HEADER)
            .map(|v| echo(&String::from_utf8_lossy(v.as_bytes())));
        if let Some(auth) = &self.cfg.auth {
            let header = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            if let Err(e) = auth.check(header) {
                let why = e.to_string();
                self.events.push_back(Event::Unauthorized(why.clone()));
                let challenge = "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n";
                return self.http_error(
                    pipe,
                    401,
                    "Unauthorized",
                    &why,
                    EndKind::Unauthorized,
                    challenge,
                );
            }
        }
        let mut bytes = Vec::with_capacity(256);
        if let Err(e) = write_response(&mut bytes, &response) {
            let why = format!("cannot write the upgrade response: {e}");
            return self.http_error(
                pipe,
                500,
                "Internal Server Error",
                &why,
                EndKind::BadRequest,
                "",
            );
        }
        pipe.push_output(&bytes);
        self.events.push_back(Event::Upgraded {
            connection_id: self.connection_id.clone(),
        });
        State::Open(Box::new(open(pipe)), Phase::AwaitMeta)
    }

    /// Answers with an HTTP error and ends the connection.
    fn http_error(
        &mut self,
        mut pipe: Pipe,
        status: u16,
        text: &str,
        why: &str,
        kind: EndKind,
        headers: &str,
    ) -> State {
        let body = format!("{}\n", echo(why));
        let head = format!(
            "HTTP/1.1 {status} {text}\r\n{headers}Content-Type: text/plain; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        pipe.push_output(head.as_bytes());
        pipe.push_output(body.as_bytes());
        pipe.consume_input(usize::MAX);
        self.end(Outcome::new(kind, Some(status), why));
        State::Done(pipe)
    }
}
