//! `sluice serve`: `/metrics` with `tenant` and `job` labels, where a tenant's token sees
//! only its own series and the admin's every series; the per-job JSON API
//! (`/v1/jobs/{id}/overview`, `batches`, `graph`, `checkpoints`, `errors`) closed to
//! other tenants; the web UI served at `/`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{plugin_wasm, wait_for};

/// A running `sluice serve`, killed on drop.
pub struct Served {
    child: Child,
    pub url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Starts `sluice serve` in `dir` with tenants `alice` and `bob` (tokens `NAME-token`)
/// and the admin (`admin-token`).
pub fn serve(dir: &Path) -> Served {
    let mut config = "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"data\"\n".to_owned();
    for t in ["alice", "bob"] {
        config.push_str(&format!(
            "[tenants.{t}]\ntoken_sha256 = \"{}\"\n",
            digest(&format!("{t}-token"))
        ));
    }
    config.push_str(&format!(
        "[admin]\ntoken_sha256 = \"{}\"\n",
        digest("admin-token")
    ));
    std::fs::write(dir.join("serve.toml"), config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--config"])
        .arg(dir.join("serve.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sluice serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    Served { child, url }
}

/// `method path` with `token` (none: no `Authorization`): (status, body).
pub fn call(
    url: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let url = format!("{url}{path}");
    let auth = token.map(|t| format!("Bearer {t}"));
    let r = match method {
        "GET" => {
            let mut req = agent.get(&url);
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.call()
        }
        _ => {
            let mut req = if method == "PUT" {
                agent.put(&url)
            } else {
                agent.post(&url)
            };
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.send(body)
        }
    };
    let mut r = r.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

/// A tenant's word count with a keyed running total, from its uploaded `words` plugin.
pub const JOB: &str = r#"[job]
name = "counts"
batch_interval = "200ms"

[checkpoint]
every_batches = 1

[plugins.words]
name = "words"

[sources.lines]
kind = "generator"
rate = 100
words_per_line = 4
vocabulary = 20

[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"

[streams.totals]
from = "pairs"
op = "update_state_by_key"
fn = "sum"

[sinks.out]
from = "totals"
kind = "files"
path = "out"
"#;

/// Uploads the plugin and submits [`JOB`] as `tenant`; returns the job's id once it has
/// run two batches.
pub fn submit(s: &Served, tenant: &str) -> String {
    let token = format!("{tenant}-token");
    let wasm = std::fs::read(plugin_wasm("words")).unwrap();
    let (status, body) = call(&s.url, "PUT", "/v1/plugins/words", Some(&token), &wasm);
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(&s.url, "POST", "/v1/jobs", Some(&token), JOB.as_bytes());
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for(Duration::from_secs(60), "two batches", || {
        let (status, body) = call(
            &s.url,
            "GET",
            &format!("/v1/jobs/{id}/batches"),
            Some(&token),
            b"",
        );
        let n = serde_json::from_str::<Value>(&body).ok()?.as_array()?.len();
        (status == 200 && n >= 2).then_some(())
    });
    id
}

#[test]
fn a_tenant_sees_only_its_own_series_and_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path());
    let alice = submit(&s, "alice");
    let bob = submit(&s, "bob");
    let get = |path: &str, token: Option<&str>| call(&s.url, "GET", path, token, b"");

    let (status, text) = get("/metrics", Some("alice-token"));
    assert_eq!(status, 200, "{text}");
    let own = format!("sluice_batches_completed_total{{tenant=\"alice\",job=\"{alice}\"}} ");
    assert!(text.contains(&own), "{own} not in:\n{text}");
    assert!(
        !text.contains("bob") && !text.contains(&bob),
        "bob's series leak:\n{text}"
    );
    for family in [
        "sluice_state_keys{tenant=\"alice\",job=",
        "sluice_state_bytes{tenant=\"alice\",job=",
        "sluice_plugin_calls_total{tenant=\"alice\",job=",
        "sluice_checkpoint_last_success_timestamp_seconds{tenant=\"alice\",job=",
    ] {
        assert!(text.contains(family), "{family} not in:\n{text}");
    }
    let (_, text) = get("/metrics", Some("bob-token"));
    assert!(text.contains(&format!("job=\"{bob}\"")), "{text}");
    assert!(!text.contains("alice") && !text.contains(&alice), "{text}");
    let (_, text) = get("/metrics", Some("admin-token"));
    assert!(text.contains(&format!("tenant=\"alice\",job=\"{alice}\"")));
    assert!(text.contains(&format!("tenant=\"bob\",job=\"{bob}\"")));
    assert_eq!(get("/metrics", None).0, 401);
    assert_eq!(get("/metrics", Some("nobody")).0, 401);

    // The per-job API: the owner reads it, the other tenant gets 404 for every part.
    for part in ["overview", "batches", "graph", "checkpoints", "errors"] {
        let (status, body) = get(&format!("/v1/jobs/{alice}/{part}"), Some("alice-token"));
        assert_eq!(status, 200, "{part}: {body}");
        let (status, body) = get(&format!("/v1/jobs/{alice}/{part}"), Some("bob-token"));
        assert_eq!(status, 404, "{part}: {body}");
        assert!(!body.contains("pairs"), "{part}: {body}");
        let (status, _) = get(&format!("/v1/jobs/{bob}/{part}"), Some("admin-token"));
        assert_eq!(status, 200, "{part}");
    }
    let (_, body) = get(&format!("/v1/jobs/{alice}/overview"), Some("alice-token"));
    let o: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(o["job"]["labels"]["tenant"], "alice", "{o:#}");
    assert_eq!(o["job"]["state"], "running");
    let totals = o["batches"][0]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "totals")
        .cloned()
        .unwrap();
    assert!(totals["state_keys"].as_u64().unwrap() > 0, "{totals}");
    assert!(
        o["checkpoints"].as_array().is_some_and(|c| !c.is_empty()),
        "{o:#}"
    );
    let (_, body) = get("/v1/jobs", Some("bob-token"));
    assert!(!body.contains(&alice), "{body}");

    // The UI is served without a token: the page asks for one.
    let (status, html) = get("/", None);
    assert_eq!(status, 200);
    assert!(html.contains("data-mode=\"serve\"") && html.contains("id=\"login\""));
    assert_eq!(get("/assets/app.js", None).0, 200);
}
