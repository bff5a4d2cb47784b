//! Helpers: job files in temporary directories, running the `sluice` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary directory holding a job file.
pub struct JobDir {
    pub dir: tempfile::TempDir,
}

impl JobDir {
    /// A directory with `job.toml` holding `text`.
    pub fn new(text: &str) -> JobDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("job.toml"), text).expect("write job");
        JobDir { dir }
    }

    /// The job file.
    pub fn job(&self) -> PathBuf {
        self.dir.path().join("job.toml")
    }

    /// A path inside the directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `sluice run job.toml --clock virtual --batches N --quiet`.
    pub fn run_virtual(&self, batches: u64) -> Output {
        sluice(&[
            "run",
            self.job().to_str().unwrap(),
            "--clock",
            "virtual",
            "--batches",
            &batches.to_string(),
            "--quiet",
        ])
    }
}

/// Runs the `sluice` binary with `args`.
pub fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run sluice")
}

/// stdout as text, asserting success.
pub fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "sluice failed: {}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

/// stderr as text, asserting failure.
pub fn err_stderr(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "sluice succeeded unexpectedly; stdout:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr.clone()).expect("utf-8 stderr")
}

/// The JSON lines of a files-sink batch file, parsed.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// Sorts JSON values by their text (for shuffle outputs, whose order is not defined).
pub fn sorted(mut v: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    v.sort_by_key(|x| x.to_string());
    v
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// `plugins/dist/<name>.wasm`, built by `plugins/build.sh` once per test process.
pub fn plugin_wasm(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(repo_root().join("plugins/build.sh"))
            .arg("--quiet")
            .status()
            .expect("run plugins/build.sh");
        assert!(status.success(), "plugins/build.sh failed");
    });
    let path = repo_root().join(format!("plugins/dist/{name}.wasm"));
    assert!(path.is_file(), "{} missing", path.display());
    path
}

/// `plugins/dist/<name>.wasm` for a component plugin, or `None` with one line on stderr
/// when plugins/build.sh skipped it (componentize-py or componentize-js missing).
pub fn plugin_wasm_if_built(name: &str) -> Option<PathBuf> {
    let dir = plugin_wasm("words").with_file_name("");
    let path = dir.join(format!("{name}.wasm"));
    if path.is_file() {
        return Some(path);
    }
    eprintln!(
        "skipped: {} not built: its toolchain is missing (scripts/component-toolchains.sh)",
        path.display()
    );
    None
}

/// A `[plugins.words]` table pointing at the built words plugin.
pub fn words_plugin() -> String {
    plugin_table("words", "words")
}

/// A `[plugins.<alias>]` table for `plugins/dist/<name>.wasm`.
pub fn plugin_table(alias: &str, name: &str) -> String {
    format!(
        "[plugins.{alias}]\npath = {:?}\n",
        plugin_wasm(name).display().to_string()
    )
}

/// Word counts of lines, computed independently of Sluice.
pub fn count_words<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<serde_json::Value> {
    let mut counts = std::collections::BTreeMap::<String, i64>::new();
    for l in lines {
        for w in l.split_whitespace() {
            *counts.entry(w.to_owned()).or_default() += 1;
        }
    }
    sorted(
        counts
            .into_iter()
            .map(|(w, n)| serde_json::json!([w, n]))
            .collect(),
    )
}
