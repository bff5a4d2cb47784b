//! The README's Quick start on a bare machine: `scripts/demo.sh` in a copy of the
//! repository, with a `PATH` from which the optional toolchains (Go, Zig, clang, wasm-ld,
//! wabt, python3, through which `pip install ziglang` provides Zig, componentize-py and
//! node) are hidden, builds
//! the plugin it needs, prints word counts and exits 0; `plugins/build.sh` reports the
//! missing toolchains in one line and exits 0.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::repo_root;

/// Programs a bare machine (rustup and the usual Debian tools) does not have.
const HIDDEN: &[&str] = &[
    "go",
    "gofmt",
    "zig",
    "clang",
    "wasm-ld",
    "wat2wasm",
    "wasm-objdump",
    "python3",
    "python",
    "componentize-py",
    "node",
    "npm",
];

/// Copies the tracked files of the repository to `to`, keeping their modification times
/// (so that cargo finds the host built by an earlier run in [`target_dir`] still fresh).
fn copy_tracked(to: &Path) {
    let root = repo_root();
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .expect("git ls-files");
    assert!(out.status.success(), "git ls-files failed");
    for rel in out.stdout.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let rel = std::str::from_utf8(rel).expect("utf-8 path");
        let (from, dest) = (root.join(rel), to.join(rel));
        let Ok(meta) = std::fs::metadata(&from) else {
            continue; // deleted in the work tree, not yet committed
        };
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&from, &dest).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let file = std::fs::File::options().write(true).open(&dest).unwrap();
        file.set_modified(meta.modified().unwrap()).unwrap();
    }
}

/// A directory of symlinks to every program on `PATH` except [`HIDDEN`] (the first of
/// each name wins, as with `PATH` itself).
fn bare_path(bin: &Path) -> PathBuf {
    std::fs::create_dir_all(bin).unwrap();
    let path = std::env::var_os("PATH").expect("PATH");
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let link = bin.join(&name);
            if HIDDEN.iter().any(|h| name == *h) || link.symlink_metadata().is_ok() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(e.path(), link);
        }
    }
    bin.to_owned()
}

/// The copy's own target directory, kept between runs under cargo's temporary directory
/// for integration tests. Never the test's own target directory: cargo would rebuild the
/// `sluice` binary there from the copy (same unit hash, other path), and the other tests,
/// running beside this one, would run a binary that names the copy's deleted directory.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("quick-start")
}

fn run(repo: &Path, bin: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(repo.join(program))
        .args(args)
        .current_dir(repo)
        .env("PATH", bin)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("SLUICE_DEMO_PROFILE", "dev")
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

#[test]
fn the_demo_runs_on_a_machine_with_only_rust() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("sluice");
    copy_tracked(&repo);
    let bin = bare_path(&tmp.path().join("bin"));
    for hidden in HIDDEN {
        assert!(!bin.join(hidden).exists(), "{hidden} is not hidden");
    }

    let out = run(&repo, &bin, "scripts/demo.sh", &["2"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let why = format!("{}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    assert!(out.status.success(), "{why}");
    // The print sink: a header per batch, then the first counts, `["word",n]`.
    let counts = stdout
        .lines()
        .filter(|l| l.starts_with("[\"") && l.ends_with(']'))
        .count();
    assert!(counts >= 2, "no counts printed: {why}");
    assert_eq!(stdout.matches("Time: ").count(), 2, "{why}");
    let progress = stderr.matches("[wordcount] batch ").count();
    assert_eq!(progress, 2, "{why}");
    assert!(stderr.contains("200 records in, 40 out"), "{why}");
    assert!(!stderr.contains("command not found"), "{why}");
    assert!(repo.join("plugins/dist/words.wasm").is_file());

    // Every optional language probed: skipped in one line, exit 0.
    let mut names: Vec<String> = std::fs::read_dir(repo.join("plugins"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir() && !e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "dist" && n != "target")
        .collect();
    names.push("words".to_owned());
    let mut args = vec!["--quiet"];
    args.extend(names.iter().map(String::as_str));
    let out = run(&repo, &bin, "plugins/build.sh", &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for part in [
        "plugins/build.sh: skipped C (missing clang lld",
        "WAT (wat2wasm not found",
        "Zig (zig not found",
        "Go (go >= 1.24 not found",
        "Python (componentize-py not found",
        "JavaScript (componentize-js not found",
        "scripts/setup.sh installs them all",
    ] {
        assert!(stderr.contains(part), "`{part}` missing: {stderr}");
    }
}
