//! A Redis source waits for Redis: a job started (fresh, or resumed with batches to
//! replay) while redis-server is down, or while it is still loading its data set, keeps
//! running and counts every entry exactly once once Redis is back with its data.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::harness::RedisServer;
use crate::jobs::{all_records, sluice_run, spawn_quiet, sum_by_key};
use crate::recovery::{job, RECORDS, WORDS};
use crate::replay::kill_at_first_output;

/// Entries `key = w<i % WORDS>, value = id-<i>` in stream `events`, and `fillers` plain
/// keys (they make loading slow with `--key-load-delay`).
fn add_records(server: &RedisServer, fillers: usize) {
    let mut con = server.connection();
    let mut pipe = redis::pipe();
    for i in 0..RECORDS {
        pipe.cmd("XADD")
            .arg("events")
            .arg("*")
            .arg("key")
            .arg(format!("w{}", i % WORDS))
            .arg("value")
            .arg(format!("id-{i}"))
            .ignore();
    }
    for i in 0..fillers {
        pipe.cmd("SET").arg(format!("filler-{i}")).arg("x").ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
}

/// The checkpointed counting job of the crash tests reading `server`, with a checkpoint
/// only at start and at the end, so that a crash leaves every batch to replay.
fn counting_job(dir: &Path, server: &RedisServer) {
    let source = format!(
        r#"[sources.in]
kind = "redis"
url = "{}"
streams = ["events"]
key = true
max_rate_per_stream = 3000"#,
        server.url()
    );
    let text = job(&source).replace("every_batches = 2", "every_batches = 1000");
    std::fs::write(dir.join("job.toml"), text).unwrap();
}

fn spawn_logged(dir: &Path, batches: u64) -> Child {
    sluice_run(dir, batches)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice")
}

/// Waits for the job and checks that it counted every record exactly once; returns its
/// stderr.
fn finish_and_count(child: Child, dir: &Path) -> String {
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "sluice failed: {}\n{err}", out.status);
    let n: i64 = all_records(&dir.join("out/n"))
        .iter()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(n, RECORDS as i64, "records counted\n{err}");
    let counts = sum_by_key(
        all_records(&dir.join("out/counts"))
            .iter()
            .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_i64().unwrap())),
    );
    let each = (RECORDS / WORDS) as i64;
    assert_eq!(counts.len(), WORDS, "{err}");
    assert!(counts.values().all(|&c| c == each), "{counts:?}\n{err}");
    err
}

/// Keeps Redis down for 2 s while the job runs, then starts it with its data.
fn bring_back_later(server: &mut RedisServer, child: &mut Child) {
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the job exited while Redis was down"
    );
    server.restart();
}

#[test]
fn a_job_started_while_redis_is_down_waits_for_it() {
    let mut server = RedisServer::start();
    add_records(&server, 0);
    server.kill();
    let dir = tempfile::tempdir().unwrap();
    counting_job(dir.path(), &server);
    let mut child = spawn_logged(dir.path(), 40);
    bring_back_later(&mut server, &mut child);
    let err = finish_and_count(child, dir.path());
    assert!(err.contains("Redis is unreachable"), "{err}");
}

#[test]
fn a_job_resumed_while_redis_is_down_replays_its_batches_once_it_is_back() {
    let mut server = RedisServer::start();
    add_records(&server, 0);
    let dir = tempfile::tempdir().unwrap();
    counting_job(dir.path(), &server);
    let n_dir = dir.path().join("out/n");
    let has_records = || {
        all_records(&n_dir)
            .iter()
            .any(|v| v.as_i64().is_some_and(|n| n > 0))
    };
    kill_at_first_output(
        &mut spawn_quiet(dir.path(), 40),
        &dir.path().join("ckpt"),
        has_records,
    );
    server.kill();
    let mut child = spawn_logged(dir.path(), 40);
    bring_back_later(&mut server, &mut child);
    let err = finish_and_count(child, dir.path());
    assert!(
        err.contains("while replaying a batch"),
        "the resumed job replayed batches while Redis was down\n{err}"
    );
}

#[test]
fn a_job_started_while_redis_is_loading_waits_for_it() {
    let mut server = RedisServer::start();
    add_records(&server, 20_000);
    server.restart_loading_slowly(100);
    let dir = tempfile::tempdir().unwrap();
    counting_job(dir.path(), &server);
    let child = spawn_logged(dir.path(), 40);
    let err = finish_and_count(child, dir.path());
    assert!(err.contains("Redis is loading the dataset"), "{err}");
}
