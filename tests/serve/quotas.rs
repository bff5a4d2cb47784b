//! `max_memory` (admission and at run time) and CPU accounting on the shared pool, through
//! the real server.

use std::time::Duration;

use serde_json::Value;

use crate::harness::*;

const MIB: u64 = 1 << 20;

/// A word count whose `words` plugin may use `memory` per instance; `state = true` keeps
/// a running count per word (`update_state_by_key`) over a large vocabulary.
fn job(memory: &str, state: bool, rate: u32) -> String {
    let mut j = wordcount_job("500ms", "")
        .replace(
            "name = \"words\"\n",
            &format!("name = \"words\"\nlimits = {{ memory = \"{memory}\" }}\n"),
        )
        .replace("rate = 200", &format!("rate = {rate}"));
    if state {
        j = j
            .replace("vocabulary = 50", "vocabulary = 300000")
            .replace("words_per_line = 5", "words_per_line = 10")
            .replace("op = \"reduce_by_key\"", "op = \"update_state_by_key\"");
    }
    j
}

#[test]
fn a_job_whose_plugin_limits_do_not_fit_max_memory_is_refused() {
    let site = Site::new(
        "workers = 2",
        &[
            ("alice", "max_memory = \"48MiB\""),
            ("bob", "max_memory = \"48MiB\""),
        ],
    );
    let server = site.start();
    let alice = server.client("alice");
    let bob = server.client("bob");
    alice.upload("words", &words_wasm());
    bob.upload("words", &words_wasm());
    let first = alice.submit_ok(&job("32MiB", false, 200), "");
    let a = alice.submit(&job("32MiB", false, 200), "");
    assert_eq!(a.status, 429, "{}", a.text);
    assert_eq!(a.json["quota"], "max_memory");
    assert_eq!(a.json["limit"].as_u64(), Some(48 * MIB));
    assert_eq!(a.json["requested"].as_u64(), Some(32 * MIB));
    let in_use = a.json["in_use"].as_u64().expect("in_use");
    assert!((32 * MIB..34 * MIB).contains(&in_use), "{}", a.text);
    let e = a.json["error"].as_str().unwrap();
    assert!(
        e.starts_with("quota `max_memory` exceeded: limit 50331648"),
        "{e}"
    );
    // What fits is admitted, another tenant's memory is its own, and a stopped job
    // gives its reservation back.
    alice.submit_ok(&job("8MiB", false, 200), "");
    bob.submit_ok(&job("32MiB", false, 200), "");
    assert_eq!(alice.delete(&format!("/v1/jobs/{first}")).status, 200);
    alice.submit_ok(&job("32MiB", false, 200), "");
    let usage = alice.get("/v1/usage");
    assert_eq!(usage.status, 200, "{}", usage.text);
    let mine = &usage.json[0];
    assert_eq!(usage.json.as_array().map(Vec::len), Some(1), "only its own");
    assert_eq!(mine["tenant"], "alice");
    assert_eq!(mine["memory_reserved"].as_u64(), Some(40 * MIB));
}

