//! Unit tests of job-file parsing and graph checks, with the exact messages users see.

use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<JobDocument, String> {
    JobDocument::parse(Path::new("job.toml"), text.to_owned()).map_err(|e| e.to_string())
}

const HEAD: &str = "[job]\nname = \"t\"\n[sources.lines]\nkind = \"queue\"\ndata = \"[]\"\n";

#[test]
fn parses_a_pipeline_in_order() {
    let doc = parse(&format!(
        "{HEAD}[streams.b]\nfrom = \"a\"\nop = \"count\"\n[streams.a]\nfrom = \"lines\"\nop = \"identity\"\n[sinks.out]\nfrom = \"b\"\nkind = \"print\"\n"
    ))
    .unwrap();
    assert_eq!(doc.topology.order, vec!["a", "b"]);
    assert_eq!(doc.batch_ms(), 1000);
}

#[test]
fn unknown_key_names_line_and_column() {
    let err = parse(&format!(
        "{HEAD}[streams.a]\nfrom = \"lines\"\nop = \"map\"\nfn = \"p.f\"\n  colour = 1\n"
    ))
    .unwrap_err();
    assert!(
        err.starts_with("job.toml:10:3: unknown field `colour`"),
        "{err}"
    );
    let err = parse("[job]\nname = \"t\"\nbatch = \"1s\"\n").unwrap_err();
    assert!(
        err.starts_with("job.toml:3:1: unknown field `batch`"),
        "{err}"
    );
}

#[test]
fn unknown_reference_and_cycle() {
    let err = parse(&format!(
        "{HEAD}[streams.a]\nfrom = \"lnes\"\nop = \"identity\"\n"
    ))
    .unwrap_err();
    assert_eq!(
        err,
        "job.toml:7:8: stream `a`: unknown stream `lnes` (known: lines, a)"
    );
    let err = parse(&format!(
        "{HEAD}[streams.a]\nfrom = \"b\"\nop = \"identity\"\n[streams.b]\ninputs = [\"lines\", \"a\"]\nop = \"identity\"\n"
    ))
    .unwrap_err();
    assert!(
        err.ends_with("the streams form a cycle: a -> b -> a"),
        "{err}"
    );
}

#[test]
fn bad_durations_are_explained() {
    let err = parse("[job]\nname = \"t\"\nbatch_interval = \"1 sec\"\n").unwrap_err();
    assert!(
        err.starts_with("job.toml:3:18: invalid duration `1 sec`"),
        "{err}"
    );
}
