//! Runs a case's job through the real engine (plan, queue sources, executor) on the
//! virtual clock and collects each output batch with its time.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use sluice::exec::{ExecSettings, Executor, Plan, PlanMode};
use sluice::job::JobDocument;
use sluice::ops::Slice;
use sluice::ops::{ErrorPolicy, OpContext, Operator, StreamValue};
use sluice::record::{msgpack_to_json, Batch};
use sluice::source::SourceSpec;
use sluice::wasm::WasmRuntime;

use crate::job::CaseJob;

/// One output batch.
#[derive(Debug, Clone)]
pub struct Output {
    /// Batch time, ms.
    pub time: i64,
    /// Records as JSON.
    pub records: Vec<Value>,
    /// Number of partitions.
    pub partitions: usize,
}

/// What a run collected.
#[derive(Debug, Default)]
pub struct Collected {
    /// Outputs of the op's (final) stream at every valid time.
    pub outputs: Vec<Output>,
    /// Outputs of the state snapshots stream.
    pub states: Vec<Output>,
}

fn to_output(time: i64, b: &Batch) -> Result<Output> {
    let records = b
        .records()
        .map(msgpack_to_json)
        .collect::<Result<_, _>>()
        .context("output record")?;
    Ok(Output {
        time,
        records,
        partitions: b.partitions.len(),
    })
}

/// How many batches to run and when to stop early.
pub struct RunSpec {
    /// Batches to run at most.
    pub batches: usize,
    /// Stop once this many non-empty outputs were collected (`first_n_nonempty`).
    pub stop_after_nonempty: Option<usize>,
    /// `slice` queries `[from, to]` over the op stream's remembered batches.
    pub slice_queries: Option<Vec<(i64, i64)>>,
}

/// Runs the job; an error is a build or run failure (which `expect_error` cases want).
pub fn run(
    runtime: &Arc<WasmRuntime>,
    dir: &Path,
    job: &CaseJob,
    spec: &RunSpec,
) -> Result<Collected> {
    let path = dir.join("job.toml");
    let doc = JobDocument::parse(&path, job.toml.clone()).map_err(|e| anyhow!("{e}"))?;
    let plan = Plan::build(&doc, runtime, PlanMode::Validate).map_err(|e| anyhow!("{e}"))?;
    let mut names = Vec::new();
    let mut sources = Vec::new();
    for (name, s) in plan.sources {
        let SourceSpec::Direct(d) = s else {
            bail!("source `{name}` is not a queue")
        };
        names.push(name);
        sources.push(d);
    }
    let settings = ExecSettings {
        policy: plan.policy,
        batch_ms: plan.batch_ms,
        zero_time: 0,
        default_partitions: plan.default_partitions,
    };
    let mut exec = Executor::new(names, plan.nodes, Vec::new(), None, settings);
    exec.keep_last_values();
    let mut slice = spec
        .slice_queries
        .as_ref()
        .map(|_| Slice::new(&job.output, plan.batch_ms, i64::MAX / 4));
    let rejected = Mutex::new(Vec::new());
    let mut got = Collected::default();
    for i in 1..=spec.batches as i64 {
        let time = i * plan.batch_ms;
        let inputs = sources
            .iter_mut()
            .map(|s| s.next_batch(time))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("{e}"))?;
        exec.run_batch(time, inputs).map_err(|e| anyhow!("{e}"))?;
        let value = exec
            .last_value(&job.output)
            .cloned()
            .ok_or_else(|| anyhow!("no stream `{}`", job.output))?;
        if let Some(op) = slice.as_mut() {
            let cx = OpContext {
                stream: &job.output,
                time,
                zero_time: 0,
                batch_ms: plan.batch_ms,
                default_partitions: plan.default_partitions,
                policy: ErrorPolicy::Fail,
                rejected: &rejected,
            };
            op.on_batch(std::slice::from_ref(&value), &cx)?;
            continue;
        }
        match &value {
            StreamValue::Rdd(b) => got.outputs.push(to_output(time, b)?),
            // A valid time without an RDD: no output operator runs (as in Spark).
            StreamValue::NoRdd | StreamValue::NotValid => {}
        }
        if let Some(state) = &job.state {
            if let Some(StreamValue::Rdd(b)) = exec.last_value(state) {
                got.states.push(to_output(time, b)?);
            }
        }
        if let Some(n) = spec.stop_after_nonempty {
            if got.outputs.iter().filter(|o| !o.records.is_empty()).count() >= n {
                break;
            }
        }
    }
    if let (Some(op), Some(queries)) = (slice, &spec.slice_queries) {
        let handle = op.handle();
        for &(from, to) in queries {
            let batches = handle.slice(from, to)?;
            let mut records = Vec::new();
            for (_, b) in &batches {
                records.extend(to_output(0, b)?.records);
            }
            got.outputs.push(Output {
                time: to,
                records,
                partitions: 0,
            });
        }
    }
    Ok(got)
}
