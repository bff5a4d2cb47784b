//! The job graph: references between sources, streams and sinks, cycles, and the
//! topological order the executor computes streams in.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::config::{ErrorPolicyConfig, JobFile};
use super::sources::{SourceConfig, MAX_VOCABULARY};
use super::text::{field_span, Problem};

fn at(span: Option<Range<usize>>, message: impl Into<String>) -> Problem {
    (span, message.into())
}

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

/// Checks names, references, cycles and window durations of the job in `text`; returns
/// the topological order.
pub(super) fn check(f: &JobFile, text: &str) -> Result<Topology, Problem> {
    check_job_section(f)?;
    check_sources(f, text)?;
    check_streams(f, text)?;
    check_sinks(f)?;
    if f.sources.is_empty() {
        return Err(at(None, "the job has no [sources.*]"));
    }
    let order = topological_order(f)?;
    let slides = super::slides::check(f, text, &order)?;
    Ok(Topology { order, slides })
}

/// Source names that are also stream names, and generator vocabularies beyond the limit.
fn check_sources(f: &JobFile, text: &str) -> Result<(), Problem> {
    for (name, source) in &f.sources {
        if f.streams.contains_key(name) {
            return Err(at(
                Some(source.span()),
                format!("`{name}` is both a source and a stream; names must be unique"),
            ));
        }
        if let SourceConfig::Generator(g) = source.get_ref() {
            if g.vocabulary > MAX_VOCABULARY {
                return Err(at(
                    Some(field_span(text, source.span(), "vocabulary")),
                    format!(
                        "source `{name}`: vocabulary = {} is more words than the generator \
                         can draw from (at most {})",
                        g.vocabulary, MAX_VOCABULARY
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The smallest `[job] max_memory`.
const MIN_MAX_MEMORY: u64 = 4 << 20;

/// `[job]`: intervals, backpressure, the memory budget and the dead-letter policy agree.
fn check_job_section(f: &JobFile) -> Result<(), Problem> {
    let batch_ms = f.job.batch_interval.get_ref().ms();
    if f.job.block_interval.ms() > batch_ms {
        return Err(at(
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
            return Err(at(
                None,
                "[job] backpressure_initial_rate must be at least 1 record per second",
            ))
        }
        Some(_) if !f.job.backpressure => {
            return Err(at(
                None,
                "[job] backpressure_initial_rate needs `backpressure = true`",
            ))
        }
        _ => {}
    }
    if f.job.max_memory.is_some_and(|m| m.0 < MIN_MAX_MEMORY) {
        return Err(at(
            None,
            "[job] max_memory must be at least 4MiB (half of it is for input and keyed state, the other half for processing a batch)",
        ));
    }
    if f.job.error_policy == ErrorPolicyConfig::DeadLetter && f.job.dead_letter.is_none() {
        return Err(at(
            None,
            "[job] error_policy = \"dead_letter\" needs `dead_letter = { path = \"...\" }`",
        ));
    }
    Ok(())
}

fn known(f: &JobFile, name: &str) -> bool {
    f.sources.contains_key(name) || f.streams.contains_key(name)
}

fn names(f: &JobFile) -> String {
    f.sources
        .keys()
        .chain(f.streams.keys())
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every stream: its parents are set once and exist, its windows are multiples of the
/// batch interval.
fn check_streams(f: &JobFile, text: &str) -> Result<(), Problem> {
    let batch_ms = f.job.batch_interval.get_ref().ms();
    for (name, stream) in &f.streams {
        let s = stream.get_ref();
        let problem = match (&s.from, &s.inputs) {
            (Some(_), Some(_)) => Some("set either `from` or `inputs`, not both"),
            (None, None) => Some("missing `from` (or `inputs`)"),
            (None, Some(v)) if v.is_empty() => Some("`inputs` is empty"),
            _ => None,
        };
        if let Some(p) = problem {
            return Err(at(Some(stream.span()), format!("stream `{name}`: {p}")));
        }
        for parent in s.parents() {
            if !known(f, parent.get_ref()) {
                return Err(at(
                    Some(parent.span()),
                    format!(
                        "stream `{name}`: unknown stream `{}` (known: {})",
                        parent.get_ref(),
                        names(f)
                    ),
                ));
            }
        }
        for (field, d) in s.op.durations() {
            if d.ms() % batch_ms != 0 {
                return Err(at(
                    Some(field_span(text, stream.span(), field)),
                    format!(
                        "stream `{name}`: {field} = {d} is not a multiple of the batch interval ({})",
                        f.job.batch_interval.get_ref()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Every sink reads a stream that exists.
fn check_sinks(f: &JobFile) -> Result<(), Problem> {
    for (name, sink) in &f.sinks {
        let from = &sink.get_ref().from;
        if !known(f, from.get_ref()) {
            return Err(at(
                Some(from.span()),
                format!(
                    "sink `{name}`: unknown stream `{}` (known: {})",
                    from.get_ref(),
                    names(f)
                ),
            ));
        }
    }
    Ok(())
}

/// Depth-first order over streams by name; a back edge is a cycle, reported in full.
fn topological_order(f: &JobFile) -> Result<Vec<String>, Problem> {
    let streams = &f.streams;
    let mut order = Vec::with_capacity(streams.len());
    let mut done = BTreeSet::new();
    let mut on_path: BTreeMap<&str, usize> = BTreeMap::new();
    let mut path: Vec<&str> = Vec::new();

    fn visit<'a>(
        f: &'a JobFile,
        name: &'a str,
        done: &mut BTreeSet<&'a str>,
        on_path: &mut BTreeMap<&'a str, usize>,
        path: &mut Vec<&'a str>,
        order: &mut Vec<String>,
    ) -> Result<(), Problem> {
        let Some(stream) = f.streams.get(name) else {
            return Ok(()); // a source
        };
        if done.contains(name) {
            return Ok(());
        }
        if let Some(&start) = on_path.get(name) {
            let mut cycle: Vec<&str> = path[start..].to_vec();
            cycle.push(name);
            return Err(at(
                Some(stream.span()),
                format!("the streams form a cycle: {}", cycle.join(" -> ")),
            ));
        }
        on_path.insert(name, path.len());
        path.push(name);
        for parent in stream.get_ref().parents() {
            visit(f, parent.get_ref(), done, on_path, path, order)?;
        }
        path.pop();
        on_path.remove(name);
        done.insert(name);
        order.push(name.to_owned());
        Ok(())
    }

    for name in streams.keys() {
        visit(f, name, &mut done, &mut on_path, &mut path, &mut order)?;
    }
    Ok(order)
}
