//! `/metrics` against the real Prometheus tools: `promtool check metrics` lints it, and a
//! Prometheus server scrapes it and answers a query through its HTTP API.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{get, get_json, start_with_ui, tool, wait_for, watched_job};

#[test]
fn promtool_accepts_the_metrics() {
    let Some(promtool) = tool("promtool", "promtool_accepts_the_metrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = start_with_ui(&watched_job(dir.path(), "200ms"), &["--quiet"]);
    let text = wait_for(Duration::from_secs(60), "plugin metrics", || {
        let (_, _, text) = get(run.addr, "/metrics", "text/plain");
        text.contains("sluice_plugin_calls_total{").then_some(text)
    });
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- metrics:\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Prometheus server, killed on drop.
struct Prometheus(std::process::Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prometheus_scrapes_the_job_and_answers_a_query() {
    let Some(prometheus) = tool(
        "prometheus",
        "prometheus_scrapes_the_job_and_answers_a_query",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = start_with_ui(&watched_job(dir.path(), "200ms"), &["--quiet"]);
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
             - job_name: sluice\n    honor_labels: true\n    static_configs:\n      - targets: ['{}']\n",
            run.addr
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let _server = Prometheus(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let addr: std::net::SocketAddr = listen.parse().unwrap();
    let query = "/api/v1/query?query=sluice_batches_completed_total%7Bjob%3D%22watched%22%7D";
    let value = wait_for(
        Duration::from_secs(60),
        "Prometheus to scrape Sluice",
        || {
            std::net::TcpStream::connect(addr).ok()?;
            // 503 until the server is ready.
            let (status, _, body) = get(addr, query, "application/json");
            let answer: serde_json::Value =
                serde_json::from_str(&body).ok().filter(|_| status == 200)?;
            let result = answer["data"]["result"].as_array()?.first()?.clone();
            let v: f64 = result["value"][1].as_str()?.parse().ok()?;
            (v >= 2.0).then_some(result)
        },
    );
    assert_eq!(
        value["metric"]["__name__"],
        "sluice_batches_completed_total"
    );
    // The scrape target itself is up.
    let up = get_json(addr, "/api/v1/query?query=up");
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up:#}");
}
