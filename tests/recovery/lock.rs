//! One process per checkpoint directory: a second run of the job, and `sluice checkpoint
//! reset`, are refused while the first runs, and a killed run leaves no stale lock.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{run_cmd, run_ok, sluice};
use crate::crash::{job_text, write_job};

#[test]
fn a_second_run_on_the_same_checkpoint_directory_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let job = write_job(root.path(), &job_text());
    let ckpt = root.path().join("ckpt");
    // Wall clock, 1 s batches: the first run lives for minutes unless killed.
    let mut first = run_cmd(&job, 100, &[])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start_up = ckpt.join("checkpoint-000000000000.meta");
    let give_up = Instant::now() + Duration::from_secs(30);
    while !start_up.exists() {
        if Instant::now() > give_up {
            let _ = first.kill();
            let listing: Vec<_> = std::fs::read_dir(&ckpt)
                .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
                .unwrap_or_default();
            panic!("no start-up checkpoint within 30 s: {listing:?}");
        }
        assert!(first.try_wait().unwrap().is_none(), "the first run ended");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = first.id();

    let second = run_cmd(&job, 100, &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("is in use by process {pid}"))
            && stderr.contains("--checkpoint-dir"),
        "{stderr}"
    );
    let reset = Command::new(sluice())
        .args(["checkpoint", "reset", "--yes"])
        .arg(&ckpt)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&reset.stderr);
    assert!(!reset.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("is in use by process {pid}")),
        "{stderr}"
    );
    assert!(
        start_up.exists(),
        "reset removed the running job's checkpoint"
    );

    first.kill().unwrap(); // SIGKILL: the operating system releases the lock
    first.wait().unwrap();
    // The next run takes over, resumes the start-up checkpoint and runs one more batch.
    let out = run_ok(run_cmd(&job, 1, &[]));
    assert!(out.status.success());
    assert!(ckpt.join("checkpoint-000000000001.meta").exists());
}
