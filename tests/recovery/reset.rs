//! `sluice checkpoint reset`: it refuses a directory that is not a Sluice checkpoint
//! directory, lists what it will delete, deletes only with `--yes` (or a yes on the
//! terminal), never deletes a file Sluice did not write, and the job then starts over.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::{assert_same_output, outputs, run_cmd, run_ok, sluice};
use crate::crash::{job_text, write_job};

/// `sluice checkpoint reset DIR [--yes]` with stdin not a terminal.
fn reset(dir: &Path, yes: bool) -> Output {
    Command::new(sluice())
        .args(["checkpoint", "reset"])
        .args(yes.then_some("--yes"))
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The names of the checkpoint metadata files in `dir`, sorted.
fn checkpoints(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("checkpoint-"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_directory_sluice_did_not_write_is_refused_and_left_alone() {
    let root = tempfile::tempdir().unwrap();
    let mine = root.path().join("mine");
    std::fs::create_dir_all(mine.join("state")).unwrap();
    std::fs::create_dir_all(mine.join("wal")).unwrap();
    std::fs::write(mine.join("state/mine"), "precious").unwrap();
    std::fs::write(mine.join("wal/notes"), "precious").unwrap();
    for yes in [false, true] {
        let out = reset(&mine, yes);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert_eq!(
            stderr,
            format!(
                "error: {}: not a Sluice checkpoint directory (it has no SLUICE-CHECKPOINT \
                 file and no checkpoint or log that Sluice wrote); nothing was deleted\n",
                mine.display()
            )
        );
        assert_eq!(
            std::fs::read_to_string(mine.join("state/mine")).unwrap(),
            "precious"
        );
        assert_eq!(
            std::fs::read_to_string(mine.join("wal/notes")).unwrap(),
            "precious"
        );
        assert!(
            !mine.join("LOCK").exists(),
            "reset wrote into the directory"
        );
    }
    let file = mine.join("state/mine");
    let stderr = text(&reset(&file, true).stderr);
    assert!(stderr.contains("state/mine: not a directory"), "{stderr}");
    // `inspect` tells a file from a missing directory too.
    let inspect = Command::new(sluice())
        .args(["checkpoint", "inspect"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = text(&inspect.stderr);
    assert!(!inspect.status.success());
    assert!(stderr.contains("state/mine: not a directory"), "{stderr}");
}

#[test]
fn a_checkpoint_directory_is_listed_then_reset_with_yes_and_the_job_starts_over() {
    let root = tempfile::tempdir().unwrap();
    let job = write_job(root.path(), &job_text());
    run_ok(run_cmd(&job, 8, &["--clock", "virtual"]));
    let ckpt = root.path().join("ckpt");
    assert!(ckpt.join("SLUICE-CHECKPOINT").is_file());
    std::fs::write(ckpt.join("state/mine"), "precious").unwrap();
    std::fs::write(ckpt.join("notes.txt"), "precious").unwrap();
    let before = checkpoints(&ckpt);
    assert!(before.contains(&"checkpoint-000000000008.meta".to_owned()));

    // Without --yes and without a terminal: the list, then a refusal naming --yes.
    let out = reset(&ckpt, false);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!("{}: deleting ", ckpt.display()))
            && stdout.contains("\n  checkpoint-000000000008.meta\n")
            && stdout.contains("\n  state/totals/")
            && !stdout.contains("mine")
            && !stdout.contains("notes.txt"),
        "{stdout}"
    );
    assert_eq!(
        stderr,
        format!(
            "error: {0}: not deleting without confirmation (stdin is not a terminal); run \
             `sluice checkpoint reset --yes {0}` to delete the files listed above\n",
            ckpt.display()
        )
    );
    assert_eq!(checkpoints(&ckpt), before, "deleted without --yes");

    // A directory from before the marker file existed is recognised by its checkpoints.
    std::fs::remove_file(ckpt.join("SLUICE-CHECKPOINT")).unwrap();
    let out = reset(&ckpt, true);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("the job's next run starts from scratch"));
    assert!(checkpoints(&ckpt).is_empty());
    assert!(!ckpt.join("state/totals").exists());
    assert_eq!(
        std::fs::read_to_string(ckpt.join("state/mine")).unwrap(),
        "precious"
    );
    assert_eq!(
        std::fs::read_to_string(ckpt.join("notes.txt")).unwrap(),
        "precious"
    );
    assert!(
        ckpt.join("SLUICE-CHECKPOINT").is_file(),
        "the marker is kept"
    );

    // The next run starts from scratch: its output is a fresh run's, batch for batch.
    std::fs::remove_dir_all(root.path().join("out")).unwrap();
    let rerun = run_ok(run_cmd(&job, 4, &["--clock", "virtual"]));
    assert!(!text(&rerun.stderr).contains("Resuming"));
    let fresh = tempfile::tempdir().unwrap();
    let fresh_job = write_job(fresh.path(), &job_text());
    run_ok(run_cmd(&fresh_job, 4, &["--clock", "virtual"]));
    for sink in ["out/sums", "out/totals"] {
        let got = outputs(&root.path().join(sink));
        assert_eq!(got.len(), 4, "{sink}: {got:?}");
        assert_same_output(&outputs(&fresh.path().join(sink)), &got);
    }
}

#[test]
fn on_a_terminal_reset_asks_first() {
    // `script` (util-linux) runs the command on a pseudo-terminal fed from our stdin.
    if Command::new("script").arg("--version").output().is_err() {
        println!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let job = write_job(root.path(), &job_text());
    run_ok(run_cmd(&job, 4, &["--clock", "virtual"]));
    let ckpt = root.path().join("ckpt");
    let on_terminal = |answer: &str| {
        let command = format!("{} checkpoint reset {}", sluice().display(), ckpt.display());
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = on_terminal("n\n");
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Delete them? [y/N]") && stdout.contains("Nothing deleted."),
        "{stdout}"
    );
    assert!(!checkpoints(&ckpt).is_empty());
    let out = on_terminal("y\n");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("deleted"), "{stdout}");
    assert!(checkpoints(&ckpt).is_empty());
}
