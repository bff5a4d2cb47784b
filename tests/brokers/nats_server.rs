//! [`NatsServer`]: a `nats-server -js` with file storage in a temporary directory (so a
//! restart keeps streams and consumers), killed on drop; and a raw TCP publisher that
//! shares no code with Sluice's client.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use sluice::brokers::NatsConn;

use crate::harness::{free_port, wait_until};

/// How to install the server, for failure messages.
pub const INSTALL_NATS: &str = "run scripts/setup.sh (apt-get install nats-server)";

/// A JetStream-enabled nats-server on a free port of 127.0.0.1.
pub struct NatsServer {
    child: Option<Child>,
    /// The port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl NatsServer {
    /// Starts the server and waits until it answers.
    pub fn start() -> NatsServer {
        let mut s = NatsServer {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
        };
        s.launch();
        s
    }

    fn launch(&mut self) {
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("-sd")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nats-server: {e}: {INSTALL_NATS}"));
        self.child = Some(child);
        let url = self.url();
        wait_until("nats-server to answer", Duration::from_secs(10), || {
            NatsConn::connect(&url, Duration::from_millis(300))
                .and_then(|mut c| c.request("$JS.API.INFO", b"", Duration::from_millis(500)))
                .is_ok_and(|m| m.status.is_none())
        });
    }

    /// `nats://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// A JetStream API request; panics on an API error.
    pub fn api(&self, api: &str, body: Value) -> Value {
        let mut c = NatsConn::connect(&self.url(), Duration::from_secs(5)).unwrap();
        let m = c
            .request(
                &format!("$JS.API.{api}"),
                body.to_string().as_bytes(),
                Duration::from_secs(5),
            )
            .unwrap();
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        assert!(v.get("error").is_none(), "{api}: {v}");
        v
    }

    /// Creates a file-stored stream `name` on `subjects`, with a duplicate window.
    pub fn create_stream(&self, name: &str, subjects: &[&str]) {
        self.api(
            &format!("STREAM.CREATE.{name}"),
            json!({"name": name, "subjects": subjects, "storage": "file",
                   "duplicate_window": 120_000_000_000u64}),
        );
    }

    /// The number of messages in stream `name`.
    pub fn messages(&self, name: &str) -> u64 {
        self.api(&format!("STREAM.INFO.{name}"), json!({}))["state"]["messages"]
            .as_u64()
            .unwrap()
    }

    /// The server's `(major, minor)` version and its full text, from `nats-server --version`.
    pub fn version(&self) -> ((u32, u32), String) {
        let out = Command::new("nats-server")
            .arg("--version")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let v = text.rsplit('v').next().unwrap_or_default().to_owned();
        let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (version, text)
    }

    /// Kills the server (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the same storage.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Publishes `(subject, payload)` messages over a plain TCP connection (`PUB`), then waits
/// for a `PONG` so that the server has processed them all.
pub fn raw_publish(port: u16, messages: &[(String, String)]) {
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut reader = BufReader::new(sock.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("INFO"), "{line}");
    let mut out = b"CONNECT {\"verbose\":false}\r\n".to_vec();
    for (subject, payload) in messages {
        out.extend_from_slice(
            format!("PUB {subject} {}\r\n{payload}\r\n", payload.len()).as_bytes(),
        );
    }
    out.extend_from_slice(b"PING\r\n");
    sock.write_all(&out).unwrap();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(!line.starts_with("-ERR"), "{line}");
        if line.starts_with("PONG") {
            return;
        }
    }
}
