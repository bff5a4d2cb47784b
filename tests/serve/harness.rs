//! Helpers: a config with tenants in a temporary directory, the server process (started,
//! SIGKILLed, SIGTERMed), an HTTP client with a token, and the `sluice` client commands.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The words plugin built by `plugins/build.sh`.
pub fn words_wasm() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/dist/words.wasm");
    assert!(p.is_file(), "build the plugins first: plugins/build.sh");
    p
}

fn hex_sha256(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A server's directory: `serve.toml` and `data/`.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    /// A config with `tenants` (name, extra TOML lines); each tenant's token is
    /// `<name>-token`, the admin's `admin-token`. `server` adds lines to `[server]`.
    pub fn new(server: &str, tenants: &[(&str, &str)]) -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut text =
            format!("[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"data\"\n{server}\n");
        for (name, extra) in tenants {
            text.push_str(&format!(
                "[tenants.{name}]\ntoken_sha256 = \"{}\"\n{extra}\n",
                hex_sha256(&format!("{name}-token"))
            ));
        }
        text.push_str(&format!(
            "[admin]\ntoken_sha256 = \"{}\"\n",
            hex_sha256("admin-token")
        ));
        std::fs::write(dir.path().join("serve.toml"), text).expect("write config");
        Site { dir }
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory of a job.
    pub fn job_dir(&self, tenant: &str, id: &str) -> PathBuf {
        self.data()
            .join("tenants")
            .join(tenant)
            .join("jobs")
            .join(id)
    }

    /// Starts `sluice serve` and waits for its address.
    pub fn start(&self) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["serve", "--config"])
            .arg(self.dir.path().join("serve.toml"))
            .env("RUST_LOG", "warn,sluice=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start sluice serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}; log:\n{}", self.log()))
            .to_owned();
        Server { child, url }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

/// A running `sluice serve`; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// A client with `tenant`'s token (`admin` for the admin).
    pub fn client(&self, tenant: &str) -> Client {
        Client {
            url: self.url.clone(),
            token: format!("{tenant}-token"),
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and wait for a clean exit.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(ok.success());
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "sluice serve exited with {status}");
    }

    /// Runs the `sluice` CLI client against this server with `tenant`'s token.
    pub fn cli(&self, tenant: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .env("SLUICE_SERVER", &self.url)
            .env("SLUICE_TOKEN", format!("{tenant}-token"))
            .env("RUST_LOG", "warn")
            .output()
            .expect("run sluice")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client with a bearer token.
pub struct Client {
    pub url: String,
    pub token: String,
}

/// An answer: status and body (JSON when it parses, else a string).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub text: String,
}

impl Client {
    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into()
    }

    /// `method path` with `body`.
    pub fn send(&self, method: &str, path: &str, body: Option<&[u8]>) -> Answer {
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {}", self.token);
        let agent = Self::agent();
        let r = match method {
            "GET" => agent.get(&url).header("Authorization", &auth).call(),
            "DELETE" => agent.delete(&url).header("Authorization", &auth).call(),
            "PUT" => agent
                .put(&url)
                .header("Authorization", &auth)
                .send(body.unwrap_or_default()),
            "POST" => agent
                .post(&url)
                .header("Authorization", &auth)
                .send(body.unwrap_or_default()),
            _ => unreachable!(),
        };
        let mut r = r.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, json, text }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None)
    }

    pub fn delete(&self, path: &str) -> Answer {
        self.send("DELETE", path, None)
    }

    /// Uploads `file` as plugin `name`, asserting success.
    pub fn upload(&self, name: &str, file: &Path) -> Answer {
        let bytes = std::fs::read(file).expect("read plugin");
        let a = self.send("PUT", &format!("/v1/plugins/{name}"), Some(&bytes));
        assert_eq!(a.status, 201, "upload {name}: {}", a.text);
        a
    }

    /// Submits a job file; returns the answer.
    pub fn submit(&self, job: &str, query: &str) -> Answer {
        self.send("POST", &format!("/v1/jobs{query}"), Some(job.as_bytes()))
    }

    /// Submits a job file, asserting `201`; returns its id.
    pub fn submit_ok(&self, job: &str, query: &str) -> String {
        let a = self.submit(job, query);
        assert_eq!(a.status, 201, "submit: {}", a.text);
        a.json["id"].as_str().expect("id").to_owned()
    }

    /// The job's status.
    pub fn status(&self, id: &str) -> Value {
        let a = self.get(&format!("/v1/jobs/{id}"));
        assert_eq!(a.status, 200, "status {id}: {}", a.text);
        a.json
    }
}

/// Polls `check` every 50 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A word-count job on generated lines, plugin `words` by uploaded name, to a files sink.
pub fn wordcount_job(batch_interval: &str, extra: &str) -> String {
    format!(
        r#"[job]
name = "wordcount"
batch_interval = "{batch_interval}"
{extra}
[plugins.words]
name = "words"

[sources.lines]
kind = "generator"
rate = 200
words_per_line = 5
vocabulary = 50
seed = 7

[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"

[streams.counts]
from = "pairs"
op = "reduce_by_key"
fn = "sum"

[sinks.out]
from = "counts"
kind = "files"
path = "out"
"#
    )
}
