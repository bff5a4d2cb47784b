//! Every job file under `examples/` passes `sluice validate`, so the examples cannot rot.

use std::path::{Path, PathBuf};

use crate::support::{ok_stdout, plugin_wasm, repo_root, sluice};

/// The `.toml` files under `dir`, recursively, sorted.
fn job_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(job_files(&path));
        } else if path.extension().is_some_and(|x| x == "toml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn every_example_job_validates() {
    // The examples load plugins/dist/words.wasm.
    plugin_wasm("words");
    // `wordcount/dir.toml` watches a directory its README tells to create first; validate
    // checks that it exists.
    std::fs::create_dir_all("/tmp/wordcount-in").unwrap();
    let jobs = job_files(&repo_root().join("examples"));
    for want in [
        "wordcount/job.toml",
        "stateful/job.toml",
        "json/job.toml",
        "brokers/kafka-wordcount.toml",
        "brokers/redis-wordcount.toml",
        "brokers/nats-wordcount.toml",
    ] {
        assert!(
            jobs.iter().any(|j| j.ends_with(want)),
            "examples/{want} is missing: {jobs:?}"
        );
    }
    for job in &jobs {
        let out = ok_stdout(&sluice(&["validate", job.to_str().unwrap()]));
        assert!(out.contains(": ok: job `"), "{}: {out}", job.display());
    }
}
