//! Broken job files: the exact messages `sluice validate` and `sluice run` print.

use crate::support::{err_stderr, sluice, JobDir};

fn validate_error(text: &str) -> (JobDir, String) {
    let job = JobDir::new(text);
    let err = err_stderr(&sluice(&["validate", job.job().to_str().unwrap()]));
    (job, err)
}

const HEAD: &str = "[job]\nname = \"t\"\n\n[sources.lines]\nkind = \"queue\"\ndata = \"[]\"\n";

#[test]
fn unknown_key_is_named_with_line_and_column() {
    let (job, err) = validate_error(&format!(
        "{HEAD}\n[streams.n]\nfrom = \"lines\"\nop = \"count\"\nwindow = \"2s\"\n"
    ));
    assert_eq!(
        err,
        format!(
            "error: {}:11:1: unknown field `window`, there are no fields\n",
            job.job().display()
        )
    );
}

#[test]
fn cycle_is_named() {
    let (job, err) = validate_error(&format!(
        "{HEAD}\n[streams.a]\nfrom = \"c\"\nop = \"identity\"\n\n[streams.b]\nfrom = \"a\"\nop = \"identity\"\n\n[streams.c]\ninputs = [\"b\"]\nop = \"identity\"\n"
    ));
    assert_eq!(
        err,
        format!(
            "error: {}:8:1: the streams form a cycle: a -> c -> b -> a\n",
            job.job().display()
        )
    );
}

#[test]
fn unknown_stream_and_unknown_function() {
    let (job, err) = validate_error(&format!(
        "{HEAD}\n[streams.a]\nfrom = \"lines\"\nop = \"reduce_by_key\"\nfn = \"avg\"\n\n[sinks.out]\nfrom = \"b\"\nkind = \"print\"\n"
    ));
    assert_eq!(
        err,
        format!(
            "error: {}:14:8: sink `out`: unknown stream `b` (known: lines, a)\n",
            job.job().display()
        )
    );
    let (job, err) = validate_error(&format!(
        "{HEAD}\n[streams.a]\nfrom = \"lines\"\nop = \"reduce_by_key\"\nfn = \"avg\"\n"
    ));
    assert_eq!(
        err,
        format!(
            "error: {}:11:6: stream `a`: unknown function `avg`: use a built-in (sum, count, min, max) or `plugin.function`\n",
            job.job().display()
        )
    );
}

#[test]
fn missing_plugin_is_named() {
    let (job, err) = validate_error(&format!(
        "{HEAD}\n[streams.a]\nfrom = \"lines\"\nop = \"map\"\nfn = \"words.split\"\n"
    ));
    assert_eq!(
        err,
        format!(
            "error: {}:11:6: stream `a`: unknown plugin `words` in `words.split` (plugins: none)\n",
            job.job().display()
        )
    );
}

#[test]
fn window_not_a_multiple_of_the_batch_interval() {
    let (job, err) = validate_error(&format!(
        "{HEAD}\n[streams.w]\nfrom = \"lines\"\nop = \"window\"\nwindow = \"1500ms\"\n"
    ));
    assert_eq!(
        err,
        format!(
            "error: {}:11:10: stream `w`: window = 1500ms is not a multiple of the batch interval (1s)\n",
            job.job().display()
        )
    );
}

#[test]
fn a_join_of_streams_with_different_slides_is_refused_by_validate_and_run() {
    let text = format!(
        "{HEAD}\n[streams.w]\nfrom = \"lines\"\nop = \"window\"\nwindow = \"4s\"\nslide = \"2s\"\n\n[streams.joined]\nop = \"join\"\ninputs = [\"w\", \"lines\"]\n\n[sinks.out]\nfrom = \"joined\"\nkind = \"print\"\n"
    );
    let (job, err) = validate_error(&text);
    let expected = format!(
        "error: {}:16:16: stream `joined`: its inputs have different slide durations: `w` \
         slides every 2s, `lines` slides every 1s (the batch interval); Spark refuses this too \
         (\"Some of the DStreams have different slide durations\"), as the batches of the \
         faster input at the times the slower one skips are never combined. Give every input \
         the same slide, e.g. window the faster one with `slide = \"2s\"`\n",
        job.job().display()
    );
    assert_eq!(err, expected);
    assert_eq!(err_stderr(&job.run_virtual(4)), expected);
}
