//! The built-in record operations (`parse_json`, `filter` on a field, `key_by`, `select`,
//! `to_json`) through the binary: JSON lines in a directory to exact output files, bad
//! lines under each error policy, and the settings errors `sluice validate` prints.

use crate::support::{err_stderr, ok_stdout, sluice, JobDir};

const LINES: &str = r#"{"user": "alice", "amount": 5, "item": "book"}
{"user": "bob", "amount": 3}
{"user": "alice", "amount": 7.5}
{"user": "carol", "amount": 12, "geo": {"country": "fr"}}
{"usr": "dave", "amount": 8}
not json
{"user": "bob", "amount": 20}
"#;

fn job(policy: &str) -> String {
    format!(
        r#"
[job]
name = "json"
error_policy = "{policy}"
dead_letter = {{ path = "dead" }}

[sources.lines]
kind = "files"
path = "in"

[streams.events]
from = "lines"
op = "parse_json"

[streams.big]
from = "events"
op = "filter"
field = "amount"
cmp = ">="
value = 5

[streams.by_user]
from = "big"
op = "key_by"
key = "user"
value = "amount"

[streams.totals]
from = "by_user"
op = "reduce_by_key"
fn = "sum"

[streams.rows]
from = "totals"
op = "select"
fields = ["/0", "/1"]
rename = {{ "/0" = "user", "/1" = "total" }}

[streams.text]
from = "rows"
op = "to_json"

[sinks.rows]
from = "rows"
kind = "files"
path = "out/rows"

[sinks.text]
from = "text"
kind = "files"
path = "out/text"
"#
    )
}

fn with_input(policy: &str) -> JobDir {
    let job = JobDir::new(&job(policy));
    std::fs::create_dir(job.path("in")).unwrap();
    std::fs::write(job.path("in/part-1.jsonl"), LINES).unwrap();
    job
}

fn read(job: &JobDir, rel: &str) -> String {
    std::fs::read_to_string(job.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn json_lines_are_parsed_filtered_keyed_summed_and_shaped_without_a_plugin() {
    let job = with_input("dead_letter");
    ok_stdout(&job.run_virtual(1));
    // One file, one partition: keys in order of first appearance. The files sink writes
    // each map with sorted keys; `to_json` keeps the order `select` gave.
    assert_eq!(
        read(&job, "out/rows/batch-1000.jsonl"),
        "{\"total\":12.5,\"user\":\"alice\"}\n{\"total\":12,\"user\":\"carol\"}\n{\"total\":20,\"user\":\"bob\"}\n"
    );
    assert_eq!(
        read(&job, "out/text/batch-1000.jsonl"),
        "\"{\\\"user\\\":\\\"alice\\\",\\\"total\\\":12.5}\"\n\"{\\\"user\\\":\\\"carol\\\",\\\"total\\\":12}\"\n\"{\\\"user\\\":\\\"bob\\\",\\\"total\\\":20}\"\n"
    );
    let dead: Vec<serde_json::Value> = read(&job, "dead/dead-1000.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        dead,
        [
            serde_json::json!({"time": 1000, "stream": "events", "record": "not json",
                "reason": "`parse_json`: invalid JSON: expected ident at line 1 column 2"}),
            serde_json::json!({"time": 1000, "stream": "by_user", "record": {"usr": "dave", "amount": 8},
                "reason": "`key_by`: field `user` is missing"}),
        ]
    );
}

#[test]
fn a_record_without_the_field_fails_the_job_naming_stream_operation_and_field() {
    let job = with_input("fail");
    std::fs::write(
        job.path("in/part-1.jsonl"),
        "{\"user\": \"a\", \"amount\": 5}\n{\"usr\": \"dave\", \"amount\": 8}\n",
    )
    .unwrap();
    let err = err_stderr(&job.run_virtual(1));
    assert!(
        err.contains("stream `by_user`: record rejected: `key_by`: field `user` is missing"),
        "{err}"
    );
    // Skipped records are counted, and the rest of the batch goes through.
    let job = with_input("skip");
    ok_stdout(&job.run_virtual(1));
    assert_eq!(read(&job, "out/rows/batch-1000.jsonl").lines().count(), 3);
}

fn validate_error(stream: &str) -> String {
    let text = format!(
        "[job]\nname = \"t\"\n\n[sources.lines]\nkind = \"queue\"\ndata = \"[]\"\n\n{stream}\n[sinks.out]\nfrom = \"s\"\nkind = \"print\"\n"
    );
    let job = JobDir::new(&text);
    let err = err_stderr(&sluice(&["validate", job.job().to_str().unwrap()]));
    err.replace(&job.job().display().to_string(), "job.toml")
}

#[test]
fn validate_names_the_wrong_setting_of_a_built_in_operation() {
    let s = "[streams.s]\nfrom = \"lines\"\nop = \"filter\"\n";
    assert_eq!(
        validate_error(&format!("{s}field = \"amount\"\ncmp = \"=>\"\nvalue = 5\n")),
        "error: job.toml:12:7: stream `s`: unknown comparison `=>`: use one of ==, !=, <, <=, >, >=, exists\n"
    );
    assert_eq!(
        validate_error(&format!("{s}fn = \"p.f\"\nfield = \"amount\"\n")),
        "error: job.toml:12:9: stream `s`: `filter` takes either `fn` (a plugin function) or `field`, `cmp` and `value` (a built-in comparison), not both\n"
    );
    assert_eq!(
        validate_error(&format!("{s}field = \"amount\"\ncmp = \"<\"\nvalue = true\n")),
        "error: job.toml:13:9: stream `s`: `<` orders numbers or strings; a boolean `value` takes `==` or `!=`\n"
    );
    assert_eq!(
        validate_error("[streams.s]\nfrom = \"lines\"\nop = \"key_by\"\nkey = 3\n"),
        "error: job.toml:11:7: stream `s`: `key` must be a field (\"user\", \"/user/id\") or a non-empty array of fields\n"
    );
    assert_eq!(
        validate_error("[streams.s]\nfrom = \"lines\"\nop = \"select\"\nfields = [\"a\"]\nrename = { b = \"c\" }\n"),
        "error: job.toml:12:10: stream `s`: rename `b`: `b` is not in `fields`\n"
    );
}
