//! The JSON API, `/metrics` and `--progress json` of a job with a slow stage and a
//! plugin that rejects a record.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::{get, get_json, start_with_ui, wait_for, watched_job};

/// `/api/job` once `n` batches completed.
fn job_after(addr: std::net::SocketAddr, n: u64) -> Value {
    wait_for(Duration::from_secs(60), "batches", || {
        let job = get_json(addr, "/api/job");
        (job["batches_completed"].as_u64() >= Some(n)).then_some(job)
    })
}

#[test]
fn the_api_names_the_slow_stage_and_shows_the_rejected_record() {
    let dir = tempfile::tempdir().unwrap();
    let job = watched_job(dir.path(), "500ms");
    let run = start_with_ui(&job, &["--quiet"]);
    let job = job_after(run.addr, 4);
    assert_eq!(job["name"], "watched");
    assert_eq!(job["state"], "running");
    assert_eq!(job["batch_interval_ms"], 500);
    let b = &job["bottleneck"];
    assert_eq!(b["stage"], "slow", "{b:#}");
    assert_eq!(b["functions"], serde_json::json!(["busy.spin"]));
    assert!(b["share"].as_f64().unwrap() > 0.5, "{b:#}");
    let text = b["text"].as_str().unwrap();
    assert!(
        text.starts_with("`slow` (plugin `busy.spin`) takes ")
            && text.contains(" % of each batch; the job keeps up ("),
        "{text}"
    );

    // The rejected record, with its plugin, function, message and stream.
    let errors = get_json(run.addr, "/api/errors");
    let e = &errors[0];
    assert_eq!(e["plugin"], "json", "{errors:#}");
    assert_eq!(e["function"], "parse");
    assert_eq!(e["kind"], "record");
    assert_eq!(e["record"], "\"not json {\"");
    assert!(
        e["message"].as_str().unwrap().starts_with("malformed JSON"),
        "{e:#}"
    );
    assert_eq!(e["streams"], serde_json::json!(["parsed"]));

    // Every batch with its per-stage times; the graph with each stream's share.
    let batches = get_json(run.addr, "/api/batches");
    let last = batches.as_array().unwrap().last().unwrap().clone();
    let streams: Vec<&str> = last["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(streams.len(), 3, "{last:#}");
    assert!(streams.contains(&"slow") && streams.contains(&"parsed"));
    assert_eq!(last["records_in"], 100);
    let t = last["time"].as_i64().unwrap();
    let after = get_json(run.addr, &format!("/api/batches?after={t}"));
    assert!(after
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["time"].as_i64() > Some(t)));
    let graph = get_json(run.addr, "/api/graph");
    let slow = graph["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "slow")
        .unwrap();
    assert_eq!(slow["functions"], serde_json::json!(["busy.spin"]));
    assert!(slow["share"].as_f64().unwrap() > 0.5, "{graph:#}");

    // The same facts in the metrics, in either format.
    let (status, kind, text) = get(run.addr, "/metrics", "*/*");
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    for expected in [
        "sluice_plugin_rejected_records_total{job=\"watched\",plugin=\"json\",function=\"parse\"} 1\n",
        "sluice_dead_lettered_records_total{job=\"watched\"} 1\n",
        "sluice_batch_interval_seconds{job=\"watched\"} 0.5\n",
        "sluice_stream_batch_seconds_count{job=\"watched\",stream=\"slow\"} ",
        "sluice_plugin_call_duration_seconds_bucket{le=\"+Inf\",job=\"watched\",plugin=\"busy\",function=\"spin\"} ",
        "# TYPE sluice_batches_completed_total counter\n",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
    let (_, kind, om) = get(
        run.addr,
        "/metrics",
        "application/openmetrics-text;version=1.0.0",
    );
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    assert!(om.ends_with("# EOF\n") && om.contains("# TYPE sluice_batches_completed counter"));
}

#[test]
fn the_verdict_says_by_how_much_a_job_falls_behind() {
    let dir = tempfile::tempdir().unwrap();
    let job = watched_job(dir.path(), "200ms");
    // 4,000 lines per second: 800 per 200 ms batch, each 10^6 rounds of `busy.spin`:
    // about 1.7 s per batch on an idle core, so the job is behind on any machine.
    let text = std::fs::read_to_string(&job)
        .unwrap()
        .replace("rate = 200", "rate = 4000")
        .replace("rounds = 100000", "rounds = 1000000");
    std::fs::write(&job, text).unwrap();
    let run = start_with_ui(&job, &["--quiet"]);
    let job = job_after(run.addr, 3);
    let b = &job["bottleneck"];
    assert_eq!(b["stage"], "slow", "{b:#}");
    assert!(b["behind_ms"].as_f64().unwrap() > 30.0, "{b:#}");
    let text = b["text"].as_str().unwrap();
    assert!(text.contains("; the job falls behind by "), "{text}");
    assert!(text.contains(" per batch ("), "{text}");
}

#[test]
fn progress_json_prints_one_object_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let job = watched_job(dir.path(), "1s");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("run")
        .arg(&job)
        .args(["--clock", "virtual", "--batches", "3", "--progress", "json"])
        .env("RUST_LOG", "error")
        .output()
        .expect("run sluice");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["job"], "watched");
        assert_eq!(l["time"], 1000 * (i as i64 + 1));
        assert_eq!(l["records_in"], if i == 0 { 203 } else { 200 });
        assert!(l["processing_ms"].as_f64().unwrap() > 0.0);
        assert_eq!(l["streams"][0]["name"], "slow", "{l:#}");
    }
    assert_eq!(lines[0]["rejected"], 1);
}

