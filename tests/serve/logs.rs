//! A job's log in serve mode: its plugins' log lines land in the job's own log (read with
//! `GET /v1/jobs/{id}/logs` and `sluice logs`), not in the server's output or in another
//! tenant's jobs.

use std::time::Duration;

use crate::harness::*;

fn announcing_job() -> String {
    "[job]\nname = \"announcer\"\nbatch_interval = \"200ms\"\n\
     [plugins.busy]\nname = \"busy\"\n\
     [sources.g]\nkind = \"generator\"\nrate = 100\nwords_per_line = 3\nvocabulary = 20\n\
     [streams.s]\nfrom = \"g\"\nop = \"map\"\nfn = \"busy.announce\"\n\
     [sinks.out]\nfrom = \"s\"\nkind = \"files\"\npath = \"out\"\n"
        .to_owned()
}

fn log_lines(client: &Client, id: &str) -> Vec<String> {
    client.get(&format!("/v1/jobs/{id}/logs")).json["lines"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

const ANNOUNCED: &str = "plugin busy.announce info: announce: a partition starts with a ";

#[test]
fn plugin_log_lines_reach_the_jobs_log_only() {
    let site = Site::new("workers = 2", &[("alice", ""), ("bob", "")]);
    let server = site.start();
    let alice = server.client("alice");
    let bob = server.client("bob");
    alice.upload("busy", &words_wasm().with_file_name("busy.wasm"));
    bob.upload("words", &words_wasm());
    let id = alice.submit_ok(&announcing_job(), "");
    let quiet = bob.submit_ok(&wordcount_job("200ms", ""), "");
    let announced = wait_until(Duration::from_secs(60), || {
        log_lines(&alice, &id).iter().any(|l| l.contains(ANNOUNCED))
    });
    assert!(announced, "{:?}\n{}", log_lines(&alice, &id), site.log());
    let cli = server.cli("alice", &["logs", &id]);
    let cli = String::from_utf8_lossy(&cli.stdout).into_owned();
    assert!(cli.contains(ANNOUNCED), "{cli}");
    // Bob's job has no plugin lines of Alice's, and the server's own output has none.
    assert!(
        log_lines(&bob, &quiet)
            .iter()
            .all(|l| !l.contains("announce")),
        "{:?}",
        log_lines(&bob, &quiet)
    );
    assert!(!site.log().contains("announce:"), "{}", site.log());
}
