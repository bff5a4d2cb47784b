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

/// `lines` (a source, 1 s), `w` (a 2 s window sliding every 2 s) and `m` (a map of `w`).
const SLIDES: &str = "[streams.w]\nfrom = \"lines\"\nop = \"window\"\nwindow = \"2s\"\nslide = \"2s\"\n[streams.m]\nfrom = \"w\"\nop = \"map\"\nfn = \"p.f\"\n";

#[test]
fn multi_parent_streams_need_one_slide() {
    for op in [
        "union",
        "join",
        "left_outer_join",
        "right_outer_join",
        "full_outer_join",
        "cogroup",
        "transform_with",
        "context_transform",
    ] {
        let f = if op.contains("transform") {
            "fn = \"p.f\"\n"
        } else {
            ""
        };
        let err = parse(&format!(
            "{HEAD}{SLIDES}[streams.j]\ninputs = [\"m\", \"lines\"]\nop = \"{op}\"\n{f}"
        ))
        .unwrap_err();
        assert!(
            err.starts_with(
                "job.toml:16:16: stream `j`: its inputs have different slide durations: `m` \
                 slides every 2s, `lines` slides every 1s (the batch interval); Spark refuses \
                 this too (\"Some of the DStreams have different slide durations\")"
            ),
            "{op}: {err}"
        );
        assert!(
            err.ends_with("window the faster one with `slide = \"2s\"`"),
            "{err}"
        );
    }
    // Inputs of one slide (here both derived from the 2 s window) are fine.
    let doc = parse(&format!(
        "{HEAD}{SLIDES}[streams.j]\ninputs = [\"m\", \"w\"]\nop = \"join\"\n"
    ))
    .unwrap();
    let slides = &doc.topology.slides;
    assert_eq!(
        (slides["lines"], slides["w"], slides["m"], slides["j"]),
        (1000, 2000, 2000, 2000)
    );
}

#[test]
fn windows_over_windows_follow_the_parent_slide() {
    let err = parse(&format!(
        "{HEAD}{SLIDES}[streams.ww]\nfrom = \"m\"\nop = \"count_by_window\"\nwindow = \"3s\"\n"
    ))
    .unwrap_err();
    assert_eq!(
        err,
        "job.toml:18:10: stream `ww`: window = 3s is not a multiple of the slide of its \
         parent `m` (2s): a window over a windowed stream covers whole slides of it"
    );
    // The slide defaults to the parent's, as Spark's `window(length)`.
    let doc = parse(&format!(
        "{HEAD}{SLIDES}[streams.ww]\nfrom = \"m\"\nop = \"window\"\nwindow = \"4s\"\n"
    ))
    .unwrap();
    assert_eq!(doc.topology.slides["ww"], 2000);
}
