//! Slide durations of streams, computed as Spark computes `slideDuration`: a source slides
//! every batch interval, a windowed stream by its `slide` (its parent's slide when unset),
//! every other stream as its parent. Streams with several parents need parents of one
//! slide (Spark: "Some of the DStreams have different slide durations"): otherwise the
//! batches of the faster parent at the times the slower one skips are never combined.

use std::collections::BTreeMap;

use toml::Spanned;

use super::units::DurationMs;
use super::{JobDocument, JobError};

/// Each source's and stream's slide in milliseconds, checking windows against their
/// parent's slide and multi-parent streams for parents of one slide. `order` is the
/// topological order of the streams.
pub(super) fn check(
    doc: &JobDocument,
    order: &[String],
) -> Result<BTreeMap<String, i64>, JobError> {
    let batch_ms = doc.batch_ms();
    let mut slides: BTreeMap<String, i64> = doc
        .file
        .sources
        .keys()
        .map(|name| (name.clone(), batch_ms))
        .collect();
    for name in order {
        let parents = doc.file.streams[name].get_ref().parents();
        let of: Vec<i64> = parents
            .iter()
            .map(|p| slides.get(p.get_ref()).copied().unwrap_or(batch_ms))
            .collect();
        let Some(&parent_slide) = of.first() else {
            continue;
        };
        if let Some(i) = of.iter().position(|&s| s != parent_slide) {
            return Err(mixed_slides(doc, name, &parents, &of, i));
        }
        let slide = window_slide(doc, name, parents[0].get_ref(), parent_slide)?;
        slides.insert(name.clone(), slide);
    }
    Ok(slides)
}

/// The error of stream `name` whose `parents` slide every `of` ms; parent `at` is the
/// first whose slide differs from the first parent's.
fn mixed_slides(
    doc: &JobDocument,
    name: &str,
    parents: &[&Spanned<String>],
    of: &[i64],
    at: usize,
) -> JobError {
    let batch_ms = doc.batch_ms();
    let list: Vec<String> = parents
        .iter()
        .zip(of)
        .map(|(p, &s)| {
            let how = if s == batch_ms {
                " (the batch interval)"
            } else {
                ""
            };
            format!("`{}` slides every {}{how}", p.get_ref(), DurationMs(s))
        })
        .collect();
    let slowest = of.iter().copied().max().unwrap_or(batch_ms);
    doc.error(
        Some(parents[at].span()),
        format!(
            "stream `{name}`: its inputs have different slide durations: {}; Spark refuses \
             this too (\"Some of the DStreams have different slide durations\"), as the \
             batches of the faster input at the times the slower one skips are never \
             combined. Give every input the same slide, e.g. window the faster one with \
             `slide = \"{}\"`",
            list.join(", "),
            DurationMs(slowest),
        ),
    )
}

/// The slide of stream `name` whose (first) parent slides every `parent_slide` ms: its
/// window's slide (defaulting to the parent's), or the parent's for other operations.
/// A window and slide over a windowed parent must be multiples of the parent's slide
/// (multiples of the batch interval are checked with the other durations).
fn window_slide(
    doc: &JobDocument,
    name: &str,
    parent: &str,
    parent_slide: i64,
) -> Result<i64, JobError> {
    let stream = &doc.file.streams[name];
    let Some((window, slide)) = stream.get_ref().op.window_and_slide() else {
        return Ok(parent_slide);
    };
    for (field, d) in [("window", Some(window)), ("slide", slide)] {
        let Some(d) = d.filter(|d| d.ms() % parent_slide != 0) else {
            continue;
        };
        return Err(doc.error(
            Some(doc.field_span(stream.span(), field)),
            format!(
                "stream `{name}`: {field} = {d} is not a multiple of the slide of its parent \
                 `{parent}` ({}): a window over a windowed stream covers whole slides of it",
                DurationMs(parent_slide)
            ),
        ));
    }
    Ok(slide.map_or(parent_slide, DurationMs::ms))
}
