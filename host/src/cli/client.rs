//! The client of `sluice serve`: `sluice submit`, `jobs`, `status`, `stop`, `logs`, over
//! the REST API with `--server` and `--token` (or `SLUICE_SERVER`, `SLUICE_TOKEN`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Args;
use serde_json::Value;

/// Where the server is and who we are.
#[derive(Debug, Args)]
pub struct Connection {
    /// The server's URL.
    #[arg(long, env = "SLUICE_SERVER", default_value = "http://127.0.0.1:7878")]
    server: String,
    /// The bearer token.
    #[arg(long, env = "SLUICE_TOKEN", hide_env_values = true)]
    token: String,
}

impl Connection {
    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1{path}", self.server.trim_end_matches('/'))
    }

    /// Sends a request; answers the JSON body of a 2xx, or the server's error message.
    fn request(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> anyhow::Result<Value> {
        let url = self.url(path);
        let auth = format!("Bearer {}", self.token);
        let agent = Self::agent();
        let response = match (method, body) {
            ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => agent.delete(&url).header("Authorization", &auth).call(),
            ("PUT", Some(b)) => agent.put(&url).header("Authorization", &auth).send(&b[..]),
            ("POST", Some(b)) => agent.post(&url).header("Authorization", &auth).send(&b[..]),
            _ => bail!("unsupported request {method} {path}"),
        };
        let mut response = response.with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let message = json["error"].as_str().unwrap_or(text.trim());
            bail!("{method} {path}: {status}: {message}");
        }
        Ok(json)
    }
}

/// `sluice submit JOB.toml [--plugin NAME=FILE]... [--batches N]`
#[derive(Debug, Args)]
pub struct SubmitCommand {
    /// The job file; its plugins are named by uploaded `name`.
    job: PathBuf,
    /// Upload this plugin first, as NAME.
    #[arg(long = "plugin", value_name = "NAME=FILE")]
    plugins: Vec<String>,
    /// Stop the job after this many batches.
    #[arg(long)]
    batches: Option<u64>,
    #[command(flatten)]
    conn: Connection,
}

impl SubmitCommand {
    /// Uploads the plugins, then the job; prints the job's id.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        for p in &self.plugins {
            let (name, file) = p
                .split_once('=')
                .with_context(|| format!("--plugin {p}: write NAME=FILE"))?;
            let bytes =
                std::fs::read(file).with_context(|| format!("--plugin {p}: cannot read {file}"))?;
            let meta = self
                .conn
                .request("PUT", &format!("/plugins/{name}"), Some(bytes))?;
            eprintln!(
                "plugin `{name}`: sha256 {}, functions: {}",
                meta["sha256"].as_str().unwrap_or("?"),
                join(&meta["functions"])
            );
        }
        let text = std::fs::read(&self.job)
            .with_context(|| format!("cannot read {}", self.job.display()))?;
        let path = match self.batches {
            Some(n) => format!("/jobs?batches={n}"),
            None => "/jobs".to_owned(),
        };
        let answer = self.conn.request("POST", &path, Some(text))?;
        println!("{}", answer["id"].as_str().unwrap_or_default());
        Ok(ExitCode::SUCCESS)
    }
}

fn join(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// `sluice jobs`
#[derive(Debug, Args)]
pub struct JobsCommand {
    #[command(flatten)]
    conn: Connection,
}

impl JobsCommand {
    /// Prints one line per job.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let jobs = self.conn.request("GET", "/jobs", None)?;
        println!(
            "{:<14} {:<10} {:<12} {:<20} REASON",
            "ID", "STATE", "TENANT", "NAME"
        );
        for j in jobs.as_array().into_iter().flatten() {
            println!(
                "{:<14} {:<10} {:<12} {:<20} {}",
                j["id"].as_str().unwrap_or(""),
                j["state"].as_str().unwrap_or(""),
                j["tenant"].as_str().unwrap_or(""),
                j["name"].as_str().unwrap_or(""),
                j["reason"].as_str().unwrap_or("")
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// `sluice status ID`, `sluice stop ID`, `sluice logs ID`
#[derive(Debug, Args)]
pub struct JobIdCommand {
    /// The job's id.
    id: String,
    #[command(flatten)]
    conn: Connection,
}

impl JobIdCommand {
    /// `status`: the job's state and its last batches.
    pub fn status(self) -> anyhow::Result<ExitCode> {
        let s = self
            .conn
            .request("GET", &format!("/jobs/{}", self.id), None)?;
        print_status(&s);
        Ok(ExitCode::SUCCESS)
    }

    /// `stop`: stops the job after its current batch.
    pub fn stop(self) -> anyhow::Result<ExitCode> {
        let s = self
            .conn
            .request("DELETE", &format!("/jobs/{}", self.id), None)?;
        print_status(&s);
        Ok(ExitCode::SUCCESS)
    }

    /// `logs`: the job's events and batch lines.
    pub fn logs(self) -> anyhow::Result<ExitCode> {
        let l = self
            .conn
            .request("GET", &format!("/jobs/{}/logs", self.id), None)?;
        for line in l["lines"].as_array().into_iter().flatten() {
            println!("{}", line.as_str().unwrap_or_default());
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn print_status(s: &Value) {
    println!(
        "job:     {} ({})",
        s["id"].as_str().unwrap_or(""),
        s["name"].as_str().unwrap_or("")
    );
    println!("tenant:  {}", s["tenant"].as_str().unwrap_or(""));
    println!("state:   {}", s["state"].as_str().unwrap_or(""));
    if let Some(r) = s["reason"].as_str() {
        println!("reason:  {r}");
    }
    println!(
        "batches: {} since the server started it",
        s["batches_since_start"]
    );
    for b in s["last_batches"].as_array().into_iter().flatten() {
        println!(
            "  batch {} ms: {} records in, {} out, processing {:.1} ms, scheduling delay {:.0} ms",
            b["time_ms"],
            b["records_in"],
            b["records_out"],
            b["processing_ms"].as_f64().unwrap_or(0.0),
            b["scheduling_delay_ms"].as_f64().unwrap_or(0.0)
        );
    }
}
