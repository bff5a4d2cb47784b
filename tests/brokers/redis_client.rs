//! The Redis Streams client wrappers against a real redis-server: pending entries replayed
//! after a crash, acknowledgement only on request, recovery from a recorded id, and a
//! server restart in the middle.

use std::time::Duration;

use sluice::brokers::{
    Appended, RedisEntry, RedisStreamReader, RedisStreamReaderConfig, RedisStreamWriter,
};

use sluice::job::RedisStart;

use crate::harness::RedisServer;

pub fn reader(url: &str, stream: &str) -> RedisStreamReader {
    RedisStreamReader::open(RedisStreamReaderConfig {
        url: url.to_owned(),
        streams: vec![stream.to_owned()],
        group: "sluice".to_owned(),
        consumer: "c1".to_owned(),
        start: RedisStart::Earliest,
        timeout: Duration::from_secs(2),
    })
    .unwrap()
}

/// Appends entries `value = id-<i>`.
pub fn add_ids(url: &str, stream: &str, range: std::ops::Range<usize>) {
    let mut w = RedisStreamWriter::open(
        url,
        stream,
        None,
        Duration::from_secs(2),
        Duration::from_secs(10),
    )
    .unwrap();
    let values: Vec<Vec<u8>> = range.map(|i| format!("id-{i}").into_bytes()).collect();
    let entries: Vec<Vec<(&[u8], &[u8])>> = values
        .iter()
        .map(|v| vec![(&b"value"[..], v.as_slice())])
        .collect();
    assert_eq!(w.append_all(&entries).unwrap(), entries.len());
}

fn read(r: &mut RedisStreamReader, max: u64) -> Vec<String> {
    let mut got = Vec::new();
    let n = r
        .read(0, max, |e: &RedisEntry| {
            got.push(String::from_utf8(e.field("value").unwrap().to_vec()).unwrap())
        })
        .unwrap();
    assert_eq!(n as usize, got.len());
    got
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("id-{i}")).collect()
}

