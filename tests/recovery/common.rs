//! Helpers: a private copy of the `sluice` binary, job files, runs, kills and outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// A copy of the binary under test, so that other builds sharing the target directory
/// cannot swap it in the middle of a test (a hard link where it can: cargo replaces the
/// file, it does not write into it); `SLUICE_BIN` names another binary to test. Kept in
/// the target's temporary directory, one per test process; those of processes that are
/// gone are removed.
pub fn sluice() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("SLUICE_BIN") {
            return PathBuf::from(bin);
        }
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("recovery-bin");
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let gone = name
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
            if gone {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = root.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let to = dir.join("sluice");
        let _ = std::fs::remove_file(&to);
        let from = env!("CARGO_BIN_EXE_sluice");
        if std::fs::hard_link(from, &to).is_err() {
            std::fs::copy(from, &to).unwrap();
        }
        to
    })
}

/// A small deterministic random generator (xorshift64*), seeded and printed by tests.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `SLUICE_TEST_SEED` or the clock; prints the seed.
    pub fn from_env(test: &str) -> Self {
        let seed = std::env::var("SLUICE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        println!("{test}: seed {seed} (rerun with SLUICE_TEST_SEED={seed})");
        Rng(seed.max(1))
    }

    /// A generator with a fixed seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `sluice run JOB --batches N -q` plus `args`.
pub fn run_cmd(job: &Path, batches: u64, args: &[&str]) -> Command {
    let mut c = Command::new(sluice());
    c.arg("run")
        .arg(job)
        .args(["--batches", &batches.to_string(), "-q"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Runs to the end; panics with stderr on failure.
pub fn run_ok(mut cmd: Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "sluice failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Starts `cmd`, kills it with SIGKILL after `after`; returns whether it had already
/// finished successfully.
pub fn run_and_kill(mut cmd: Command, after: Duration) -> bool {
    cmd.stderr(Stdio::null());
    let mut child: Child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + after;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "sluice failed before the kill: {status}");
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill(); // SIGKILL
    let status = child.wait().unwrap();
    status.success()
}

/// The files of a directory (hidden temporaries excluded), by name, with their text.
pub fn outputs(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            out.insert(name, std::fs::read_to_string(e.path()).unwrap());
        }
    }
    out
}

/// Asserts two output directories are equal, file by file and record by record, in order:
/// operators that emit from keyed state list keys in an order that depends on the state
/// alone, so a batch replayed after a restore is byte for byte the batch of a run that
/// never crashed.
pub fn assert_same_output(reference: &BTreeMap<String, String>, got: &BTreeMap<String, String>) {
    let names: Vec<_> = reference.keys().collect();
    let got_names: Vec<_> = got.keys().collect();
    assert_eq!(names, got_names, "different batch files");
    for (name, text) in reference {
        let g = &got[name];
        for (i, (a, b)) in text.lines().zip(g.lines()).enumerate() {
            assert_eq!(a, b, "{name}: record {i} differs");
        }
        assert_eq!(
            text.lines().count(),
            g.lines().count(),
            "{name}: record count"
        );
        assert_eq!(text, g, "{name}: bytes");
    }
}
