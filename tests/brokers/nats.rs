//! The NATS JetStream source and sink against a real `nats-server -js`: word counts,
//! errors, acknowledgements after checkpoints, and the sink's deduplication on replay.

use serde_json::json;
use sluice::job::NatsSinkConfig;
use sluice::record::{json_to_msgpack, Batch, Partition};
use sluice::sink::{NatsSink, Sink};

use crate::jobs::{all_records, assert_ok, run_job, stderr, sum_by_key};
use crate::nats_server::{raw_publish, NatsServer};

/// `n` messages `id-<i>` on subjects `events.w<i % words>`, from index `from`.
pub fn produce(server: &NatsServer, range: std::ops::Range<usize>, words: usize) {
    let messages: Vec<(String, String)> = range
        .map(|i| (format!("events.w{}", i % words), format!("id-{i}")))
        .collect();
    for chunk in messages.chunks(2000) {
        raw_publish(server.port, chunk);
    }
}

/// `[sources.in]` reading stream `EVENTS` keyed by subject.
pub fn source(server: &NatsServer, extra: &str) -> String {
    format!(
        r#"[sources.in]
kind = "nats"
url = "{}"
stream = "EVENTS"
key = true
{extra}"#,
        server.url()
    )
}

fn word_count_job(source: &str) -> String {
    format!(
        r#"
[job]
name = "natswc"
batch_interval = "200ms"

{source}

[streams.counts]
from = "in"
op = "reduce_by_key"
fn = "count"

[sinks.counts]
from = "counts"
kind = "files"
path = "out"
"#
    )
}

/// The stream sequence consumer `consumer` is acknowledged through, when nothing it
/// delivered waits for an acknowledgement.
pub fn ack_floor(server: &NatsServer, consumer: &str) -> u64 {
    let info = server.api(&format!("CONSUMER.INFO.EVENTS.{consumer}"), json!({}));
    assert_eq!(info["num_ack_pending"], json!(0), "{info}");
    sluice::brokers::nats_ack_floor(&info)
}

#[test]
fn a_word_count_reads_every_message_and_acknowledges_them() {
    let server = NatsServer::start();
    server.create_stream("EVENTS", &["events.>"]);
    produce(&server, 0..3000, 30);
    assert_eq!(server.messages("EVENTS"), 3000);
    let dir = tempfile::tempdir().unwrap();
    let out = run_job(
        dir.path(),
        &word_count_job(&source(&server, "max_batch = 700")),
        8,
    );
    assert_ok(&out);
    let counts = sum_by_key(
        all_records(&dir.path().join("out"))
            .iter()
            .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_i64().unwrap())),
    );
    assert_eq!(counts.len(), 30, "{}", stderr(&out));
    assert!(counts.values().all(|&c| c == 100), "{counts:?}");
    assert!(counts.contains_key("events.w7"));
    // Without checkpoints each batch is acknowledged once it completed.
    assert_eq!(ack_floor(&server, "sluice-in"), 3000);
    // A second run resumes after the acknowledged messages: it reads only new ones.
    produce(&server, 3000..3030, 30);
    let dir2 = tempfile::tempdir().unwrap();
    let out = run_job(dir2.path(), &word_count_job(&source(&server, "")), 3);
    assert_ok(&out);
    let n: i64 = all_records(&dir2.path().join("out"))
        .iter()
        .map(|r| r[1].as_i64().unwrap())
        .sum();
    assert_eq!(n, 30, "{}", stderr(&out));
}

#[test]
fn a_missing_stream_is_an_error_naming_it_and_the_server() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let out = run_job(dir.path(), &word_count_job(&source(&server, "")), 3);
    assert!(!out.status.success());
    let err = stderr(&out);
    let expected = format!(
        "source `in`: NATS JetStream stream `EVENTS` does not exist on 127.0.0.1:{} (create it, or check the name)",
        server.port
    );
    assert!(err.contains(&expected), "{err}");
}

fn batch_of(values: &[serde_json::Value]) -> std::sync::Arc<Batch> {
    let mut p = Partition::new();
    for v in values {
        let mut buf = Vec::new();
        json_to_msgpack(v, &mut buf);
        p.push(&buf);
    }
    Batch::new(vec![p])
}

