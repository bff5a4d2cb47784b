//! [`Bottleneck`]: which stage takes the largest share of the recent batches, named in
//! words with the plugin functions it calls, and whether the job keeps up with its
//! batch interval or falls behind (by how much per batch).

use std::collections::BTreeMap;

use serde::Serialize;

use super::graph::JobGraph;
use crate::exec::BatchReport;

/// Batches the verdict looks at (the newest).
pub const WINDOW: usize = 10;

/// The verdict on the recent batches.
#[derive(Debug, Clone, Serialize)]
pub struct Bottleneck {
    /// The stage: a stream (executor node), a sink or source name, or `writes` (the
    /// checkpoints written after batches).
    pub stage: String,
    /// `stream`, `sink`, `source` or `checkpoint`.
    pub kind: &'static str,
    /// The streams the stage runs (more than one when narrow operations were fused).
    pub streams: Vec<String>,
    /// The plugin functions those streams call.
    pub functions: Vec<String>,
    /// The stage's share of the batches' processing time, 0 to 1.
    pub share: f64,
    /// Mean processing time of the batches looked at, ms.
    pub processing_ms: f64,
    /// The batch interval, ms.
    pub batch_interval_ms: i64,
    /// Processing time beyond the batch interval, ms per batch (0 when it keeps up).
    pub behind_ms: f64,
    /// The verdict in words.
    pub text: String,
}

/// The verdict on `reports` (oldest first), or `None` before a batch did any work.
pub fn find(reports: &[&BatchReport], graph: &JobGraph, batch_ms: i64) -> Option<Bottleneck> {
    let recent = &reports[reports.len().saturating_sub(WINDOW)..];
    let total: f64 = recent.iter().map(|r| r.processing.as_secs_f64()).sum();
    if recent.is_empty() || total <= 0.0 {
        return None;
    }
    let mut stages: BTreeMap<(&'static str, &str), f64> = BTreeMap::new();
    for r in recent {
        for s in &r.sources {
            *stages.entry(("source", &s.name)).or_default() += s.took.as_secs_f64();
        }
        for s in &r.streams {
            *stages.entry(("stream", &s.name)).or_default() += s.took.as_secs_f64();
        }
        for s in &r.sinks {
            *stages.entry(("sink", &s.name)).or_default() += s.took.as_secs_f64();
        }
        if let Some(c) = &r.checkpoint {
            *stages.entry(("checkpoint", "writes")).or_default() += c.took.as_secs_f64();
        }
    }
    let ((kind, name), took) = stages.into_iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
    let share = (took / total).min(1.0);
    let processing_ms = total * 1e3 / recent.len() as f64;
    let behind_ms = (processing_ms - batch_ms as f64).max(0.0);
    let (streams, functions) = if kind == "stream" {
        let members = graph.members(name);
        let streams: Vec<String> = members.iter().map(|s| s.name.clone()).collect();
        let functions = members.iter().flat_map(|s| s.functions.clone()).collect();
        (streams, functions)
    } else {
        (Vec::new(), Vec::new())
    };
    let text = verdict(
        kind,
        name,
        &streams,
        &functions,
        share,
        processing_ms,
        batch_ms,
    );
    Some(Bottleneck {
        stage: name.to_owned(),
        kind,
        streams,
        functions,
        share,
        processing_ms,
        batch_interval_ms: batch_ms,
        behind_ms,
        text,
    })
}

/// "`pairs` (plugin `words.split_pairs`) takes 71 % of each batch; the job keeps up".
fn verdict(
    kind: &str,
    name: &str,
    streams: &[String],
    functions: &[String],
    share: f64,
    processing_ms: f64,
    batch_ms: i64,
) -> String {
    let quote = |v: &[String]| {
        v.iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut who = match kind {
        "stream" => format!("`{name}`"),
        "checkpoint" => "writing checkpoints".to_owned(),
        other => format!("{other} `{name}`"),
    };
    let mut notes = Vec::new();
    if streams.len() > 1 {
        notes.push(format!("fused: {}", quote(streams)));
    }
    match functions.len() {
        0 => {}
        1 => notes.push(format!("plugin {}", quote(functions))),
        _ => notes.push(format!("plugins {}", quote(functions))),
    }
    if !notes.is_empty() {
        who.push_str(&format!(" ({})", notes.join("; ")));
    }
    let pace = if processing_ms <= batch_ms as f64 {
        format!(
            "the job keeps up ({} of processing per {} batch)",
            seconds(processing_ms),
            seconds(batch_ms as f64)
        )
    } else {
        format!(
            "the job falls behind by {} per batch ({} of processing per {} batch)",
            seconds(processing_ms - batch_ms as f64),
            seconds(processing_ms),
            seconds(batch_ms as f64)
        )
    };
    format!("{who} takes {:.0} % of each batch; {pace}", share * 100.0)
}

/// `0.4 s`, `120 ms`, `3.2 ms`.
fn seconds(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_names_the_stage_its_plugin_and_the_pace() {
        let keeps = verdict(
            "stream",
            "pairs",
            &["pairs".into()],
            &["words.split_pairs".into()],
            0.71,
            120.0,
            1000,
        );
        assert_eq!(
            keeps,
            "`pairs` (plugin `words.split_pairs`) takes 71 % of each batch; the job keeps up \
             (120 ms of processing per 1.0 s batch)"
        );
        let checkpoints = verdict("checkpoint", "writes", &[], &[], 0.5, 10.0, 100);
        assert_eq!(
            checkpoints,
            "writing checkpoints takes 50 % of each batch; the job keeps up (10 ms of \
             processing per 100 ms batch)"
        );
        let behind = verdict("sink", "out", &[], &[], 0.9, 1400.0, 1000);
        assert_eq!(
            behind,
            "sink `out` takes 90 % of each batch; the job falls behind by 400 ms per batch \
             (1.4 s of processing per 1.0 s batch)"
        );
    }
}
