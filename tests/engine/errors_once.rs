//! Common failures through `sluice`: the error line says its cause once (not `x: y: y`, as
//! when an error both shows its cause and returns it as `source()`) and names the file,
//! option or plugin involved.

use crate::support::{err_stderr, sluice, words_plugin, JobDir};

/// Asserts that `stderr` is one `error:` line holding each of `named` and `cause` exactly
/// once.
fn said_once(stderr: &str, cause: &str, named: &[&str]) {
    assert_eq!(stderr.lines().count(), 1, "one line expected:\n{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(
        stderr.matches(cause).count(),
        1,
        "`{cause}` once:\n{stderr}"
    );
    for n in named {
        assert!(stderr.contains(n), "`{n}` not named:\n{stderr}");
    }
}

fn run_virtual(job: &JobDir, extra: &[&str]) -> String {
    let path = job.job().display().to_string();
    let mut args = vec!["run", &path, "--clock", "virtual", "--batches", "1", "-q"];
    args.extend_from_slice(extra);
    err_stderr(&sluice(&args))
}

#[test]
fn a_missing_job_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nonexist.toml").display().to_string();
    for cmd in ["run", "validate"] {
        let err = err_stderr(&sluice(&[cmd, &path]));
        said_once(&err, "No such file or directory", &[&path, "job file"]);
    }
}

const QUEUE_TO_PRINT: &str = r#"
[job]
name = "t"
[sources.lines]
kind = "queue"
data = '[["a b"]]'
[sinks.out]
from = "lines"
kind = "print"
"#;

#[test]
fn a_checkpoint_directory_that_is_a_file() {
    let job = JobDir::new(QUEUE_TO_PRINT);
    std::fs::write(job.path("ckfile"), "mine").unwrap();
    let ck = job.path("ckfile").display().to_string();
    let err = run_virtual(&job, &["--checkpoint-dir", &ck]);
    assert_eq!(
        err,
        format!(
            "error: checkpoint directory (--checkpoint-dir): {ck} is a file, not a directory\n"
        )
    );
    said_once(
        &err,
        "is a file",
        &["checkpoint directory", "--checkpoint-dir", &ck],
    );
    // Under a file: which path is the file, once (not the system's bare "Not a directory").
    let under = job.path("ckfile/sub").display().to_string();
    let err = run_virtual(&job, &["--checkpoint-dir", &under]);
    assert_eq!(
        err,
        format!(
            "error: checkpoint directory (--checkpoint-dir): cannot create directory {under}: \
             {ck} is a file, not a directory\n"
        )
    );
    said_once(
        &err,
        "is a file",
        &["checkpoint directory", "--checkpoint-dir", &under],
    );
    assert_eq!(std::fs::read_to_string(job.path("ckfile")).unwrap(), "mine");
}

#[test]
fn a_plugin_rejecting_a_record_under_fail() {
    let job = JobDir::new(&format!(
        "[job]\nname = \"t\"\nerror_policy = \"fail\"\n{}\n[sources.lines]\nkind = \"queue\"\n\
         data = '[[\"a b\", 42]]'\n[streams.pairs]\nfrom = \"lines\"\nop = \"flat_map\"\n\
         fn = \"words.split_pairs\"\n[sinks.out]\nfrom = \"pairs\"\nkind = \"print\"\n",
        words_plugin()
    ));
    let err = run_virtual(&job, &[]);
    said_once(
        &err,
        "expected a string",
        &["stream `pairs`", "plugin `words`", "function `split_pairs`"],
    );
    assert_eq!(err.matches("record rejected").count(), 1, "{err}");
}

#[test]
fn a_wasm_file_that_is_not_wasm() {
    let job = JobDir::new(
        "[job]\nname = \"t\"\n[plugins.words]\npath = \"bad.wasm\"\n[sources.lines]\n\
         kind = \"queue\"\ndata = '[[\"a\"]]'\n[streams.up]\nfrom = \"lines\"\nop = \"map\"\n\
         fn = \"words.split\"\n[sinks.out]\nfrom = \"up\"\nkind = \"print\"\n",
    );
    std::fs::write(job.path("bad.wasm"), "hello\n").unwrap();
    let bad = job.path("bad.wasm").display().to_string();
    let err = run_virtual(&job, &[]);
    said_once(&err, "not a WebAssembly module", &["plugin `words`", &bad]);
    let err = err_stderr(&sluice(&["validate", job.job().to_str().unwrap()]));
    said_once(&err, "not a WebAssembly module", &["plugin `words`", &bad]);
    let err = err_stderr(&sluice(&["plugin", "inspect", &bad]));
    said_once(&err, "not a WebAssembly module", &[&bad]);
}

#[test]
fn plugin_inspect_of_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.wasm").display().to_string();
    let err = err_stderr(&sluice(&["plugin", "inspect", &missing]));
    said_once(&err, "No such file or directory", &[&missing]);
}

#[test]
fn a_line_over_max_line_length_names_the_option() {
    let job = JobDir::new(
        "[job]\nname = \"t\"\n[sources.in]\nkind = \"files\"\npath = \"in\"\n\
         max_line_length = \"64B\"\n[sinks.out]\nfrom = \"in\"\nkind = \"print\"\n",
    );
    std::fs::create_dir(job.path("in")).unwrap();
    std::fs::write(job.path("in/a.txt"), format!("ok\n{}\n", "x".repeat(100))).unwrap();
    let err = run_virtual(&job, &[]);
    let file = job.path("in/a.txt").display().to_string();
    said_once(
        &err,
        "line of 100 bytes is longer than `max_line_length` (64 bytes)",
        &["source `in`", &format!("{file}:2")],
    );
}

/// The convention behind the tests above (see the crate docs of `sluice`), checked over
/// the library's sources so that a new error type does not bring the double print back:
/// no `#[source]`, and `#[from]` only on `#[error(transparent)]` variants.
#[test]
fn no_error_type_returns_a_cause_it_also_shows() {
    fn visit(dir: &std::path::Path, found: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                visit(&path, found);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            for (i, line) in lines.iter().enumerate() {
                if line.starts_with("//") {
                    continue;
                }
                let transparent = i > 0 && lines[i - 1] == "#[error(transparent)]";
                if line.starts_with("#[source]") || (line.contains("#[from]") && !transparent) {
                    found.push(format!("{}:{}: {line}", path.display(), i + 1));
                }
            }
        }
    }
    let mut found = Vec::new();
    visit(&crate::support::repo_root().join("host/src"), &mut found);
    assert!(found.is_empty(), "{}", found.join("\n"));
}
