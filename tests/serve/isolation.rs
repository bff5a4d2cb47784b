//! Two tenants: neither sees, stops or reads the other's jobs, plugins or outputs; tokens;
//! the admin; the CLI client.

use std::time::Duration;

use crate::harness::*;

#[test]
fn tenants_cannot_see_stop_or_read_each_other() {
    let site = Site::new("", &[("alice", ""), ("bob", "")]);
    let server = site.start();
    let alice = server.client("alice");
    let bob = server.client("bob");
    let meta = alice.upload("words", &words_wasm());
    assert_eq!(meta.json["sha256"].as_str().unwrap().len(), 64);
    assert!(meta.json["functions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "split_pairs"));
    let id = alice.submit_ok(&wordcount_job("200ms", ""), "");
    assert!(
        wait_until(Duration::from_secs(30), || {
            alice
                .get(&format!("/v1/jobs/{id}/sinks/out/batches"))
                .json
                .as_array()
                .is_some_and(|a| a.len() >= 2)
        }),
        "no batches; log:\n{}",
        site.log()
    );

    // Bob sees none of it.
    assert_eq!(bob.get("/v1/jobs").json, serde_json::json!([]));
    assert_eq!(bob.get("/v1/plugins").json, serde_json::json!([]));
    for path in [
        format!("/v1/jobs/{id}"),
        format!("/v1/jobs/{id}/logs"),
        format!("/v1/jobs/{id}/sinks/out/batches"),
    ] {
        let a = bob.get(&path);
        assert_eq!(a.status, 404, "{path}: {}", a.text);
    }
    assert_eq!(bob.delete(&format!("/v1/jobs/{id}")).status, 404);
    assert_eq!(bob.delete("/v1/plugins/words").status, 404);
    // Bob cannot use Alice's plugin by name either.
    let a = bob.submit(&wordcount_job("200ms", ""), "");
    assert_eq!(a.status, 400);
    assert!(
        a.json["error"]
            .as_str()
            .unwrap()
            .contains("no plugin `words` was uploaded"),
        "{}",
        a.text
    );

    // Alice reads her own job and its outputs.
    let st = alice.status(&id);
    assert_eq!(st["state"], "running");
    let last = st["last_batches"].as_array().unwrap();
    assert!(
        !last.is_empty() && last[0]["records_in"].as_u64() == Some(40),
        "{st}"
    );
    let batches = alice.get(&format!("/v1/jobs/{id}/sinks/out/batches")).json;
    let t = batches[0]["time_ms"].as_i64().unwrap();
    let file = alice.get(&format!("/v1/jobs/{id}/sinks/out/batches/{t}"));
    assert_eq!(file.status, 200);
    assert!(file.text.lines().count() > 5, "{}", file.text);
    let logs = alice.get(&format!("/v1/jobs/{id}/logs")).json;
    let lines: Vec<&str> = logs["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("job submitted")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains("records in")), "{lines:?}");

    // Tokens: missing, wrong, or a digest instead of the token.
    let none = Client {
        url: server.url.clone(),
        token: String::new(),
    };
    assert_eq!(none.get("/v1/jobs").status, 401);
    let wrong = Client {
        url: server.url.clone(),
        token: "alice-tokem".into(),
    };
    assert_eq!(wrong.get(&format!("/v1/jobs/{id}")).status, 401);

    // The admin sees every job, may stop it, and owns no plugins.
    let admin = server.client("admin");
    assert_eq!(admin.get("/v1/jobs").json.as_array().unwrap().len(), 1);
    assert_eq!(admin.get("/v1/plugins").status, 403);
    assert_eq!(admin.submit(&wordcount_job("200ms", ""), "").status, 403);
    let stopped = admin.delete(&format!("/v1/jobs/{id}"));
    assert_eq!(stopped.status, 200, "{}", stopped.text);
    assert_eq!(stopped.json["state"], "stopped");
    assert_eq!(alice.status(&id)["reason"], "stopped on request");
}

#[test]
fn the_cli_client_submits_lists_shows_logs_and_stops() {
    let site = Site::new("", &[("alice", ""), ("bob", "")]);
    let server = site.start();
    let job = site.dir.path().join("job.toml");
    std::fs::write(&job, wordcount_job("200ms", "")).unwrap();
    let plugin = format!("words={}", words_wasm().display());
    let out = server.cli(
        "alice",
        &["submit", job.to_str().unwrap(), "--plugin", &plugin],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(id.len(), 12, "{id}");
    let alice = server.client("alice");
    assert!(wait_until(Duration::from_secs(30), || {
        alice.status(&id)["last_batches"]
            .as_array()
            .is_some_and(|b| b.len() >= 2)
    }));
    let text = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let jobs = text(server.cli("alice", &["jobs"]));
    assert!(
        jobs.contains(&id) && jobs.contains("running") && jobs.contains("wordcount"),
        "{jobs}"
    );
    assert!(!text(server.cli("bob", &["jobs"])).contains(&id));
    let status = text(server.cli("alice", &["status", &id]));
    assert!(
        status.contains("state:   running") && status.contains("records in"),
        "{status}"
    );
    assert!(text(server.cli("alice", &["logs", &id])).contains("job submitted"));
    let refused = server.cli("bob", &["stop", &id]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("404 Not Found: no job"));
    let stop = text(server.cli("alice", &["stop", &id]));
    assert!(stop.contains("state:   stopped"), "{stop}");
    let bad = server.cli(
        "alice",
        &["submit", job.to_str().unwrap(), "--token", "nope"],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("401 Unauthorized"));
}
