//! Load: 50 jobs from 5 tenants at once, all making progress.

use std::time::Duration;

use crate::harness::*;

#[test]
fn fifty_jobs_from_five_tenants_all_make_progress() {
    let tenants = ["t1", "t2", "t3", "t4", "t5"];
    let quota: Vec<(&str, &str)> = tenants.iter().map(|t| (*t, "max_jobs = 10")).collect();
    let site = Site::new("", &quota);
    let server = site.start();
    // Light jobs: a few generated records per 250 ms batch, counted, written to files.
    let job = "[job]\nname = \"light\"\nbatch_interval = \"250ms\"\n\
               [sources.g]\nkind = \"generator\"\nrate = 40\npartitions = 1\n\
               [streams.n]\nfrom = \"g\"\nop = \"count\"\n\
               [sinks.out]\nfrom = \"n\"\nkind = \"files\"\npath = \"out\"\n";
    let mut ids = Vec::new();
    for t in tenants {
        let c = server.client(t);
        for _ in 0..10 {
            ids.push((t, c.submit_ok(job, "")));
        }
        assert_eq!(
            c.submit(job, "").status,
            429,
            "the 11th job of {t} is over its quota"
        );
    }
    let progressed = |t: &str, id: &str| {
        std::fs::read_dir(site.job_dir(t, id).join("files/out")).map_or(0, |d| d.count())
    };
    let all = wait_until(Duration::from_secs(60), || {
        ids.iter().all(|(t, id)| progressed(t, id) >= 4)
    });
    let counts: Vec<usize> = ids.iter().map(|(t, id)| progressed(t, id)).collect();
    assert!(
        all,
        "batches written per job: {counts:?}\nlog:\n{}",
        site.log()
    );
    let admin = server.client("admin");
    let listed = admin.get("/v1/jobs").json;
    let running = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["state"] == "running")
        .count();
    assert_eq!(running, 50, "{listed}");
}
