//! The crash drill of `examples/stateful/job.toml`, as reviewers run it: the example job
//! killed with SIGKILL at seeded random instants and restarted on its checkpoint gives,
//! sink by sink and record for record, the output of a run that never crashed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{assert_same_output, outputs, run_and_kill, run_cmd, run_ok, Rng};

/// Batches of each run.
const BATCHES: u64 = 100;
/// Crashed runs before the last, uninterrupted one.
const KILLS: usize = 10;
/// The plugin path as the example writes it (relative to the example's directory).
const PLUGIN_LINE: &str = "path = \"../../plugins/dist/words.wasm\"";

/// The repository's root.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// `plugins/dist/words.wasm`, built by `plugins/build.sh` once per test process.
fn words_wasm() -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(repo_root().join("plugins/build.sh"))
            .arg("--quiet")
            .status()
            .expect("run plugins/build.sh");
        assert!(status.success(), "plugins/build.sh failed");
    });
    let path = repo_root().join("plugins/dist/words.wasm");
    assert!(path.is_file(), "{} missing", path.display());
    path
}

/// The example's job file, unchanged but for its plugin path (made absolute).
fn example_text() -> String {
    let file = repo_root().join("examples/stateful/job.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(PLUGIN_LINE),
        "{}: no `{PLUGIN_LINE}` to point at the built plugin",
        file.display()
    );
    let abs = format!("path = {:?}", words_wasm().display().to_string());
    text.replace(PLUGIN_LINE, &abs)
}

/// The output directory of every sink of the job (relative to its directory); asserts
/// the job has checkpoints and only `files` sinks, which the comparison needs.
fn sink_dirs(text: &str) -> Vec<String> {
    let table: toml::Table = toml::from_str(text).unwrap();
    assert!(
        table.contains_key("checkpoint"),
        "the example has no [checkpoint]"
    );
    let sinks = table["sinks"].as_table().unwrap();
    sinks
        .iter()
        .map(|(name, s)| {
            assert_eq!(s["kind"].as_str(), Some("files"), "sink `{name}`");
            s["path"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Writes the job into a fresh `root/name`; returns the job file.
fn write_job(root: &Path, name: &str, text: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let job = dir.join("job.toml");
    std::fs::write(&job, text).unwrap();
    job
}

#[test]
fn the_stateful_example_killed_at_random_gives_the_output_of_an_uninterrupted_run() {
    let mut rng = Rng::from_env("stateful_example");
    let text = example_text();
    let sinks = sink_dirs(&text);
    assert!(sinks.len() >= 3, "{sinks:?}");
    let root = tempfile::tempdir().unwrap();

    let reference = write_job(root.path(), "reference", &text);
    let started = Instant::now();
    run_ok(run_cmd(&reference, BATCHES, &["--clock", "virtual"]));
    let took = started.elapsed();
    let reference = reference.parent().unwrap().to_path_buf();
    let first = reference.join(&sinks[0]);
    assert_eq!(outputs(&first).len() as u64, BATCHES, "{}", first.display());

    // Each crashed run lives at most an eighth of the reference run, so at least eight
    // kills land before the job is done; the last run finishes it.
    let crashed = write_job(root.path(), "crashed", &text);
    let dir = crashed.parent().unwrap().to_path_buf();
    let span = took.as_millis() as u64 / 8 + 1;
    let (mut kills, mut mid_run) = (0, 0);
    for _ in 0..KILLS {
        let mut cmd = run_cmd(&crashed, BATCHES, &["--clock", "virtual"]);
        if rng.below(2) == 0 {
            // Widen the window between the state files and the metadata commit.
            cmd.env("SLUICE_TEST_SLOW_CHECKPOINT", "15");
        }
        let after = Duration::from_millis(5 + rng.below(span));
        if run_and_kill(cmd, after) {
            break;
        }
        kills += 1;
        let written = outputs(&dir.join(&sinks[0])).len() as u64;
        mid_run += u64::from(written > 0 && written < BATCHES) as usize;
    }
    println!(
        "killed {kills} times, {mid_run} after output began (reference took {took:?}, \
         kills within {span} ms)"
    );
    assert!(kills >= 8, "only {kills} runs were killed before finishing");
    assert!(
        mid_run > 0,
        "no kill landed while the job was writing output"
    );
    let mut last = run_cmd(&crashed, BATCHES, &["--clock", "virtual"]);
    last.env("RUST_LOG", "sluice=info");
    let stderr = String::from_utf8_lossy(&run_ok(last).stderr).into_owned();
    assert!(
        stderr.contains("Resuming from checkpoint."),
        "the last run did not resume a checkpoint: {stderr}"
    );

    for sink in &sinks {
        let expected = outputs(&reference.join(sink));
        assert!(!expected.is_empty(), "{sink}: no output");
        println!("comparing {sink}: {} batch files", expected.len());
        assert_same_output(&expected, &outputs(&dir.join(sink)));
    }
}
