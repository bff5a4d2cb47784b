//! The web UI in a real browser: headless Chromium driven through WebDriver
//! (chromedriver, the `fantoccini` client) opens the page of a running job, which must
//! load without console errors, draw points on its charts, grow its batch table, open a
//! batch's per-stream breakdown, name the bottleneck and show the rejected record. A
//! screenshot is saved for people to look at.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::serve::{serve, submit};
use crate::support::{start_with_ui, tool, watched_job};

/// chromedriver, killed on drop.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The legacy `POST /session/{id}/se/log` command of chromedriver: the browser console.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn connect(port: u16, profile: &std::path::Path) -> Client {
    let mut caps = Capabilities::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     "--window-size=1440,1400",
                     format!("--user-data-dir={}", profile.display())],
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    let start = Instant::now();
    loop {
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps.clone());
        match builder.connect(&format!("http://127.0.0.1:{port}")).await {
            Ok(c) => return c,
            Err(e) if start.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start a Chromium session: {e}"),
        }
    }
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect(script)
}

/// Polls `script` until it returns a truthy value.
async fn until(c: &Client, what: &str, script: &str) -> Value {
    let start = Instant::now();
    loop {
        let v = js(c, script).await;
        if !(v.is_null() || v == json!(false) || v == json!(0)) {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn check_page(c: &Client, ui: SocketAddr) {
    c.goto(&format!("http://{ui}/")).await.expect("open the UI");
    let rows = "const n = document.querySelectorAll('#batch-table tr.batch').length;";
    let first = until(c, "the batch table", &format!("{rows} return n >= 2 && n")).await;
    let first = first.as_u64().unwrap();
    // Every chart (four timelines, four histograms) has points.
    until(
        c,
        "the charts",
        "return document.querySelectorAll('.uplot canvas').length === 8",
    )
    .await;
    let points = js(
        c,
        "return Object.values(state.charts).map(c => c.line.data[0].length)",
    )
    .await;
    let points: Vec<u64> = serde_json::from_value(points).unwrap();
    assert_eq!(points.len(), 4);
    assert!(points.iter().all(|&n| n >= first), "{points:?}");
    // The table grows while the page stays open (no reload).
    let grown = until(
        c,
        "the table to grow",
        &format!("{rows} return n > {first} && n"),
    )
    .await;
    assert!(grown.as_u64().unwrap() > first);
    let verdict = until(
        c,
        "the bottleneck",
        "const t = document.getElementById('verdict').textContent; \
         return t.includes('slow (plugin busy.spin) takes') && t",
    )
    .await;
    assert!(verdict
        .as_str()
        .unwrap()
        .contains("% of each batch; the job keeps up"));
    let error = until(
        c,
        "the plugin error",
        "const t = document.getElementById('errors').textContent; \
         return t.includes('not json {') && t",
    )
    .await;
    let error = error.as_str().unwrap();
    assert!(
        error.contains("json.parse")
            && error.contains("malformed JSON")
            && error.contains("parsed"),
        "{error}"
    );
    // A batch opens its per-stream breakdown.
    c.find(Locator::Css("#batch-table tr.batch"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let detail = until(
        c,
        "the breakdown",
        "const d = document.querySelector('#batch-table tr.detail'); return d && d.textContent",
    )
    .await;
    for stage in ["slow", "counted", "parsed", "lines", "counts"] {
        assert!(
            detail.as_str().unwrap().contains(stage),
            "{stage} in {detail}"
        );
    }
}

/// Starts chromedriver and a Chromium session (profile under `dir`), runs `check`, saves
/// a screenshot as `shot` in the test target's temporary directory and asserts that the
/// browser console has no errors or warnings. `false` (after one line) when chromium or
/// chromedriver is missing.
fn in_chromium<F, Fut>(test: &str, dir: &std::path::Path, shot: &str, check: F) -> bool
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (Some(_), Some(chromedriver)) = (tool("chromium", test), tool("chromedriver", test)) else {
        return false;
    };
    let port = free_port();
    let _driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(shot);
    let log = rt.block_on(async {
        let c = connect(port, &dir.join("chromium")).await;
        check(c.clone()).await;
        js(&c, "window.scrollTo(0, 0); return true").await;
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(&shot, png).expect("save the screenshot");
        let log = c.issue_cmd(BrowserLog).await.expect("browser log");
        let _ = c.close().await;
        log
    });
    eprintln!("{test}: screenshot saved to {}", shot.display());
    let errors: Vec<&Value> = log
        .as_array()
        .expect("log entries")
        .iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    true
}

#[test]
fn the_page_shows_a_running_job_in_chromium() {
    let test = "the_page_shows_a_running_job_in_chromium";
    let dir = tempfile::tempdir().unwrap();
    if tool("chromium", test).is_none() || tool("chromedriver", test).is_none() {
        return;
    }
    let run = start_with_ui(&watched_job(dir.path(), "300ms"), &["--quiet"]);
    let addr = run.addr;
    in_chromium(test, dir.path(), "observe-ui.png", |c| async move {
        check_page(&c, addr).await;
    });
}

#[test]
fn the_serve_page_asks_for_the_token_and_shows_only_the_tenants_jobs() {
    let test = "the_serve_page_asks_for_the_token_and_shows_only_the_tenants_jobs";
    if tool("chromium", test).is_none() || tool("chromedriver", test).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let alice = submit(&server, "alice");
    let bob = submit(&server, "bob");
    let url = server.url.clone();
    in_chromium(test, dir.path(), "observe-serve-ui.png", |c| async move {
        c.goto(&format!("{url}/")).await.expect("open the UI");
        until(
            &c,
            "the token form",
            "return !document.getElementById('login').hidden",
        )
        .await;
        c.find(Locator::Css("#token"))
            .await
            .unwrap()
            .send_keys("alice-token")
            .await
            .unwrap();
        c.find(Locator::Css("#login-form button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let list = until(
            &c,
            "the job list",
            "const t = document.getElementById('job-list').textContent; \
             return t.includes('counts') && t",
        )
        .await;
        let list = list.as_str().unwrap();
        assert!(list.contains(&alice) && !list.contains(&bob), "{list}");
        until(
            &c,
            "the batch table",
            "return document.querySelectorAll('#batch-table tr.batch').length >= 2",
        )
        .await;
        until(
            &c,
            "the charts",
            "return document.querySelectorAll('.uplot canvas').length === 8",
        )
        .await;
        let verdict = until(
            &c,
            "the bottleneck",
            "const t = document.getElementById('verdict').textContent; \
             return t.includes('of each batch') && t",
        )
        .await;
        assert!(verdict.as_str().unwrap().contains("takes"), "{verdict}");
        // The token is in the tab's sessionStorage, never in the address.
        let href = js(&c, "return location.href").await;
        assert!(!href.as_str().unwrap().contains("token"), "{href}");
        let kept = js(&c, "return sessionStorage.getItem('sluice-token')").await;
        assert_eq!(kept, json!("alice-token"));
    });
}
