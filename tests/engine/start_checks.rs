//! What `sluice run` would fail on at start is found by `sluice validate` first, and `run`
//! refuses it before any batch: output and checkpoint directories that cannot be used, a
//! job without sinks; and a huge generator vocabulary costs nothing at start.

use std::time::{Duration, Instant};

use crate::support::{err_stderr, ok_stdout, sluice, JobDir};

const SOURCE: &str = "[job]\nname = \"t\"\n\n[sources.lines]\nkind = \"queue\"\ndata = \"[[1]]\"\n";

/// The job in a directory that also holds a regular file `blocker`.
fn job_with_blocker(text: &str) -> JobDir {
    let job = JobDir::new(text);
    std::fs::write(job.path("blocker"), "a file").unwrap();
    job
}

/// `validate` and `run` both fail with exactly `expected` (after `error: JOB:`), and the
/// run wrote nothing.
fn refused_by_validate_and_run(job: &JobDir, expected: &str) {
    let path = job.job().display().to_string();
    let err = err_stderr(&sluice(&["validate", &path]));
    assert_eq!(err, format!("error: {path}:{expected}\n"));
    let out = job.run_virtual(2);
    assert_eq!(err_stderr(&out), format!("error: {path}:{expected}\n"));
    assert!(out.stdout.is_empty(), "a batch ran");
}

fn files_sink(path: &str) -> String {
    format!("{SOURCE}\n[sinks.out]\nfrom = \"lines\"\nkind = \"files\"\npath = \"{path}\"\n")
}

#[test]
fn a_files_sink_directory_that_cannot_be_created_or_written_is_refused() {
    let job = job_with_blocker(&files_sink("blocker/out"));
    let dir = job.dir.path().display();
    refused_by_validate_and_run(
        &job,
        &format!(
            "11:8: sink `out`: cannot create directory {dir}/blocker/out: {dir}/blocker is a \
             file, not a directory"
        ),
    );
    let job = job_with_blocker(&files_sink("blocker"));
    let dir = job.dir.path().display();
    refused_by_validate_and_run(
        &job,
        &format!("11:8: sink `out`: {dir}/blocker is a file, not a directory"),
    );
    // A directory where no file can be created, even by root: procfs.
    let job = JobDir::new(&files_sink("/proc/sluice-out"));
    let path = job.job().display().to_string();
    let err = err_stderr(&sluice(&["validate", &path]));
    assert!(
        err.starts_with(&format!(
            "error: {path}:11:8: sink `out`: cannot create directory /proc/sluice-out: cannot \
             write in /proc: "
        )),
        "{err}"
    );
}

#[test]
fn a_dead_letter_directory_under_a_file_is_refused() {
    let text = SOURCE.replace(
        "name = \"t\"\n",
        "name = \"t\"\nerror_policy = \"dead_letter\"\ndead_letter = { path = \"blocker/dead\" }\n",
    );
    let job = job_with_blocker(&format!(
        "{text}\n[sinks.out]\nfrom = \"lines\"\nkind = \"print\"\n"
    ));
    let dir = job.dir.path().display();
    refused_by_validate_and_run(
        &job,
        &format!(
            "4:15: [job] dead_letter: cannot create directory {dir}/blocker/dead: {dir}/blocker \
             is a file, not a directory"
        ),
    );
}

#[test]
fn a_checkpoint_directory_that_is_a_file_is_refused() {
    let job = job_with_blocker(&format!(
        "{}\n[checkpoint]\ndir = \"blocker\"\n",
        files_sink("out")
    ));
    let dir = job.dir.path().display();
    refused_by_validate_and_run(
        &job,
        &format!("14:7: [checkpoint] dir: {dir}/blocker is a file, not a directory"),
    );
    // `--checkpoint-dir` is checked the same way.
    let job = job_with_blocker(&files_sink("out"));
    let blocker = job.path("blocker");
    let out = sluice(&[
        "run",
        job.job().to_str().unwrap(),
        "--clock",
        "virtual",
        "--batches",
        "2",
        "--checkpoint-dir",
        blocker.join("ckpt").to_str().unwrap(),
    ]);
    assert_eq!(
        err_stderr(&out),
        format!(
            "error: checkpoint directory (--checkpoint-dir): cannot create directory {}: {} is \
             a file, not a directory\n",
            blocker.join("ckpt").display(),
            blocker.display()
        )
    );
}

#[test]
fn a_job_without_sinks_is_refused() {
    let job = JobDir::new(&format!(
        "{SOURCE}\n[streams.n]\nfrom = \"lines\"\nop = \"count\"\n"
    ));
    let path = job.job().display().to_string();
    let expected = format!(
        "error: {path}: the job has no sinks, so running it would compute nothing (Spark: \"No \
         output operations registered, so nothing to execute\"). Add one, e.g. `[sinks.out]` \
         with `from = \"n\"` and `kind = \"print\"`\n"
    );
    assert_eq!(err_stderr(&sluice(&["validate", &path])), expected);
    assert_eq!(err_stderr(&job.run_virtual(2)), expected);
}

#[test]
fn a_generator_vocabulary_costs_nothing_at_start_and_is_bounded() {
    // Before words were computed when drawn, 10^8 words took 5.5 GB and 11.8 s to build.
    let job = JobDir::new(
        "[job]\nname = \"g\"\n\n[sources.words]\nkind = \"generator\"\nrate = 10\nvocabulary = 100000000\n\n[sinks.out]\nfrom = \"words\"\nkind = \"print\"\nnum = 1\n",
    );
    let started = Instant::now();
    let stdout = ok_stdout(&job.run_virtual(1));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(stdout.contains("Time: 1000 ms"), "{stdout}");
    std::fs::write(
        job.job(),
        std::fs::read_to_string(job.job())
            .unwrap()
            .replace("100000000", "4294967297"),
    )
    .unwrap();
    let path = job.job().display().to_string();
    assert_eq!(
        err_stderr(&sluice(&["validate", &path])),
        format!(
            "error: {path}:7:14: source `words`: vocabulary = 4294967297 is more words than the \
             generator can draw from (at most 4294967296)\n"
        )
    );
}
