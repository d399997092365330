//! An in-memory duplex byte stream: the bytes the socket delivered and
//! the bytes that should go out. tungstenite reads and writes it as it
//! would a non-blocking socket, so the protocol core never touches one.

use std::io::{self, ErrorKind, Read, Write};

/// Bytes of input held before the caller should stop reading the socket
/// (TCP flow control then slows a client that sends faster than the call
/// is processed).
pub const INPUT_CAP: usize = 64 * 1024;

/// Bytes of output held before writes report `WouldBlock` (tungstenite
/// then keeps frames in its own bounded write buffer).
pub const OUTPUT_CAP: usize = 64 * 1024;

/// The two byte queues of one connection.
#[derive(Debug)]
pub struct Pipe {
    input: Vec<u8>,
    read_at: usize,
    output: Vec<u8>,
    output_cap: usize,
    eof: bool,
}

impl Default for Pipe {
    fn default() -> Self {
        Pipe::with_output_cap(OUTPUT_CAP)
    }
}

impl Pipe {
    /// An empty pipe.
    pub fn new() -> Pipe {
        Pipe::default()
    }

    /// An empty pipe whose writes take up to `cap` bytes before they
    /// would block (a test client's side may take a whole large message).
    pub fn with_output_cap(cap: usize) -> Pipe {
        Pipe {
            input: Vec::new(),
            read_at: 0,
            output: Vec::new(),
            output_cap: cap,
            eof: false,
        }
    }

    /// Appends bytes that arrived from the socket.
    pub fn push_input(&mut self, bytes: &[u8]) {
        if self.read_at > 0 && self.read_at == self.input.len() {
            self.input.clear();
            self.read_at = 0;
        } else if self.read_at > INPUT_CAP {
            self.input.drain(..self.read_at);
            self.read_at = 0;
        }
        self.input.extend_from_slice(bytes);
    }

    /// The peer closed its side: reads return end of stream once drained.
    pub fn set_eof(&mut self) {
        self.eof = true;
    }

    /// Whether the peer closed its side.
    pub fn eof(&self) -> bool {
        self.eof
    }

    /// Input not consumed yet.
    pub fn pending_input(&self) -> &[u8] {
        &self.input[self.read_at..]
    }

    /// Marks `n` bytes of input consumed.
    pub fn consume_input(&mut self, n: usize) {
        self.read_at = self.read_at.saturating_add(n).min(self.input.len());
    }

    /// Room for more input before the caller should stop reading.
    pub fn input_room(&self) -> usize {
        INPUT_CAP.saturating_sub(self.pending_input().len())
    }

    /// Bytes waiting to be written to the socket.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// Marks `n` bytes of output written to the socket.
    pub fn consume_output(&mut self, n: usize) {
        self.output.drain(..n.min(self.output.len()));
    }

    /// Appends bytes to send, past the cap (handshake responses, which
    /// are small and written once).
    pub fn push_output(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.pending_input();
        if avail.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(ErrorKind::WouldBlock.into())
            };
        }
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume_input(n);
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.output_cap.saturating_sub(self.output.len());
        if room == 0 {
            return Err(ErrorKind::WouldBlock.into());
        }
        let n = room.min(buf.len());
        self.output.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_pushed_then_would_block_then_ends() {
        let mut p = Pipe::new();
        let mut buf = [0u8; 4];
        assert_eq!(p.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        p.push_input(b"abcdef");
        assert_eq!(p.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");
        p.push_input(b"gh");
        assert_eq!(p.pending_input(), b"efgh");
        p.set_eof();
        assert_eq!(p.read(&mut buf).unwrap(), 4);
        assert_eq!(p.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn output_is_bounded() {
        let mut p = Pipe::new();
        let big = vec![1u8; OUTPUT_CAP + 10];
        assert_eq!(p.write(&big).unwrap(), OUTPUT_CAP);
        assert_eq!(p.write(b"x").unwrap_err().kind(), ErrorKind::WouldBlock);
        p.consume_output(10);
        assert_eq!(p.write(&big).unwrap(), 10);
    }
}
