//! Refused job files (escapes, stdin, hosts), hostile uploads and quotas, each with an
//! error that says what and where.

use crate::harness::*;

const ABI_99: &str = r#"(module (memory (export "memory") 1)
  (func (export "sluice_abi_version") (result i32) i32.const 99)
  (func (export "sluice_alloc") (param i32) (result i32) i32.const 8)
  (func (export "sluice_free") (param i32 i32)))"#;

const IMPORTS_ENV: &str = r#"(module (import "env" "system" (func)) (memory (export "memory") 1))"#;

fn refused(client: &Client, job: &str) -> String {
    let a = client.submit(job, "");
    assert_eq!(a.status, 400, "{}", a.text);
    a.json["error"].as_str().expect("error").to_owned()
}

#[test]
fn escapes_stdin_and_disallowed_hosts_are_refused_with_their_line() {
    let site = Site::new("", &[("alice", "allowed_hosts = [\"127.0.0.1:9\"]")]);
    let server = site.start();
    let alice = server.client("alice");
    alice.upload("words", &words_wasm());
    let sink = |path: &str| {
        wordcount_job("1s", "").replace("path = \"out\"", &format!("path = \"{path}\""))
    };
    let e = refused(&alice, &sink("../../../../etc"));
    assert!(
        e.starts_with(
            "job.toml:28:8: sink `out`: `../../../../etc` leads out of the job's directory"
        ),
        "{e}"
    );
    let e = refused(&alice, &sink("/tmp/owned"));
    assert!(
        e.contains("job.toml:28:8: sink `out`: `/tmp/owned` is an absolute path"),
        "{e}"
    );
    let source = |kind: &str| format!("[job]\nname = \"j\"\n[sources.s]\nkind = \"{kind}\"\n");
    let e = refused(&alice, &source("stdin"));
    assert!(
        e.starts_with("job.toml:4:8: source `s`: `stdin` is the server's standard input"),
        "{e}"
    );
    let e = refused(&alice, &format!("{}path = \"..\"\n", source("files")));
    assert!(e.contains("source `s`: `..` leads out"), "{e}");
    let e = refused(
        &alice,
        &format!("{}host = \"10.0.0.1\"\nport = 9\n", source("tcp")),
    );
    assert!(e.contains("job.toml:5:8: source `s`: `10.0.0.1:9` is not in this tenant's allowed_hosts (127.0.0.1:9)"), "{e}");
    let e = refused(
        &alice,
        &format!(
            "{}url = \"redis://127.0.0.1:6379\"\nstreams = [\"s\"]\n",
            source("redis")
        ),
    );
    assert!(
        e.contains("`127.0.0.1:6379` is not in this tenant's allowed_hosts"),
        "{e}"
    );
    let e = refused(
        &alice,
        &wordcount_job("1s", "").replace("name = \"words\"", "path = \"/srv/words.wasm\""),
    );
    assert!(
        e.contains("plugin `words`: `path` names a file on the server"),
        "{e}"
    );
    let e = refused(
        &alice,
        &wordcount_job("1s", "").replace("kind = \"files\"\npath = \"out\"", "kind = \"print\""),
    );
    assert!(
        e.contains("sink `out`: `print` and `stdout` sinks write to the server's output"),
        "{e}"
    );
    // The same message and place as `sluice validate` for an ordinary mistake.
    let e = refused(
        &alice,
        &wordcount_job("1s", "").replace("words.split_pairs", "words.nope"),
    );
    assert_eq!(
        e,
        "job.toml:18:6: stream `pairs`: plugin `words` has no function `nope`"
    );
    // A job without sinks, as `sluice validate` refuses it.
    let e = refused(&alice, &source("generator"));
    assert!(e.starts_with("job.toml: the job has no sinks"), "{e}");
    let e = refused(&alice, "[job]\nname = \"j\"\nbatch_interval = \"soon\"\n");
    assert!(
        e.starts_with("job.toml:3:18: invalid duration `soon`"),
        "{e}"
    );
    // Nothing was left behind by the refused jobs.
    let jobs = site.data().join("tenants/alice/jobs");
    assert_eq!(std::fs::read_dir(jobs).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn hostile_uploads_are_refused_with_clear_errors() {
    let site = Site::new("max_plugin_size = \"64KiB\"", &[("alice", "")]);
    let server = site.start();
    let alice = server.client("alice");
    let put =
        |name: &str, bytes: &[u8]| alice.send("PUT", &format!("/v1/plugins/{name}"), Some(bytes));
    let a = put("text", b"#!/bin/sh\nrm -rf /\n");
    assert_eq!(a.status, 400);
    assert!(
        a.json["error"]
            .as_str()
            .unwrap()
            .starts_with("plugin `text`: not a WebAssembly module"),
        "{}",
        a.text
    );
    let a = put("big", &std::fs::read(words_wasm()).unwrap());
    assert_eq!(a.status, 413, "{}", a.text);
    assert!(
        a.text.contains("over the limit of 65536 bytes"),
        "{}",
        a.text
    );
    let a = put("old", ABI_99.as_bytes());
    assert_eq!(a.status, 400);
    assert!(
        a.text
            .contains("returned 99; this host speaks ABI version 1"),
        "{}",
        a.text
    );
    let a = put("sys", IMPORTS_ENV.as_bytes());
    assert_eq!(a.status, 400);
    assert!(
        a.text
            .contains("imports `env.system`, which Sluice does not provide"),
        "{}",
        a.text
    );
    let a = put("../escape", b"\0asm");
    assert_eq!(
        a.status, 404,
        "a name with a slash is not a route: {}",
        a.text
    );
    let a = put("bad.name", b"\0asm");
    assert_eq!(a.status, 400);
    assert!(a.text.contains("plugin name `bad.name`"), "{}", a.text);
    // None of them was stored.
    assert_eq!(alice.get("/v1/plugins").json, serde_json::json!([]));
    let stored = std::fs::read_dir(site.data().join("tenants/alice/plugins"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(stored, 0);
}

#[test]
fn max_jobs_is_refused_with_the_quota_limit_and_use() {
    let site = Site::new("", &[("alice", "max_jobs = 2"), ("bob", "max_jobs = 1")]);
    let server = site.start();
    let alice = server.client("alice");
    let bob = server.client("bob");
    alice.upload("words", &words_wasm());
    bob.upload("words", &words_wasm());
    let job = wordcount_job("1s", "");
    let first = alice.submit_ok(&job, "");
    alice.submit_ok(&job, "");
    let a = alice.submit(&job, "");
    assert_eq!(a.status, 429, "{}", a.text);
    assert_eq!(a.json["quota"], "max_jobs");
    assert_eq!(
        (a.json["limit"].as_u64(), a.json["in_use"].as_u64()),
        (Some(2), Some(2))
    );
    // Another tenant's quota is its own.
    bob.submit_ok(&job, "");
    // A stopped job frees its slot.
    assert_eq!(alice.delete(&format!("/v1/jobs/{first}")).status, 200);
    alice.submit_ok(&job, "");
}

#[test]
fn sluice_run_says_a_plugin_by_uploaded_name_is_for_serve() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job.toml");
    std::fs::write(&job, wordcount_job("1s", "")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["validate", job.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("job.toml:5:1: plugin `words`: `name = \"words\"` names a plugin uploaded to `sluice serve`"),
        "{err}"
    );
}

#[test]
fn slow_clients_are_timed_out_and_large_jobs_refused() {
    use std::io::{Read, Write};
    let site = Site::new(
        "request_timeout = \"1s\"\nmax_job_size = \"1KiB\"",
        &[("alice", "")],
    );
    let server = site.start();
    let addr = server.url.trim_start_matches("http://").to_owned();
    let started = std::time::Instant::now();
    // Headers that never end: the connection is closed.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // A body that never arrives: 408.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nContent-Length: 500\r\n\r\n[job]\n").unwrap();
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // A job file over max_job_size: 413 with the limit.
    let alice = server.client("alice");
    let big = format!("[job]\nname = \"j\"\n#{}\n", "x".repeat(2000));
    let a = alice.submit(&big, "");
    assert_eq!(a.status, 413, "{}", a.text);
    assert!(
        a.text
            .contains("the job file is over the limit of 1024 bytes"),
        "{}",
        a.text
    );
}
