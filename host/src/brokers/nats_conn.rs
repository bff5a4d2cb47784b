//! [`NatsConn`]: a minimal blocking client of the NATS core protocol over one TCP
//! connection: `CONNECT`, `PUB`/`HPUB`, `SUB`/`UNSUB`, `MSG`/`HMSG`, `PING`/`PONG`, and
//! request/reply through one wildcard inbox subscription. Enough for JetStream's API
//! (`nats_js`); no TLS, no auth beyond what a `nats://user:pass@` URL would need (not
//! supported yet), no reconnection (callers open a new connection).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

pub use super::nats_proto::NatsMsg;
use super::nats_proto::{parse_headers, parse_msg_args};

/// Errors of the NATS client. Each names the server address.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// The server cannot be reached, or the connection broke.
    #[error("NATS at {addr}: {message}")]
    Io { addr: String, message: String },
    /// The server or JetStream refused a request.
    #[error("NATS at {addr}: {message}")]
    Refused { addr: String, message: String },
    /// A JetStream stream the job uses does not exist.
    #[error(
        "NATS JetStream stream `{stream}` does not exist on {addr} (create it, or check the name)"
    )]
    NoStream { stream: String, addr: String },
}

impl NatsError {
    /// Whether the error is a broken or missing connection (retrying later may succeed).
    pub fn is_connection(&self) -> bool {
        matches!(self, NatsError::Io { .. })
    }
}

/// One blocking connection to a NATS server.
pub struct NatsConn {
    addr: String,
    sock: TcpStream,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    next_sid: u64,
    inbox: String,
    next_reply: u64,
}

/// `nats://host:port`, `host:port` or `host` (port 4222) as `host:port`.
pub fn server_addr(url: &str) -> String {
    let rest = url.strip_prefix("nats://").unwrap_or(url);
    let rest = rest.trim_end_matches('/');
    if rest.contains(':') {
        rest.to_owned()
    } else {
        format!("{rest}:4222")
    }
}

impl NatsConn {
    /// Connects to `url`, waits for `INFO`, sends `CONNECT` and checks it with a
    /// `PING`/`PONG` round trip. Every later read and write times out after `timeout`.
    ///
    /// # Errors
    /// [`NatsError::Io`] when the server cannot be reached or answers garbage.
    pub fn connect(url: &str, timeout: Duration) -> Result<Self, NatsError> {
        let addr = server_addr(url);
        let io = |m: String| NatsError::Io {
            addr: addr.clone(),
            message: m,
        };
        let sa = addr
            .to_socket_addrs()
            .map_err(|e| io(format!("cannot resolve the address: {e}")))?
            .next()
            .ok_or_else(|| io("the address resolves to nothing".to_owned()))?;
        let sock = TcpStream::connect_timeout(&sa, timeout)
            .map_err(|e| io(format!("cannot connect: {e}")))?;
        sock.set_nodelay(true).ok();
        sock.set_write_timeout(Some(timeout))
            .map_err(|e| io(e.to_string()))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let inbox = format!("_INBOX.sluice{:x}{:x}", std::process::id(), stamp);
        let mut conn = NatsConn {
            addr,
            sock,
            rbuf: Vec::with_capacity(64 << 10),
            wbuf: Vec::with_capacity(64 << 10),
            next_sid: 1,
            inbox,
            next_reply: 0,
        };
        let deadline = Instant::now() + timeout;
        let info = conn.read_line(deadline)?;
        if !info.starts_with("INFO ") {
            return Err(conn.io(format!("expected INFO, got `{info}`")));
        }
        conn.wbuf.extend_from_slice(
            b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,\"lang\":\"rust-sluice\",\"version\":\"1\",\"protocol\":1}\r\nPING\r\n",
        );
        conn.flush()?;
        loop {
            let line = conn.read_line(deadline)?;
            match line.as_str() {
                "PONG" => break,
                l if l.starts_with("-ERR") => return Err(conn.refused(l.to_owned())),
                _ => {}
            }
        }
        let sub = format!("{}.*", conn.inbox);
        conn.subscribe(&sub)?;
        Ok(conn)
    }

