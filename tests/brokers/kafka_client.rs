//! The Kafka client wrappers against a real broker: exact offset ranges, replay from
//! recorded offsets, group commits, confirmed delivery, and clear errors.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sluice::brokers::{
    BrokerError, KafkaReader, KafkaReaderConfig, KafkaWriter, KafkaWriterConfig,
};

use sluice::job::KafkaStart;

use crate::harness::Tansu;

pub fn writer(bootstrap: &str, topic: &str) -> KafkaWriter {
    KafkaWriter::open(KafkaWriterConfig {
        bootstrap: bootstrap.to_owned(),
        topic: topic.to_owned(),
        properties: Vec::new(),
        delivery_timeout: Duration::from_secs(10),
    })
    .unwrap()
}

pub fn reader_config(bootstrap: &str, topics: &[&str], group: &str) -> KafkaReaderConfig {
    KafkaReaderConfig {
        bootstrap: bootstrap.to_owned(),
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        group: group.to_owned(),
        properties: Vec::new(),
        timeout: Duration::from_secs(10),
    }
}

/// Produces `n` records `id-<i>` keyed `k<i>`, with confirmed delivery.
pub fn produce_ids(bootstrap: &str, topic: &str, range: std::ops::Range<usize>) {
    let w = writer(bootstrap, topic);
    let records: Vec<(Vec<u8>, Vec<u8>)> = range
        .map(|i| (format!("k{i}").into_bytes(), format!("id-{i}").into_bytes()))
        .collect();
    let n = w
        .send_all(
            records
                .iter()
                .map(|(k, v)| (Some(k.as_slice()), v.as_slice())),
        )
        .unwrap();
    assert_eq!(n, records.len());
}

/// Reads every partition until `want` records arrived (at most `per_read` per partition
/// per round); returns `(partition index, offset, payload)` in read order.
fn read_all(r: &mut KafkaReader, want: usize, per_read: u64) -> Vec<(usize, i64, String)> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < want {
        assert!(
            Instant::now() < deadline,
            "only {} of {want} records arrived",
            got.len()
        );
        let n = r.partitions().len();
        for i in 0..n {
            let before = r.offsets()[i];
            let read = r
                .read(i, per_read, |offset, _, payload| {
                    got.push((
                        i,
                        offset,
                        String::from_utf8(payload.unwrap().to_vec()).unwrap(),
                    ));
                })
                .unwrap();
            assert!(read.records <= per_read);
            assert_eq!((read.from, read.until), (before, r.offsets()[i]));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    got
}

#[test]
fn reads_bounded_ranges_and_replays_them_from_recorded_offsets() {
    let broker = Tansu::start();
    broker.create_topic("ranges", 3);
    produce_ids(&broker.bootstrap(), "ranges", 0..300);

    let mut r = KafkaReader::open(
        reader_config(&broker.bootstrap(), &["ranges"], "g1"),
        KafkaStart::Earliest,
    )
    .unwrap();
    let parts: Vec<(String, i32)> = r.partitions().map(|(t, p)| (t.to_owned(), p)).collect();
    assert_eq!(
        parts,
        vec![
            ("ranges".into(), 0),
            ("ranges".into(), 1),
            ("ranges".into(), 2)
        ]
    );
    assert_eq!(r.offsets(), vec![0, 0, 0]);

    let first = read_all(&mut r, 120, 10);
    let recorded: Vec<(String, i32, i64)> = parts
        .iter()
        .zip(r.offsets())
        .map(|((t, p), o)| (t.clone(), *p, o))
        .collect();
    let rest = read_all(&mut r, 300 - first.len(), 1000);
    let mut ids: Vec<String> = first
        .iter()
        .chain(&rest)
        .map(|(_, _, v)| v.clone())
        .collect();
    ids.sort();
    let mut want: Vec<String> = (0..300).map(|i| format!("id-{i}")).collect();
    want.sort();
    assert_eq!(ids, want, "every record exactly once");
    // Offsets within a partition are contiguous and increasing.
    let mut by_part: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for (p, o, _) in first.iter().chain(&rest) {
        by_part.entry(*p).or_default().push(*o);
    }
    for offsets in by_part.values() {
        assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "{offsets:?}");
    }

    // A second reader seeks to the recorded offsets and reads the same records again.
    let mut again = KafkaReader::open(
        reader_config(&broker.bootstrap(), &["ranges"], "g2"),
        KafkaStart::Earliest,
    )
    .unwrap();
    again.seek(&recorded).unwrap();
    let replay = read_all(&mut again, rest.len(), 1000);
    let mut a: Vec<_> = replay.clone();
    let mut b: Vec<_> = rest.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b);

    // An exact range replay: from the recorded offset of partition 0 to its end.
    let mut exact = KafkaReader::open(
        reader_config(&broker.bootstrap(), &["ranges"], "g3"),
        KafkaStart::Earliest,
    )
    .unwrap();
    exact.seek(&recorded).unwrap();
    let end = r.offsets()[0];
    let mut n = 0;
    let read = exact
        .read_range(0, end, Duration::from_secs(10), |_, _, _| n += 1)
        .unwrap();
    assert_eq!(
        (read.from, read.until, n),
        (recorded[0].2, end, (end - recorded[0].2) as usize)
    );
    // A range the partition does not have fails naming it, after the timeout.
    let err = exact
        .read_range(0, end + 5, Duration::from_millis(500), |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "cannot replay ranges/0 offsets {end}..{}: only offsets up to {end} arrived",
            end + 5
        )),
        "{err}"
    );
}

