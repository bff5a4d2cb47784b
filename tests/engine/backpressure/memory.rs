//! `[job] max_memory` through the real binary: a job whose budget is small slows its TCP
//! receiver instead of growing (and loses nothing), and a job whose keyed state cannot fit
//! fails with a reason naming the budget and the state.

use std::time::Duration;

use super::harness::{
    assert_first_records_in_order, kernel_buffer_max, observe, PacedWriter, LINE_BYTES,
};
use crate::support::{err_stderr, plugin_wasm, words_plugin, JobDir};

/// A TCP source into `busy.spin` (a few µs of CPU per record), every record to a files
/// sink; the receiver keeps its default `max_buffered` (64 MiB) and backpressure is off,
/// so `max_memory` is all that holds the receiver back.
fn budgeted_tcp_job(port: u16) -> JobDir {
    JobDir::new(&format!(
        r#"
[job]
name = "budget"
batch_interval = "250ms"
block_interval = "50ms"
max_memory = "8MiB"

[plugins.busy]
path = {busy:?}
params = {{ rounds = 10000 }}

[sources.lines]
kind = "tcp"
host = "127.0.0.1"
port = {port}
format = "json"

[streams.slow]
from = "lines"
op = "map"
fn = "busy.spin"

[sinks.out]
from = "slow"
kind = "files"
path = "out"
"#,
        busy = plugin_wasm("busy").display().to_string(),
    ))
}

#[test]
fn a_small_max_memory_slows_the_tcp_receiver_and_loses_nothing() {
    let (sender, port) = PacedWriter::tcp_server();
    let job = budgeted_tcp_job(port);
    let seen = observe(&job, Duration::from_secs(10), false);
    let written = sender.finish();
    let why = format!("sender wrote {written} records\n{}", seen.summary());
    eprintln!("{why}");
    let counted: u64 = seen.progress.iter().map(|p| p.records_in).sum();
    assert!(counted > 0, "{why}");

    // Nothing lost: the first records the sender wrote, each once and in order.
    assert_first_records_in_order(&job.path("out"), &seen, &why);

    // The receiver did not read ahead of the budget: the input held (waiting and in
    // process) stays within half of max_memory (4 MiB of encoded records), the rest of
    // what was written is in the socket buffers. Without the budget it reads up to
    // its 64 MiB `max_buffered`.
    let unprocessed = (written - counted) * LINE_BYTES as u64;
    let bound = kernel_buffer_max() + (4 << 20) + (1 << 20);
    assert!(
        unprocessed <= bound,
        "{unprocessed} bytes written and not processed, more than the {bound} bytes the \
         socket buffers and the budget's input share can hold\n{why}"
    );
    // Every batch takes at most the input share: 4 MiB of records of 95 to 100 bytes
    // encoded (with their offsets), so at most about 44,000.
    let largest = seen.progress.iter().map(|p| p.records_in).max().unwrap();
    assert!(
        largest <= (4 << 20) / 90,
        "a batch of {largest} records\n{why}"
    );
    // And the process does not grow: the second half no bigger than the first.
    let rss = &seen.rss_kib;
    let first_half_max = *rss[..rss.len() / 2].iter().max().unwrap();
    let second_half_max = *rss[rss.len() / 2..].iter().max().unwrap();
    assert!(
        second_half_max <= first_half_max + 16 * 1024,
        "RSS grew from {first_half_max} to {second_half_max} KiB\n{why}"
    );
}

/// Runs a job whose `counts` stream (`op` and its settings) keeps the words of 20,000
/// lines of 10 words a batch from a vocabulary of ten million (about 200,000 new keys a
/// batch) with `max_memory = "4MiB"`; returns its stderr, asserting that it failed.
fn run_state_job(op: &str) -> String {
    let job = JobDir::new(&format!(
        r#"
[job]
name = "state"
batch_interval = "1s"
max_memory = "4MiB"
{words}
[sources.lines]
kind = "generator"
rate = 20000
vocabulary = 10000000

[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"

[streams.counts]
from = "pairs"
{op}

[sinks.out]
from = "counts"
kind = "print"
num = 0
"#,
        words = words_plugin()
    ));
    err_stderr(&job.run_virtual(20))
}

#[test]
fn a_job_whose_keyed_state_cannot_fit_fails_naming_max_memory() {
    for op in [
        "op = \"update_state_by_key\"\nfn = \"sum\"",
        "op = \"reduce_by_key_and_window\"\nfn = \"sum\"\ninv_fn = \"sub\"\nwindow = \"4s\"",
    ] {
        let stderr = run_state_job(op);
        assert!(
            stderr.contains("does not fit in [job] max_memory = 4.0 MiB")
                && stderr.contains("keyed state holds")
                && stderr.contains("`counts`"),
            "{op}\n{stderr}"
        );
        assert_eq!(
            stderr.matches("does not fit").count(),
            1,
            "said once\n{stderr}"
        );
    }
}

#[test]
fn a_max_memory_below_4_mib_is_refused() {
    let job = JobDir::new(
        "[job]\nname = \"tiny\"\nmax_memory = \"1MiB\"\n[sources.g]\nkind = \"generator\"\n\
         [sinks.out]\nfrom = \"g\"\nkind = \"print\"\n",
    );
    let stderr = err_stderr(&job.run_virtual(1));
    assert!(
        stderr.contains("[job] max_memory must be at least 4MiB"),
        "{stderr}"
    );
}
