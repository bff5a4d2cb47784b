//! A full disk while checkpointing: the job fails after three failed attempts in a row,
//! the previous checkpoint stays intact, and once there is room the job resumes from it
//! and produces the output of an uninterrupted run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{assert_same_output, outputs, run_cmd, run_ok, sluice};
use crate::crash::{job_text, reference, write_job, BATCHES};

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_tiny_tmpfs(at: &Path) -> Option<Mount> {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=128k", "tmpfs"])
        .arg(at)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mount(at.to_owned()))
}

#[test]
fn a_full_disk_fails_the_job_and_keeps_the_previous_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let (reference, _) = reference(root.path());
    let dir = root.path().join("full");
    let job = write_job(&dir, &job_text());
    let ckpt = dir.join("ckpt");
    std::fs::create_dir_all(&ckpt).unwrap();
    let Some(_mount) = mount_tiny_tmpfs(&ckpt) else {
        println!("SKIPPED: cannot mount a tmpfs here (needs root); the full-disk path is untested");
        return;
    };
    // Fill the file system, then free ten pages: room for the marker, the lock, the
    // direct batch log and about two checkpoints.
    let mut fillers = Vec::new();
    for i in 0.. {
        let p = ckpt.join(format!("filler-{i}"));
        if std::fs::write(&p, [7u8; 4096]).is_err() {
            let _ = std::fs::remove_file(&p);
            break;
        }
        fillers.push(p);
    }
    for p in fillers.drain(fillers.len() - 10..) {
        std::fs::remove_file(p).unwrap();
    }
    let out = run_cmd(&job, BATCHES, &["--clock", "virtual"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the job should fail: {stderr}");
    assert!(
        stderr.contains("3 in a row") && stderr.contains("is intact"),
        "{stderr}"
    );
    assert!(stderr.contains("No space left"), "{stderr}");
    // The checkpoints written before the disk filled are valid.
    let inspect = Command::new(sluice())
        .args(["checkpoint", "inspect"])
        .arg(&ckpt)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        inspect.status.success() && !report.contains("INVALID"),
        "{report}"
    );
    assert!(report.contains("checkpoint 4:"), "{report}");
    for p in fillers {
        std::fs::remove_file(p).unwrap();
    }
    run_ok(run_cmd(&job, BATCHES, &["--clock", "virtual"]));
    assert_same_output(
        &outputs(&reference.join("out/sums")),
        &outputs(&dir.join("out/sums")),
    );
}
