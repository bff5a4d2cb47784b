//! What broker sinks deliver across crashes: the Redis sink (entry ids from the batch)
//! writes every record exactly once through random SIGKILLs; the Kafka sink tags every
//! record with its batch time and index, so that consumers can drop replayed duplicates.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::harness::{RedisServer, Tansu};
use crate::jobs::{assert_ok, run_job};
use crate::replay::{record, run_with_random_kills, CHUNK, TOTAL};

/// `XRANGE stream - +` as `(id, fields)`.
fn entries(con: &mut redis::Connection, stream: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let v: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query(con)
        .unwrap();
    v.into_iter()
        .map(|(id, fields)| (id, fields.into_iter().collect()))
        .collect()
}

#[test]
fn the_redis_sink_writes_every_record_once_through_random_kills() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let dir = tempfile::tempdir().unwrap();
    let job = format!(
        r#"
[job]
name = "redis-sink"
batch_interval = "200ms"

[checkpoint]
dir = "ckpt"
every_batches = 4

[sources.in]
kind = "redis"
url = "{url}"
streams = ["in"]
key = true

[sinks.out]
from = "in"
kind = "redis"
url = "{url}"
stream = "out"
"#,
        url = server.url()
    );
    let mut watch = server.connection();
    let has_output = move || {
        redis::cmd("XLEN")
            .arg("out")
            .query::<u64>(&mut watch)
            .unwrap()
            > 0
    };
    let (seed, _) = run_with_random_kills(
        dir.path(),
        &job,
        move |chunk| {
            let mut pipe = redis::pipe();
            for i in chunk * CHUNK..(chunk + 1) * CHUNK {
                let (k, v) = record(i);
                pipe.cmd("XADD")
                    .arg("in")
                    .arg("*")
                    .arg("key")
                    .arg(k)
                    .arg("value")
                    .arg(v)
                    .ignore();
            }
            pipe.query::<()>(&mut con).unwrap();
        },
        has_output,
        |_| {},
    );
    let out = entries(&mut server.connection(), "out");
    let mut seen = vec![0u32; TOTAL];
    let mut last: Option<(u64, u64)> = None;
    for (id, fields) in &out {
        // Ids are <batch time>-<index in the batch>: increasing, the index from 0 up.
        let (ms, n) = id.split_once('-').unwrap();
        let at = (ms.parse::<u64>().unwrap(), n.parse::<u64>().unwrap());
        match last {
            Some((lms, ln)) if lms == at.0 => assert_eq!(at.1, ln + 1, "{id}"),
            _ => assert_eq!(at.1, 0, "{id}"),
        }
        last = Some(at);
        let value: String = serde_json::from_str(&fields["value"]).unwrap();
        let i: usize = value.trim_start_matches("id-").parse().unwrap();
        assert_eq!(fields["key"], record(i).0);
        seen[i] += 1;
    }
    let twice: Vec<usize> = (0..TOTAL).filter(|i| seen[*i] > 1).collect();
    let missing: Vec<usize> = (0..TOTAL).filter(|i| seen[*i] == 0).collect();
    assert!(twice.is_empty(), "seed {seed}: written twice: {twice:?}");
    assert!(missing.is_empty(), "seed {seed}: missing: {missing:?}");
}

#[test]
fn the_redis_sink_refuses_a_stream_another_client_writes_ahead_of_it() {
    let server = RedisServer::start();
    let mut con = server.connection();
    // Another writer's entry, with an id (now) past the job's first batch times.
    let _: String = redis::cmd("XADD")
        .arg("out")
        .arg("99999999999999-0")
        .arg("value")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a\nb\n").unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    std::fs::rename(dir.path().join("a.txt"), dir.path().join("in/a.txt")).unwrap();
    let job = format!(
        r#"
[job]
name = "shared"
batch_interval = "200ms"

[sources.in]
kind = "files"
path = "in"

[sinks.out]
from = "in"
kind = "redis"
url = "{}"
stream = "out"
"#,
        server.url()
    );
    let out = run_job(dir.path(), &job, 2);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another client writes to the stream") && err.contains("ids = \"auto\""),
        "{err}"
    );
    // With ids = "auto" the same job shares the stream.
    let auto = job.replace("stream = \"out\"", "stream = \"out\"\nids = \"auto\"");
    assert_ok(&run_job(dir.path(), &auto, 2));
    assert_eq!(entries(&mut con, "out").len(), 3);
}

#[test]
fn kafka_sink_records_carry_their_batch_time_and_index() {
    let broker = Tansu::start();
    broker.create_topic("out", 1);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/a.txt"), "a\nb\nc\n").unwrap();
    let job = format!(
        r#"
[job]
name = "tagged"
batch_interval = "200ms"

[sources.in]
kind = "files"
path = "in"

[sinks.out]
from = "in"
kind = "kafka"
bootstrap_servers = "{}"
topic = "out"
format = "text"
"#,
        broker.bootstrap()
    );
    let out = run_job(dir.path(), &job, 2);
    assert_ok(&out);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "check")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("out", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while got.len() < 3 && std::time::Instant::now() < deadline {
        let Some(m) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.unwrap();
        let headers: BTreeMap<String, String> = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        let v = String::from_utf8(h.value.unwrap().to_vec()).unwrap();
                        (h.key.to_owned(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let payload = String::from_utf8(m.payload().unwrap().to_vec()).unwrap();
        got.push((payload, headers));
    }
    assert_eq!(got.len(), 3, "{got:?}");
    let time = &got[0].1["sluice-batch-time"];
    assert!(time.parse::<i64>().unwrap() > 0, "{got:?}");
    for (i, (payload, headers)) in got.iter().enumerate() {
        assert_eq!(payload, ["a", "b", "c"][i]);
        assert_eq!(&headers["sluice-batch-time"], time, "one batch");
        assert_eq!(headers["sluice-index"], i.to_string());
    }
}