fn pending(server: &RedisServer, stream: &str) -> i64 {
    let v: redis::Value = redis::cmd("XPENDING")
        .arg(stream)
        .arg("sluice")
        .query(&mut server.connection())
        .unwrap();
    match v {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::Int(n)) => *n,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn unacknowledged_entries_are_replayed_first_after_a_crash() {
    let server = RedisServer::start();
    add_ids(&server.url(), "s", 0..100);
    let mut a = reader(&server.url(), "s");
    assert_eq!(read(&mut a, 30), ids(0..30));
    let p30 = a.positions();
    assert_eq!(
        a.ack_through(&[("s".to_owned(), p30[0].clone())]).unwrap(),
        30
    );
    assert_eq!(read(&mut a, 20), ids(30..50));
    assert_eq!(pending(&server, "s"), 20, "read but not acknowledged");
    drop(a); // a crash: nothing more is acknowledged

    let mut b = reader(&server.url(), "s");
    assert_eq!(read(&mut b, 10), ids(30..40), "pending entries first");
    assert_eq!(
        read(&mut b, 1000),
        ids(40..100),
        "then the rest of the pending ones and new ones"
    );
    assert_eq!(read(&mut b, 1000), Vec::<String>::new());
    let end = b.positions();
    assert_eq!(
        b.ack_through(&[("s".to_owned(), end[0].clone())]).unwrap(),
        70
    );
    assert_eq!(pending(&server, "s"), 0);
}

#[test]
fn recovery_acknowledges_checkpointed_entries_and_replays_the_rest() {
    let server = RedisServer::start();
    add_ids(&server.url(), "s", 0..60);
    let mut a = reader(&server.url(), "s");
    assert_eq!(read(&mut a, 25), ids(0..25));
    let checkpoint = a.positions()[0].clone();
    assert_eq!(read(&mut a, 1000), ids(25..60));
    drop(a); // crashed after the checkpoint of entry 25, before acknowledging anything

    let mut b = reader(&server.url(), "s");
    b.recover(&[("s".to_owned(), checkpoint.clone())]).unwrap();
    assert_eq!(
        pending(&server, "s"),
        35,
        "entries in the checkpoint are acknowledged"
    );
    assert_eq!(b.positions()[0], checkpoint);
    add_ids(&server.url(), "s", 60..70);
    assert_eq!(read(&mut b, 1000), ids(25..70));
    assert!(b.recover(&[("other".to_owned(), checkpoint)]).is_err());
}

#[test]
fn a_server_restart_is_survived_by_reader_and_writer() {
    let mut server = RedisServer::start();
    add_ids(&server.url(), "s", 0..10);
    let mut r = reader(&server.url(), "s");
    assert_eq!(read(&mut r, 1000), ids(0..10));
    server.kill();
    assert_eq!(
        read(&mut r, 1000),
        Vec::<String>::new(),
        "nothing while Redis is down"
    );
    assert!(r.is_unreachable());
    // A writer retries until Redis is back.
    let url = server.url();
    let writer = std::thread::spawn(move || add_ids(&url, "s", 10..20));
    std::thread::sleep(Duration::from_millis(500));
    server.restart();
    writer.join().unwrap();
    assert_eq!(read(&mut r, 1000), ids(10..20));
    assert!(!r.is_unreachable());
}

/// The entry ids of stream `s`, oldest first.
fn entry_ids(server: &RedisServer) -> Vec<String> {
    let v: redis::Value = redis::cmd("XRANGE")
        .arg("s")
        .arg("-")
        .arg("+")
        .query(&mut server.connection())
        .unwrap();
    let redis::Value::Array(entries) = v else {
        panic!("{v:?}")
    };
    entries
        .iter()
        .map(|e| match e {
            redis::Value::Array(p) => redis::from_redis_value(&p[0]).unwrap(),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn read_to(r: &mut RedisStreamReader, end: &str) -> Vec<String> {
    let mut got = Vec::new();
    r.read_to(0, end, Duration::from_secs(2), |e: &RedisEntry| {
        got.push(String::from_utf8(e.field("value").unwrap().to_vec()).unwrap())
    })
    .unwrap();
    got
}

#[test]
fn a_replayed_batch_reads_exactly_up_to_its_recorded_end() {
    let server = RedisServer::start();
    add_ids(&server.url(), "s", 0..60);
    let mut a = reader(&server.url(), "s");
    assert_eq!(read(&mut a, 25), ids(0..25));
    let checkpoint = a.positions()[0].clone();
    assert_eq!(read(&mut a, 1000), ids(25..60));
    drop(a); // crashed after reading entries 25..60 in batches past the checkpoint

    add_ids(&server.url(), "s", 60..70);
    let all = entry_ids(&server);
    let mut b = reader(&server.url(), "s");
    b.recover(&[("s".to_owned(), checkpoint)]).unwrap();
    // Pending entries only, stopping at the end even though more are pending.
    assert_eq!(read_to(&mut b, &all[40]), ids(25..41));
    assert_eq!(b.positions()[0], all[40]);
    // The rest of the pending entries, then new ones, and none past the end.
    assert_eq!(read_to(&mut b, &all[64]), ids(41..65));
    assert_eq!(
        read(&mut b, 1000),
        ids(65..70),
        "the next batch goes on after it"
    );
    // An end the stream does not have fails naming the stream and the end.
    let err = b
        .read_to(0, "99999999999999-0", Duration::from_millis(300), |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot replay stream `s` up to entry 99999999999999-0"),
        "{err}"
    );
}

#[test]
fn batch_ids_skip_what_a_batch_wrote_before() {
    let server = RedisServer::start();
    let mut w = RedisStreamWriter::open(
        &server.url(),
        "s",
        None,
        Duration::from_secs(2),
        Duration::from_secs(2),
    )
    .unwrap();
    let values: Vec<Vec<u8>> = (0..4).map(|i| format!("id-{i}").into_bytes()).collect();
    let entries: Vec<Vec<(&[u8], &[u8])>> = values
        .iter()
        .map(|v| vec![(&b"value"[..], v.as_slice())])
        .collect();
    let done = |written, skipped| Appended { written, skipped };
    assert_eq!(w.append_batch(1000, &entries[..3]).unwrap(), done(3, 0));
    assert_eq!(
        w.append_batch(1000, &entries[..3]).unwrap(),
        done(0, 3),
        "replayed"
    );
    // A batch cut short by a crash: the rest is written on replay.
    assert_eq!(w.append_batch(1200, &entries[..2]).unwrap(), done(2, 0));
    assert_eq!(w.append_batch(1200, &entries).unwrap(), done(2, 2));
    // An earlier batch replayed after later ones were written: all there already.
    assert_eq!(w.append_batch(1000, &entries[..3]).unwrap(), done(0, 3));
    let ids = entry_ids(&server);
    assert_eq!(
        ids,
        ["1000-0", "1000-1", "1000-2", "1200-0", "1200-1", "1200-2", "1200-3"]
    );
    // Another client's entry ahead of the next batch: refused, naming the cause.
    let _: String = redis::cmd("XADD")
        .arg("s")
        .arg("5000-0")
        .arg("value")
        .arg("other")
        .query(&mut server.connection())
        .unwrap();
    let err = w.append_batch(1400, &entries).unwrap_err().to_string();
    assert!(err.contains("another client writes to the stream"), "{err}");
}