#[test]
fn commits_offsets_to_the_group_and_starts_from_them() {
    let broker = Tansu::start();
    broker.create_topic("commits", 2);
    produce_ids(&broker.bootstrap(), "commits", 0..50);
    let mut r = KafkaReader::open(
        reader_config(&broker.bootstrap(), &["commits"], "monitor"),
        KafkaStart::Committed,
    )
    .unwrap();
    assert_eq!(r.offsets(), vec![0, 0], "no commits yet: earliest");
    let got = read_all(&mut r, 20, 10);
    let offsets: Vec<(String, i32, i64)> = r
        .partitions()
        .map(|(t, p)| (t.to_owned(), p))
        .zip(r.offsets())
        .map(|((t, p), o)| (t, p, o))
        .collect();
    r.commit(&offsets).unwrap();
    let again = KafkaReader::open(
        reader_config(&broker.bootstrap(), &["commits"], "monitor"),
        KafkaStart::Committed,
    )
    .unwrap();
    assert_eq!(again.offsets(), r.offsets(), "after reading {}", got.len());
    let other = KafkaReader::open(
        reader_config(&broker.bootstrap(), &["commits"], "other"),
        KafkaStart::Committed,
    )
    .unwrap();
    assert_eq!(other.offsets(), vec![0, 0]);
}

#[test]
fn a_missing_topic_is_named_in_the_error() {
    let broker = Tansu::start();
    broker.create_topic("present", 1);
    let err = KafkaReader::open(
        reader_config(&broker.bootstrap(), &["present", "absent-topic"], "g"),
        KafkaStart::Earliest,
    )
    .err()
    .expect("a missing topic must fail");
    assert!(matches!(err, BrokerError::UnknownTopic { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("`absent-topic` does not exist"), "{text}");
    assert!(text.contains(&broker.bootstrap()), "{text}");
}

#[test]
fn delivery_fails_clearly_when_no_broker_answers() {
    let port = crate::harness::free_port();
    let w = KafkaWriter::open(KafkaWriterConfig {
        bootstrap: format!("127.0.0.1:{port}"),
        topic: "nowhere".to_owned(),
        properties: Vec::new(),
        delivery_timeout: Duration::from_millis(1500),
    })
    .unwrap();
    let err = w
        .send_all([(None, &b"x"[..]), (None, &b"y"[..])])
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("2 of 2 records for topic `nowhere` were not delivered"),
        "{text}"
    );
}

#[test]
fn reading_waits_while_the_broker_is_cut_off_and_resumes() {
    let broker = Tansu::start_behind_proxy();
    broker.create_topic("outage", 1);
    produce_ids(&broker.bootstrap(), "outage", 0..10);
    let mut r = KafkaReader::open(
        reader_config(&broker.bootstrap(), &["outage"], "g"),
        KafkaStart::Earliest,
    )
    .unwrap();
    assert_eq!(read_all(&mut r, 10, 100).len(), 10);
    let proxy = broker.proxy.as_ref().unwrap();
    proxy.cut();
    crate::harness::wait_until(
        "the reader to notice the outage",
        Duration::from_secs(15),
        || {
            let n = r.read(0, 100, |_, _, _| {}).unwrap().records;
            assert_eq!(n, 0);
            r.is_unreachable()
        },
    );
    proxy.restore();
    produce_ids(&broker.bootstrap(), "outage", 10..20);
    let got = read_all(&mut r, 10, 100);
    assert_eq!(
        got.iter().map(|g| g.1).collect::<Vec<_>>(),
        (10..20).collect::<Vec<i64>>()
    );
    assert!(!r.is_unreachable());
}