    /// The server address, `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub(super) fn io(&self, message: String) -> NatsError {
        NatsError::Io {
            addr: self.addr.clone(),
            message,
        }
    }

    pub(super) fn refused(&self, message: String) -> NatsError {
        NatsError::Refused {
            addr: self.addr.clone(),
            message,
        }
    }

    /// Subscribes to `subject`; returns the subscription id.
    ///
    /// # Errors
    /// [`NatsError::Io`] when the connection broke.
    pub fn subscribe(&mut self, subject: &str) -> Result<u64, NatsError> {
        let sid = self.next_sid;
        self.next_sid += 1;
        self.wbuf
            .extend_from_slice(format!("SUB {subject} {sid}\r\n").as_bytes());
        self.flush()?;
        Ok(sid)
    }

    /// A fresh reply subject under this connection's inbox.
    pub fn new_reply(&mut self) -> String {
        self.next_reply += 1;
        format!("{}.{}", self.inbox, self.next_reply)
    }

    /// Queues a message (`PUB`, or `HPUB` with headers); sent at the next flush.
    pub fn queue_publish(
        &mut self,
        subject: &str,
        reply: Option<&str>,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) {
        let reply = reply.map(|r| format!(" {r}")).unwrap_or_default();
        if headers.is_empty() {
            self.wbuf.extend_from_slice(
                format!("PUB {subject}{reply} {}\r\n", payload.len()).as_bytes(),
            );
        } else {
            let mut h = b"NATS/1.0\r\n".to_vec();
            for (k, v) in headers {
                h.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
            }
            h.extend_from_slice(b"\r\n");
            self.wbuf.extend_from_slice(
                format!(
                    "HPUB {subject}{reply} {} {}\r\n",
                    h.len(),
                    h.len() + payload.len()
                )
                .as_bytes(),
            );
            self.wbuf.extend_from_slice(&h);
        }
        self.wbuf.extend_from_slice(payload);
        self.wbuf.extend_from_slice(b"\r\n");
    }

    /// Sends everything queued.
    ///
    /// # Errors
    /// [`NatsError::Io`] when the connection broke.
    pub fn flush(&mut self) -> Result<(), NatsError> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let r = self.sock.write_all(&self.wbuf);
        self.wbuf.clear();
        r.map_err(|e| self.io(format!("the connection broke: {e}")))
    }

    /// Sends a request and waits for the first reply, up to `timeout`.
    ///
    /// # Errors
    /// [`NatsError::Io`] on a broken connection or no reply in time.
    pub fn request(
        &mut self,
        subject: &str,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<NatsMsg, NatsError> {
        let reply = self.new_reply();
        self.queue_publish(subject, Some(&reply), &[], payload);
        self.flush()?;
        let deadline = Instant::now() + timeout;
        loop {
            match self.next_msg(deadline)? {
                Some(m) if m.subject == reply => return Ok(m),
                Some(_) => {} // a late reply to an earlier request
                None => return Err(self.io(format!("no reply to `{subject}` within {timeout:?}"))),
            }
        }
    }

    /// The next message on any subscription, answering `PING`s; `None` at `deadline`.
    ///
    /// # Errors
    /// [`NatsError::Io`] when the connection broke; [`NatsError::Refused`] on `-ERR`.
    pub fn next_msg(&mut self, deadline: Instant) -> Result<Option<NatsMsg>, NatsError> {
        loop {
            let line = match self.try_line(deadline)? {
                Some(l) => l,
                None => return Ok(None),
            };
            let mut parts = line.split_ascii_whitespace();
            match parts.next().unwrap_or_default() {
                "PING" => {
                    self.wbuf.extend_from_slice(b"PONG\r\n");
                    self.flush()?;
                }
                "MSG" | "HMSG" => {
                    let is_h = line.starts_with('H');
                    let args: Vec<&str> = parts.collect();
                    let (subject, reply, hlen, total) = parse_msg_args(&args, is_h)
                        .ok_or_else(|| self.io(format!("malformed `{line}`")))?;
                    let body = self.read_exact_body(total, deadline)?;
                    let mut m = NatsMsg {
                        subject,
                        reply,
                        ..NatsMsg::default()
                    };
                    if is_h {
                        parse_headers(&body[..hlen], &mut m);
                    }
                    m.payload = body[hlen..].to_vec();
                    return Ok(Some(m));
                }
                "-ERR" => return Err(self.refused(line.clone())),
                _ => {} // +OK, PONG, INFO
            }
        }
    }

    /// A whole line, waiting up to `deadline`.
    fn read_line(&mut self, deadline: Instant) -> Result<String, NatsError> {
        self.try_line(deadline)?
            .ok_or_else(|| self.io("the server did not answer in time".to_owned()))
    }

    fn try_line(&mut self, deadline: Instant) -> Result<Option<String>, NatsError> {
        loop {
            if let Some(p) = memchr::memmem::find(&self.rbuf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.rbuf[..p]).into_owned();
                self.rbuf.drain(..p + 2);
                return Ok(Some(line));
            }
            if !self.fill(deadline)? {
                return Ok(None);
            }
        }
    }

    /// `len` bytes and the `\r\n` after them. Waits past `deadline` if need be: a message
    /// once started is read whole (up to the socket timeout), or the stream would be torn.
    fn read_exact_body(&mut self, len: usize, deadline: Instant) -> Result<Vec<u8>, NatsError> {
        let grace = deadline.max(Instant::now() + Duration::from_secs(10));
        while self.rbuf.len() < len + 2 {
            if !self.fill(grace)? {
                return Err(self.io("a message was cut short".to_owned()));
            }
        }
        let body = self.rbuf[..len].to_vec();
        self.rbuf.drain(..len + 2);
        Ok(body)
    }

    /// Reads more bytes; `false` when `deadline` passed first.
    fn fill(&mut self, deadline: Instant) -> Result<bool, NatsError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        self.sock
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .map_err(|e| self.io(e.to_string()))?;
        let mut buf = [0u8; 64 << 10];
        match self.sock.read(&mut buf) {
            Ok(0) => Err(self.io("the server closed the connection".to_owned())),
            Ok(n) => {
                self.rbuf.extend_from_slice(&buf[..n]);
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(self.io(format!("the connection broke: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(server_addr("nats://127.0.0.1:4333"), "127.0.0.1:4333");
        assert_eq!(server_addr("localhost"), "localhost:4222");
    }

    #[test]
    fn refused_port_is_an_io_error_naming_the_address() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = NatsConn::connect(&format!("127.0.0.1:{port}"), Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(e.is_connection());
        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    }
}
