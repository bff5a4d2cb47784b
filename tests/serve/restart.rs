//! Durability: the server SIGKILLed or stopped and restarted resumes every running job
//! from its checkpoint; `files` outputs are those of an uninterrupted run.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::*;

/// The batch files of a `files` sink, in time order: (time, contents).
fn batch_files(dir: &Path) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let t = name
                        .strip_prefix("batch-")?
                        .strip_suffix(".jsonl")?
                        .parse()
                        .ok()?;
                    Some((t, std::fs::read_to_string(e.path()).ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn a_sigkilled_server_resumes_its_jobs_with_identical_files_outputs() {
    const BATCHES: usize = 30;
    let job = format!(
        "{}\n[checkpoint]\nevery_batches = 4\n",
        wordcount_job("200ms", "")
    );
    let site = Site::new("", &[("alice", "")]);
    let server = site.start();
    let alice = server.client("alice");
    alice.upload("words", &words_wasm());
    let id = alice.submit_ok(&job, &format!("?batches={BATCHES}"));
    let out = site.job_dir("alice", &id).join("files/out");
    assert!(
        wait_until(Duration::from_secs(30), || batch_files(&out).len() >= 9),
        "log:\n{}",
        site.log()
    );
    server.kill();
    let before = batch_files(&out).len();
    assert!(before < BATCHES, "the job finished before the kill");

    let server = site.start();
    let alice = server.client("alice");
    assert!(
        wait_until(Duration::from_secs(60), || alice.status(&id)["state"]
            == "stopped"),
        "not finished: {}\nlog:\n{}",
        alice.status(&id),
        site.log()
    );
    assert_eq!(
        alice.status(&id)["reason"],
        format!("finished: ran its {BATCHES} batches")
    );
    let served = batch_files(&out);

    // The same job run uninterrupted by `sluice run` (virtual clock, same batch count).
    let reference = tempfile::tempdir().unwrap();
    let text = job.replace(
        "name = \"words\"",
        &format!("path = {:?}", words_wasm().display().to_string()),
    );
    let text = text.replace("[checkpoint]\nevery_batches = 4\n", "");
    std::fs::write(reference.path().join("job.toml"), text).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "run",
            "job.toml",
            "--clock",
            "virtual",
            "--batches",
            &BATCHES.to_string(),
            "--quiet",
        ])
        .current_dir(reference.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let expected = batch_files(&reference.path().join("out"));
    assert_eq!(expected.len(), BATCHES);
    assert_eq!(
        served.len(),
        BATCHES,
        "batch times: {:?}",
        served.iter().map(|b| b.0).collect::<Vec<_>>()
    );
    for (k, ((t, got), (_, want))) in served.iter().zip(&expected).enumerate() {
        assert_eq!(
            *t,
            served[0].0 + 200 * k as i64,
            "batch {k} is not on the clock"
        );
        assert_eq!(
            got, want,
            "batch {k} (time {t}) differs from the uninterrupted run"
        );
    }
}

#[test]
fn a_stopped_server_pauses_jobs_and_rechecks_confinement_when_resuming() {
    let site = Site::new("", &[("alice", "")]);
    let server = site.start();
    let alice = server.client("alice");
    alice.upload("words", &words_wasm());
    let counting = alice.submit_ok(&wordcount_job("200ms", ""), "");
    let reading = "[job]\nname = \"reader\"\nbatch_interval = \"200ms\"\n\
                   [sources.in]\nkind = \"files\"\npath = \"in\"\n\
                   [sinks.copy]\nfrom = \"in\"\nkind = \"files\"\npath = \"copy\"\n";
    let reader = alice.submit_ok(reading, "");
    let in_dir = site.job_dir("alice", &reader).join("files/in");
    assert!(
        in_dir.is_dir(),
        "the files source's directory is created at submission"
    );
    assert!(wait_until(Duration::from_secs(30), || {
        alice.status(&counting)["last_batches"]
            .as_array()
            .is_some_and(|b| b.len() >= 3)
    }));
    server.terminate();
    let last_before = batch_files(&site.job_dir("alice", &counting).join("files/out"))
        .last()
        .unwrap()
        .0;
    let logs = std::fs::read_to_string(site.job_dir("alice", &counting).join("log.txt")).unwrap();
    assert!(logs.contains("job paused after"), "{logs}");

    // While the server is down, the reader's input directory becomes a symlink out.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "not yours\n").unwrap();
    std::fs::remove_dir(&in_dir).unwrap();
    std::os::unix::fs::symlink(outside.path(), &in_dir).unwrap();

    let server = site.start();
    let alice = server.client("alice");
    let st = alice.status(&counting);
    assert_eq!(st["state"], "running", "{st}");
    assert!(wait_until(Duration::from_secs(30), || {
        batch_files(&site.job_dir("alice", &counting).join("files/out"))
            .last()
            .unwrap()
            .0
            > last_before
    }));
    let st = alice.status(&reader);
    assert_eq!(st["state"], "failed", "{st}");
    let reason = st["reason"].as_str().unwrap();
    assert!(
        reason.contains("source `in`: `in` goes through a symlink that leads out"),
        "{reason}"
    );
    assert!(
        batch_files(&site.job_dir("alice", &reader).join("files/copy"))
            .iter()
            .all(|(_, c)| !c.contains("not yours"))
    );
}