fn batches(client: &Client, id: &str) -> u64 {
    client.status(id)["batches_since_start"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn a_job_outgrowing_max_memory_fails_and_the_others_keep_running() {
    let site = Site::new(
        "workers = 2",
        &[("alice", "max_memory = \"40MiB\""), ("bob", "")],
    );
    let server = site.start();
    let alice = server.client("alice");
    let bob = server.client("bob");
    alice.upload("words", &words_wasm());
    bob.upload("words", &words_wasm());
    // 32 MiB of guest memory reserved leaves 8 MiB for keyed state: ~100k words a batch
    // over a vocabulary of 300k outgrow it within a few batches.
    let big = alice.submit_ok(&job("32MiB", true, 10_000), "");
    let light = alice.submit_ok(
        "[job]\nname = \"light\"\nbatch_interval = \"500ms\"\n\
         [sources.g]\nkind = \"generator\"\nrate = 40\n\
         [streams.n]\nfrom = \"g\"\nop = \"count\"\n\
         [sinks.out]\nfrom = \"n\"\nkind = \"files\"\npath = \"out\"\n",
        "",
    );
    let other = bob.submit_ok(&job("32MiB", true, 200), "");
    let failed = wait_until(Duration::from_secs(90), || {
        alice.status(&big)["state"] == "failed"
    });
    let s = alice.status(&big);
    assert!(failed, "{s:#}\nlog:\n{}", site.log());
    let reason = s["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with(
            "quota `max_memory` of tenant `alice` exceeded: limit 41943040 bytes, in use "
        ) && reason.contains("(guest memory reserved by its jobs 33554432 + keyed state "),
        "{reason}"
    );
    // The server, the tenant's other job and the other tenant's job keep running.
    let (l0, o0) = (batches(&alice, &light), batches(&bob, &other));
    assert!(
        wait_until(Duration::from_secs(30), || {
            batches(&alice, &light) >= l0 + 3 && batches(&bob, &other) >= o0 + 3
        }),
        "light {} other {}\n{}",
        batches(&alice, &light),
        batches(&bob, &other),
        site.log()
    );
    for (c, id) in [(&alice, &light), (&bob, &other)] {
        assert_eq!(c.status(id)["state"], "running");
    }
    // Its memory is free again: a job reserving 32 MiB is admitted.
    alice.submit_ok(&job("32MiB", false, 200), "");
}

fn cpu_ms(usage: &Value, tenant: &str) -> f64 {
    usage
        .as_array()
        .and_then(|a| a.iter().find(|u| u["tenant"] == tenant))
        .and_then(|u| u["cpu_ms"].as_f64())
        .unwrap_or(0.0)
}

#[test]
fn a_spinning_plugin_costs_its_own_tenant_and_its_slot_only() {
    let site = Site::new("workers = 2", &[("alice", "max_jobs = 8"), ("bob", "")]);
    let server = site.start();
    let alice = server.client("alice");
    let bob = server.client("bob");
    let busy = words_wasm().with_file_name("busy.wasm");
    alice.upload("busy", &busy);
    bob.upload("words", &words_wasm());
    let light = bob.submit_ok(&job("16MiB", false, 200), "");
    assert!(wait_until(Duration::from_secs(30), || batches(
        &bob, &light
    ) >= 2));
    // Three jobs whose steps spin for seconds: they could hold both slots.
    let spin = "[job]\nname = \"spin\"\nbatch_interval = \"500ms\"\n\
                [plugins.busy]\nname = \"busy\"\nparams = { rounds = 1000000 }\n\
                limits = { memory = \"16MiB\", timeout = \"30s\" }\n\
                [sources.g]\nkind = \"generator\"\nrate = 2000\npartitions = 1\n\
                [streams.s]\nfrom = \"g\"\nop = \"map\"\nfn = \"busy.spin\"\n\
                [streams.n]\nfrom = \"s\"\nop = \"count\"\n\
                [sinks.out]\nfrom = \"n\"\nkind = \"files\"\npath = \"out\"\n";
    let spinners: Vec<String> = (0..3).map(|_| alice.submit_ok(spin, "")).collect();
    let admin = server.client("admin");
    let alice_cpu = || cpu_ms(&admin.get("/v1/usage").json, "alice");
    assert!(wait_until(Duration::from_secs(60), || alice_cpu() > 1000.0));
    let from = batches(&bob, &light);
    assert!(
        wait_until(Duration::from_secs(60), || batches(&bob, &light)
            >= from + 10),
        "{:#}\n{}",
        bob.status(&light),
        site.log()
    );
    // Bob's batches waited for a slot less than one batch interval: Alice's spinning
    // steps hold one slot (her share), never both.
    let s = bob.status(&light);
    let last = s["last_batches"].as_array().unwrap();
    let mut delays: Vec<f64> = last[last.len() - 10..]
        .iter()
        .map(|b| b["scheduling_delay_ms"].as_f64().unwrap())
        .collect();
    delays.sort_by(f64::total_cmp);
    let median = delays[delays.len() / 2];
    assert!(
        median < 500.0,
        "bob's scheduling delays (ms): {delays:?}\n{s:#}"
    );
    for id in &spinners {
        assert_eq!(alice.status(id)["state"], "running", "{}", site.log());
    }
    // The CPU is charged to the tenant that spent it.
    let usage = server.client("admin").get("/v1/usage").json;
    let (a, b) = (cpu_ms(&usage, "alice"), cpu_ms(&usage, "bob"));
    assert!(
        a > 5.0 * b && b > 0.0,
        "alice {a} ms, bob {b} ms: {usage:#}"
    );
    assert!(s["cpu_ms"].as_f64().unwrap() > 0.0, "{s:#}");
    let alice_slots = usage
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["tenant"] == "alice")
        .unwrap()["slot_cap"]
        .as_u64();
    assert_eq!(alice_slots, Some(1), "{usage:#}");
}
