//! The job graph: references between sources, streams and sinks, cycles, and the
//! topological order the executor computes streams in.

use std::collections::{BTreeMap, BTreeSet};

use super::{JobDocument, JobError};

/// The checked shape of a job graph.
#[derive(Debug, Default, Clone)]
pub struct Topology {
    /// Derived streams in an order where every stream comes after its parents (sources
    /// come first and are not listed).
    pub order: Vec<String>,
    /// The slide of every source and stream in milliseconds (Spark's `slideDuration`):
    /// the times at which it produces a batch are the multiples of it.
    pub slides: BTreeMap<String, i64>,
}

/// Checks names, references, cycles, window durations and slides; returns the topological
/// order and the slides.
pub(super) fn check(doc: &JobDocument) -> Result<Topology, JobError> {
    let f = &doc.file;
    let batch_ms = doc.batch_ms();
    if f.job.block_interval.ms() > batch_ms {
        return Err(doc.error(
            None,
            format!(
                "[job] block_interval ({}) is longer than batch_interval ({})",
                f.job.block_interval,
                f.job.batch_interval.get_ref()
            ),
        ));
    }
    match f.job.backpressure_initial_rate {
        Some(0) => {
            return Err(doc.error(
                None,
                "[job] backpressure_initial_rate must be at least 1 record per second",
            ))
        }
        Some(_) if !f.job.backpressure => {
            return Err(doc.error(
                None,
                "[job] backpressure_initial_rate needs `backpressure = true`",
            ))
        }
        _ => {}
    }
    if f.job.error_policy == super::ErrorPolicyConfig::DeadLetter && f.job.dead_letter.is_none() {
        return Err(doc.error(
            None,
            "[job] error_policy = \"dead_letter\" needs `dead_letter = { path = \"...\" }`",
        ));
    }
    check_sources(doc)?;
    let known = |name: &str| f.sources.contains_key(name) || f.streams.contains_key(name);
    let names = || {
        f.sources
            .keys()
            .chain(f.streams.keys())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (name, stream) in &f.streams {
        let s = stream.get_ref();
        match (&s.from, &s.inputs) {
            (Some(_), Some(_)) => {
                return Err(doc.error(
                    Some(stream.span()),
                    format!("stream `{name}`: set either `from` or `inputs`, not both"),
                ))
            }
            (None, None) => {
                return Err(doc.error(
                    Some(stream.span()),
                    format!("stream `{name}`: missing `from` (or `inputs`)"),
                ))
            }
            (None, Some(v)) if v.is_empty() => {
                return Err(doc.error(
                    Some(stream.span()),
                    format!("stream `{name}`: `inputs` is empty"),
                ))
            }
            _ => {}
        }
        for parent in s.parents() {
            if !known(parent.get_ref()) {
                return Err(doc.error(
                    Some(parent.span()),
                    format!(
                        "stream `{name}`: unknown stream `{}` (known: {})",
                        parent.get_ref(),
                        names()
                    ),
                ));
            }
        }
        for (field, d) in s.op.durations() {
            if d.ms() % batch_ms != 0 {
                return Err(doc.error(
                    Some(doc.field_span(stream.span(), field)),
                    format!(
                        "stream `{name}`: {field} = {d} is not a multiple of the batch interval ({})",
                        f.job.batch_interval.get_ref()
                    ),
                ));
            }
        }
    }
    for (name, sink) in &f.sinks {
        let from = &sink.get_ref().from;
        if !known(from.get_ref()) {
            return Err(doc.error(
                Some(from.span()),
                format!(
                    "sink `{name}`: unknown stream `{}` (known: {})",
                    from.get_ref(),
                    names()
                ),
            ));
        }
    }
    if f.sources.is_empty() {
        return Err(doc.error(None, "the job has no [sources.*]"));
    }
    let order = topological_order(doc)?;
    let slides = super::slides::check(doc, &order)?;
    Ok(Topology { order, slides })
}

impl JobDocument {
    /// Checks that running the job would compute something: it has a sink. (Spark refuses
    /// to start such a job: "No output operations registered, so nothing to execute".)
    /// Not part of [`JobDocument::load`], since a library user may drive the streams
    /// without sinks.
    ///
    /// # Errors
    /// A [`JobError`] about the file, suggesting a sink for its last stream.
    pub fn check_has_sink(&self) -> Result<(), JobError> {
        if !self.file.sinks.is_empty() {
            return Ok(());
        }
        let last = self
            .topology
            .order
            .last()
            .or_else(|| self.file.sources.keys().next())
            .map_or("STREAM", String::as_str);
        Err(self.error(
            None,
            format!(
                "the job has no sinks, so running it would compute nothing (Spark: \"No \
                 output operations registered, so nothing to execute\"). Add one, e.g. \
                 `[sinks.out]` with `from = \"{last}\"` and `kind = \"print\"`"
            ),
        ))
    }
}

/// Source names that are also stream names, and generator vocabularies beyond the limit.
fn check_sources(doc: &JobDocument) -> Result<(), JobError> {
    let f = &doc.file;
    for (name, source) in &f.sources {
        if f.streams.contains_key(name) {
            return Err(doc.error(
                Some(source.span()),
                format!("`{name}` is both a source and a stream; names must be unique"),
            ));
        }
        if let super::SourceConfig::Generator(g) = source.get_ref() {
            if g.vocabulary > super::MAX_VOCABULARY {
                return Err(doc.error(
                    Some(doc.field_span(source.span(), "vocabulary")),
                    format!(
                        "source `{name}`: vocabulary = {} is more words than the generator \
                         can draw from (at most {})",
                        g.vocabulary,
                        super::MAX_VOCABULARY
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Depth-first order over streams by name; a back edge is a cycle, reported in full.
fn topological_order(doc: &JobDocument) -> Result<Vec<String>, JobError> {
    let streams = &doc.file.streams;
    let mut order = Vec::with_capacity(streams.len());
    let mut done = BTreeSet::new();
    let mut on_path: BTreeMap<&str, usize> = BTreeMap::new();
    let mut path: Vec<&str> = Vec::new();

    fn visit<'a>(
        doc: &'a JobDocument,
        name: &'a str,
        done: &mut BTreeSet<&'a str>,
        on_path: &mut BTreeMap<&'a str, usize>,
        path: &mut Vec<&'a str>,
        order: &mut Vec<String>,
    ) -> Result<(), JobError> {
        let Some(stream) = doc.file.streams.get(name) else {
            return Ok(()); // a source
        };
        if done.contains(name) {
            return Ok(());
        }
        if let Some(&start) = on_path.get(name) {
            let mut cycle: Vec<&str> = path[start..].to_vec();
            cycle.push(name);
            return Err(doc.error(
                Some(stream.span()),
                format!("the streams form a cycle: {}", cycle.join(" -> ")),
            ));
        }
        on_path.insert(name, path.len());
        path.push(name);
        for parent in stream.get_ref().parents() {
            visit(doc, parent.get_ref(), done, on_path, path, order)?;
        }
        path.pop();
        on_path.remove(name);
        done.insert(name);
        order.push(name.to_owned());
        Ok(())
    }

    for name in streams.keys() {
        visit(doc, name, &mut done, &mut on_path, &mut path, &mut order)?;
    }
    Ok(order)
}
