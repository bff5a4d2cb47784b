//! `sluice plugin init NAME --lang LANG`: the project builds with the one command its
//! README gives and passes `sluice plugin test` as it is, for each language whose
//! toolchain is here (the others are skipped with one line).

use std::path::Path;
use std::process::Command;

use crate::support::{ok_stdout, repo_root, sluice};

/// The first fenced block after the line `Build:` in the project's README.
fn build_command(readme: &str) -> String {
    let after = readme.split("Build:").nth(1).expect("a Build: section");
    let block = after.split("```").nth(1).expect("a fenced block");
    block.trim().to_owned()
}

/// Runs `command` in `dir` with the `sluice` under test first on the PATH.
fn run_documented(dir: &Path, command: &str) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_sluice")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("PATH", path)
        // A Rust project's dependencies are built once, in the test target directory.
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-init-rust"),
        )
        .output()
        .expect("run the build command")
}

/// What the language needs, or `None` when it is here.
fn missing_toolchain(lang: &str) -> Option<&'static str> {
    let has = |cmd: &str| {
        Command::new("bash")
            .arg("-c")
            .arg(format!("command -v {cmd}"))
            .output()
            .is_ok_and(|o| o.status.success())
    };
    match lang {
        "python" if !has("componentize-py") => Some("componentize-py"),
        "js" if !has("componentize-js")
            && !repo_root()
                .join("guest-sdk/js/node_modules/.bin/componentize-js")
                .exists() =>
        {
            Some("componentize-js (npm ci in guest-sdk/js)")
        }
        "c" if !has("clang") || !Path::new("/usr/include/msgpuck.h").exists() => {
            Some("clang and msgpuck")
        }
        "rust" if !has("cargo") => Some("cargo"),
        _ => None,
    }
}

#[test]
fn every_language_scaffold_builds_and_passes_plugin_test() {
    for lang in ["c", "python", "js", "rust"] {
        if let Some(what) = missing_toolchain(lang) {
            eprintln!("skipped: `sluice plugin init --lang {lang}`: {what} is missing");
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let name = format!("my-{lang}");
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["plugin", "init", &name, "--lang", lang])
            .current_dir(tmp.path())
            .output()
            .unwrap();
        ok_stdout(&out);
        let dir = tmp.path().join(&name);
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        let built = run_documented(&dir, &build_command(&readme));
        assert!(
            built.status.success(),
            "{lang}: `{}` failed:\n{}",
            build_command(&readme),
            String::from_utf8_lossy(&built.stderr)
        );
        let test_line = readme
            .lines()
            .find(|l| l.starts_with("sluice plugin test ") && l.contains("--input"))
            .expect("a test command");
        let documented = test_line.split_whitespace().nth(3).unwrap();
        // Cargo wrote into CARGO_TARGET_DIR (set above) rather than the project's target/.
        let wasm = match documented.strip_prefix("target/") {
            Some(rest) => Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join("plugin-init-rust")
                .join(rest),
            None => dir.join(documented),
        };
        let input = dir.join("input.jsonl");
        let args = [
            "plugin",
            "test",
            wasm.to_str().unwrap(),
            "split_pairs",
            "--input",
            input.to_str().unwrap(),
        ];
        let pairs = ok_stdout(&sluice(&args));
        assert_eq!(pairs.lines().count(), 10, "{lang}: {pairs}");
        assert!(
            pairs.starts_with("[\"to\",1]\n[\"be\",1]\n"),
            "{lang}: {pairs}"
        );
        let group = dir.join("group.jsonl");
        std::fs::write(&group, "[\"a\", [1, 2]]\n").unwrap();
        let args = [
            "plugin",
            "test",
            wasm.to_str().unwrap(),
            "sum",
            "--shape",
            "reduce",
            "--input",
            group.to_str().unwrap(),
        ];
        assert_eq!(ok_stdout(&sluice(&args)), "3\n", "{lang}");
    }
}

#[test]
fn init_refuses_an_existing_directory_and_a_bad_name() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let out = run(&["plugin", "init", "taken", "--lang", "python"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken: already exists"));
    let out = run(&["plugin", "init", "1bad name", "--lang", "c"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a plugin name"));
}
