//! Observability through the real `sluice` binary: `sluice run --ui` serving the JSON
//! API, `/metrics` (checked by `promtool` and scraped by a real Prometheus) and the web
//! UI (opened in headless Chromium through WebDriver), and `--progress json`.

mod api;
mod browser;
mod prometheus;
mod serve;
mod support;