#[test]
fn the_ui_address_can_come_from_the_job_file_and_is_checked_there() {
    let dir = tempfile::tempdir().unwrap();
    let job = watched_job(dir.path(), "200ms");
    let text = std::fs::read_to_string(&job).unwrap();
    let with_ui = text.replace("[job]\n", "[job]\nui = \"127.0.0.1:0\"\n");
    std::fs::write(&job, &with_ui).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("run")
        .arg(&job)
        .args(["--clock", "virtual", "--batches", "2", "--quiet"])
        .output()
        .expect("run sluice");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("UI on http://127.0.0.1:"),
        "{stderr}"
    );

    std::fs::write(&job, text.replace("[job]\n", "[job]\nui = \"localhost\"\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["validate"])
        .arg(&job)
        .output()
        .expect("run sluice");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("job.toml:3:") && stderr.contains("socket address"),
        "{stderr}"
    );
}

#[test]
fn progress_json_reports_keyed_state_the_wal_and_the_receiver_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("fed.toml");
    let words = crate::support::plugin_wasm("words");
    std::fs::write(
        &job,
        format!(
            r#"[job]
name = "fed"
batch_interval = "200ms"

[checkpoint]
dir = "ck"
every_batches = 1

[plugins.words]
path = {words:?}

[sources.lines]
kind = "stdin"

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
"#
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("run")
        .arg(&job)
        .args(["--progress", "json"])
        .current_dir(dir.path())
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run sluice");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for i in 0..200 {
            writeln!(stdin, "to be or not to be {}", i % 7).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let fed = lines
        .iter()
        .find(|l| l["records_in"].as_u64() > Some(0))
        .unwrap_or_else(|| panic!("no batch with records: {stderr}"));
    assert!(fed["wal_bytes"].as_u64().is_some_and(|n| n > 0), "{stderr}");
    assert!(fed["sources"][0]["buffered_bytes"].is_u64(), "{fed:#}");
    // The `flat_map` is fused into `update_state_by_key`: the chain reports under
    // `totals`, its last stream.
    let totals_of = |batch: &Value| -> Value {
        batch["streams"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == "totals"))
            .cloned()
            .unwrap_or_else(|| panic!("no stream `totals`: {batch:#}"))
    };
    totals_of(fed);
    // "to", "be", "or", "not" and the seven digits.
    let last = lines.last().unwrap();
    let totals = totals_of(last);
    assert_eq!(totals["state_keys"], 11, "{last:#}");
    assert!(totals["state_bytes"].as_u64().unwrap() > 0);
    assert!(last["state_bytes"].as_u64().unwrap() > 0);
    assert!(fed["checkpoint"]["index"].is_u64(), "{fed:#}");
    // Streams without keyed state say nothing of it.
    for s in fed["streams"].as_array().unwrap() {
        if s["name"] != "totals" {
            assert!(s.get("state_keys").is_none(), "{fed:#}");
        }
    }
}