#[test]
fn the_nats_sink_deduplicates_a_batch_written_again_and_names_refusals() {
    let server = NatsServer::start();
    server.create_stream("OUT", &["out.>"]);
    let config: NatsSinkConfig = toml::from_str(&format!(
        "url = \"{}\"\nsubject = \"out\"\nkey_from_pair = true",
        server.url()
    ))
    .unwrap();
    let mut sink = NatsSink::new("counts", &config);
    let batch = batch_of(&[json!(["a", 1]), json!(["b", 2]), json!(["a", 3])]);
    sink.write_batch(1000, &batch).unwrap();
    assert_eq!(server.messages("OUT"), 3);
    // The same batch again (a replay after a crash): JetStream drops every message.
    sink.write_batch(1000, &batch).unwrap();
    assert_eq!(server.messages("OUT"), 3);
    // The next batch time is new data.
    sink.write_batch(2000, &batch).unwrap();
    assert_eq!(server.messages("OUT"), 6);
    let last = server.api("STREAM.MSG.GET.OUT", json!({"seq": 6}));
    assert_eq!(last["message"]["subject"], json!("out.a"));
    // A key that cannot be a subject token, and a subject no stream takes.
    let e = sink
        .write_batch(3000, &batch_of(&[json!(["a b", 1])]))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("the key `a b` cannot be a subject token"),
        "{e}"
    );
    let config: NatsSinkConfig = toml::from_str(&format!(
        "url = \"{}\"\nsubject = \"elsewhere\"",
        server.url()
    ))
    .unwrap();
    let e = NatsSink::new("lost", &config)
        .write_batch(1000, &batch)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "sink `lost`: batch 1000 ms: NATS at 127.0.0.1:{}: no JetStream stream takes subject `elsewhere` (no responders)",
            server.port
        )
    );
}

#[test]
fn a_new_consumer_can_start_after_the_stream_and_resumes_at_its_floor() {
    let server = NatsServer::start();
    server.create_stream("EVENTS", &["events.>"]);
    produce(&server, 0..100, 10);
    let dir = tempfile::tempdir().unwrap();
    let job = word_count_job(&source(&server, "start = \"new\""));
    let out = run_job(dir.path(), &job, 2);
    assert_ok(&out);
    assert!(
        all_records(&dir.path().join("out")).is_empty(),
        "{}",
        stderr(&out)
    );
    // The consumer exists now: the next run (without checkpoints) starts after its floor,
    // whatever `start` says.
    produce(&server, 100..150, 10);
    let dir = tempfile::tempdir().unwrap();
    let out = run_job(dir.path(), &job, 2);
    assert_ok(&out);
    let n: i64 = all_records(&dir.path().join("out"))
        .iter()
        .map(|r| r[1].as_i64().unwrap())
        .sum();
    assert_eq!(n, 50, "{}", stderr(&out));
    assert_eq!(ack_floor(&server, "sluice-in"), 150);
    // Two subject filters need NATS 2.10; this server is older and the job says so.
    let (version, _) = server.version();
    if version < (2, 10) {
        let out = run_job(
            dir.path(),
            &word_count_job(&source(
                &server,
                "subjects = [\"events.w1\", \"events.w2\"]",
            )),
            2,
        );
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("more than one subject filter needs NATS 2.10 or later"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_payload_that_is_not_json_is_a_dead_letter_naming_its_sequence() {
    let server = NatsServer::start();
    server.create_stream("EVENTS", &["events.>"]);
    raw_publish(
        server.port,
        &[
            ("events.a".to_owned(), "{\"n\":1}".to_owned()),
            ("events.a".to_owned(), "{oops".to_owned()),
            ("events.b".to_owned(), "{\"n\":2}".to_owned()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let job = format!(
        r#"
[job]
name = "natsdead"
batch_interval = "200ms"
error_policy = "dead_letter"
dead_letter = {{ path = "dead" }}
[sources.in]
kind = "nats"
url = "{}"
stream = "EVENTS"
format = "json"
[sinks.all]
from = "in"
kind = "files"
path = "out"
"#,
        server.url()
    );
    let out = run_job(dir.path(), &job, 2);
    assert_ok(&out);
    let records = all_records(&dir.path().join("out"));
    assert_eq!(
        records,
        vec![json!({"n": 1}), json!({"n": 2})],
        "{}",
        stderr(&out)
    );
    let dead = all_records(&dir.path().join("dead"));
    assert_eq!(dead.len(), 1, "{}", stderr(&out));
    let reason = dead[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "NATS stream `EVENTS` sequence 2 (subject `events.a`): the payload is not JSON"
        ),
        "{reason}"
    );
    assert_eq!(dead[0]["record"], json!("{oops"));
}
