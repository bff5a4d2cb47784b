//! [`Plan`]: the runtime graph built from a checked job file — loaded plugins, sources,
//! operators (narrow chains fused), sinks — in the order the executor runs them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ExecError;
use crate::job::{ErrorPolicyConfig, JobDocument, PluginConfig};
use crate::ops::{self, BuildContext, Built, ErrorPolicy, NarrowChain, Operator, SharedLinks};
use sluice_abi::Combine;

use crate::sink::{self, DeadLetterSink, Sink};
use crate::source::{self, SourceSpec};
use crate::wasm::{Limits, LogSink, Plugin, WasmRuntime};

/// Whether the plan is for running or only for checking (`sluice validate` opens no
/// output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanMode {
    /// Open sinks and the dead-letter directory.
    Run,
    /// Build everything else, open nothing for writing.
    Validate,
}

/// One derived stream (or a fused chain of them).
pub struct Node {
    /// The stream's name (the last one of a fused chain).
    pub name: String,
    /// Indices of the parents' values (sources first, then nodes).
    pub inputs: Vec<usize>,
    /// The operator.
    pub op: Box<dyn Operator>,
}

/// A sink and the value it reads.
pub struct SinkSlot {
    /// The sink's name.
    pub name: String,
    /// Index of the stream value it writes.
    pub input: usize,
    /// The sink.
    pub sink: Box<dyn Sink>,
}

/// A job ready to run.
pub struct Plan {
    /// The job's name.
    pub name: String,
    /// Batch interval, ms.
    pub batch_ms: i64,
    /// Block interval of receivers, ms.
    pub block_ms: i64,
    /// Partitions of received batches, when set in the job.
    pub receiver_partitions: Option<usize>,
    /// Partitions for shuffles that do not set their own count.
    pub default_partitions: usize,
    /// The error policy.
    pub policy: ErrorPolicy,
    /// Sources by value index (0..sources.len()).
    pub sources: Vec<(String, SourceSpec)>,
    /// Streams in topological order; node i has value index `sources.len() + i`.
    pub nodes: Vec<Node>,
    /// Sinks, in name order.
    pub sinks: Vec<SinkSlot>,
    /// Where rejected records go under `dead_letter`.
    pub dead_letter: Option<DeadLetterSink>,
    /// The loaded plugins.
    pub plugins: BTreeMap<String, Plugin>,
}

impl Plan {
    /// Builds the plan: loads plugins, opens sources, builds and fuses operators, opens
    /// sinks (in [`PlanMode::Run`]).
    ///
    /// # Errors
    /// [`ExecError`] naming the file, line and column, the plugin, the source or the sink.
    pub fn build(
        doc: &JobDocument,
        runtime: &Arc<WasmRuntime>,
        mode: PlanMode,
    ) -> Result<Plan, ExecError> {
        Plan::build_with_log(doc, runtime, mode, None)
    }

    /// [`Plan::build`], with the plugins' log lines sent to `plugin_log` (see
    /// [`Plugin::load_with_log`]).
    ///
    /// # Errors
    /// As [`Plan::build`].
    pub fn build_with_log(
        doc: &JobDocument,
        runtime: &Arc<WasmRuntime>,
        mode: PlanMode,
        plugin_log: Option<LogSink>,
    ) -> Result<Plan, ExecError> {
        let f = &doc.file;
        if mode == PlanMode::Run {
            doc.check_has_sink()?;
        }
        let plugins = load_plugins(doc, runtime, plugin_log.as_ref())?;
        let mut sources = Vec::with_capacity(f.sources.len());
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for name in f.sources.keys() {
            index.insert(name.clone(), sources.len());
            let started = Instant::now();
            let source = source::build(doc, name)?;
            slow_start(started, "source", name);
            sources.push((name.clone(), source));
        }
        let nodes = build_nodes(doc, &plugins, &mut index)?;
        // What opening the outputs would fail on, found before anything is created.
        crate::job::preflight::output_dirs(doc)?;
        if mode == PlanMode::Validate {
            crate::job::preflight::checkpoint_dir(doc)?;
        }
        let (sinks, dead_letter) = match mode {
            PlanMode::Run => open_sinks(doc, &index)?,
            PlanMode::Validate => (Vec::new(), None),
        };
        Ok(Plan {
            name: f.job.name.clone(),
            batch_ms: doc.batch_ms(),
            block_ms: f.job.block_interval.ms(),
            receiver_partitions: f.job.partitions,
            default_partitions: f
                .job
                .partitions
                .unwrap_or_else(rayon::current_num_threads)
                .max(1),
            policy: match f.job.error_policy {
                ErrorPolicyConfig::Fail => ErrorPolicy::Fail,
                ErrorPolicyConfig::Skip => ErrorPolicy::Skip,
                ErrorPolicyConfig::DeadLetter => ErrorPolicy::DeadLetter,
            },
            sources,
            nodes,
            sinks,
            dead_letter,
            plugins,
        })
    }
}

/// A stream's operator while the plan is built: a narrow chain may still grow.
enum Pending {
    Chain(NarrowChain),
    Op(Box<dyn Operator>),
}

/// How many readers each stream has (streams and sinks): only a stream with exactly one
/// reader may disappear into a fused chain.
fn readers(doc: &JobDocument) -> BTreeMap<&str, usize> {
    let f = &doc.file;
    let mut readers: BTreeMap<&str, usize> = BTreeMap::new();
    for s in f.streams.values() {
        for p in s.get_ref().parents() {
            *readers.entry(p.get_ref().as_str()).or_default() += 1;
        }
    }
    for s in f.sinks.values() {
        *readers
            .entry(s.get_ref().from.get_ref().as_str())
            .or_default() += 1;
    }
    readers
}

/// The parent's narrow chain, when this stream is its only reader (the stream's inputs
/// become the chain's).
fn take_parent_chain(
    pending: &mut [(String, Vec<String>, Option<Pending>)],
    readers: &BTreeMap<&str, usize>,
    inputs: &mut Vec<String>,
) -> Option<NarrowChain> {
    let parent = inputs.first()?.clone();
    if readers.get(parent.as_str()) != Some(&1) {
        return None;
    }
    let slot = pending.iter_mut().find(|(n, _, _)| *n == parent)?;
    if !matches!(slot.2, Some(Pending::Chain(_))) {
        return None;
    }
    let Some(Pending::Chain(up)) = slot.2.take() else {
        return None;
    };
    *inputs = slot.1.clone();
    Some(up)
}

/// Sends the combine hint of the stream reading `chain` (its only reader) with the calls
/// of the chain's last step, unless that step's plugin opted out (`combine_hint = false`).
fn hint_chain(chain: &mut NarrowChain, how: Option<Combine>, doc: &JobDocument) {
    let (Some(how), Some(f)) = (how, chain.last_plugin_fn()) else {
        return;
    };
    let allowed = doc
        .file
        .plugins
        .get(f.plugin.name())
        .is_none_or(|p| p.get_ref().combine_hint);
    if allowed {
        tracing::debug!(streams = ?chain.streams(), hint = how.name(), "Plugin calls carry the combine hint.");
        chain.hint_combine(how);
    }
}

/// The parent's narrow chain still pending, when this stream is its only reader.
fn parent_chain<'p>(
    pending: &'p mut [(String, Vec<String>, Option<Pending>)],
    readers: &BTreeMap<&str, usize>,
    inputs: &[String],
) -> Option<&'p mut NarrowChain> {
    let [parent] = inputs else { return None };
    if readers.get(parent.as_str()) != Some(&1) {
        return None;
    }
    match pending.iter_mut().find(|(n, _, _)| n == parent)? {
        (_, _, Some(Pending::Chain(c))) => Some(c),
        _ => None,
    }
}

/// Builds every stream's operator in topological order, fusing narrow chains (and the
/// map side of a `reduce_by_key`, `update_state_by_key` or `reduce_by_key_and_window`
/// with the chain in front of it); `index` gets each node's
/// value index. A chain read only by a built-in keyed reduce carries the combine hint.
fn build_nodes(
    doc: &JobDocument,
    plugins: &BTreeMap<String, Plugin>,
    index: &mut BTreeMap<String, usize>,
) -> Result<Vec<Node>, ExecError> {
    let readers = readers(doc);
    let links = SharedLinks::default();
    let mut pending: Vec<(String, Vec<String>, Option<Pending>)> = Vec::new();
    for name in &doc.topology.order {
        let stream = doc.file.streams[name].get_ref();
        let mut inputs: Vec<String> = stream
            .parents()
            .iter()
            .map(|p| p.get_ref().clone())
            .collect();
        let cx = BuildContext {
            doc,
            stream: name,
            inputs: &inputs,
            plugins,
            links: &links,
        };
        let hint = ops::combine_hint(&stream.op);
        let node = match ops::build(&stream.op, &cx)? {
            Built::Operator(op) => {
                if let Some(up) = parent_chain(&mut pending, &readers, &inputs) {
                    hint_chain(up, hint, doc);
                }
                Pending::Op(op)
            }
            Built::ReduceByKey(mut op) => {
                if let Some(mut up) = take_parent_chain(&mut pending, &readers, &mut inputs) {
                    hint_chain(&mut up, hint, doc);
                    op.fuse_after(up);
                    tracing::debug!(stream = %name, fused = ?op.fused(), "Fused narrow operations into the shuffle's map side.");
                }
                Pending::Op(Box::new(op))
            }
            Built::TakesChain(mut op) => {
                if let Some(mut up) = take_parent_chain(&mut pending, &readers, &mut inputs) {
                    hint_chain(&mut up, hint, doc);
                    op.fuse_after(up);
                    tracing::debug!(stream = %name, fused = ?op.fused(), "Fused narrow operations into the keyed operator's map side.");
                }
                Pending::Op(op)
            }
            Built::Narrow(step) => {
                let chain = NarrowChain::new(name, step);
                Pending::Chain(
                    match take_parent_chain(&mut pending, &readers, &mut inputs) {
                        Some(up) => up.then(chain),
                        None => chain,
                    },
                )
            }
        };
        pending.push((name.clone(), inputs, Some(node)));
    }
    let sources = index.len();
    let mut nodes = Vec::with_capacity(pending.len());
    for (name, inputs, node) in pending {
        let Some(node) = node else { continue }; // fused into a later chain
        let op: Box<dyn Operator> = match node {
            Pending::Chain(c) => {
                if c.streams().len() > 1 {
                    tracing::debug!(streams = ?c.streams(), "Fused narrow operations.");
                }
                Box::new(c)
            }
            Pending::Op(op) => op,
        };
        let inputs = inputs.iter().map(|i| index[i]).collect();
        index.insert(name.clone(), sources + nodes.len());
        nodes.push(Node { name, inputs, op });
    }
    Ok(nodes)
}

/// Opens every sink and the dead-letter directory.
fn open_sinks(
    doc: &JobDocument,
    index: &BTreeMap<String, usize>,
) -> Result<(Vec<SinkSlot>, Option<DeadLetterSink>), ExecError> {
    let dir = doc
        .path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let mut sinks = Vec::new();
    for (name, s) in &doc.file.sinks {
        let s = s.get_ref();
        sinks.push(SinkSlot {
            name: name.clone(),
            input: index[s.from.get_ref()],
            sink: sink::build(name, &s.kind, &dir)?,
        });
    }
    let dead_letter = match &doc.file.job.dead_letter {
        Some(d) => Some(DeadLetterSink::new(doc.resolve(&d.path))?),
        None => None,
    };
    Ok((sinks, dead_letter))
}

/// Start-up work that takes this long is logged, so that a slow start is explained.
const SLOW_START: Duration = Duration::from_millis(500);

/// Logs the opening of `what` `name`, begun at `started`, when it was slow.
fn slow_start(started: Instant, what: &str, name: &str) {
    let took = started.elapsed();
    if took >= SLOW_START {
        tracing::info!(
            took_ms = took.as_millis() as u64,
            "Opening {what} `{name}` took long."
        );
    }
}

fn load_plugins(
    doc: &JobDocument,
    runtime: &Arc<WasmRuntime>,
    plugin_log: Option<&LogSink>,
) -> Result<BTreeMap<String, Plugin>, ExecError> {
    let mut plugins = BTreeMap::new();
    for (name, config) in &doc.file.plugins {
        let c: &PluginConfig = config.get_ref();
        let path = match (&c.path, &c.name) {
            (Some(p), None) => doc.resolve(p),
            (None, Some(uploaded)) => {
                return Err(doc
                    .error(
                        Some(config.span()),
                        format!(
                            "plugin `{name}`: `name = \"{uploaded}\"` names a plugin uploaded \
                             to `sluice serve`; to run the job here, give the module's `path`"
                        ),
                    )
                    .into())
            }
            _ => {
                return Err(doc
                    .error(
                        Some(config.span()),
                        format!("plugin `{name}`: set exactly one of `path` and `name`"),
                    )
                    .into())
            }
        };
        if !path.is_file() {
            return Err(doc
                .error(
                    Some(config.span()),
                    format!("plugin `{name}`: no such file {}", path.display()),
                )
                .into());
        }
        let mut limits = Limits::default();
        if let Some(t) = c.limits.timeout {
            limits.timeout = t.to_std();
        }
        if let Some(m) = c.limits.memory {
            limits.memory_bytes = m.0;
        }
        if let Some(o) = c.limits.output {
            limits.output_bytes = o.0;
        }
        limits.fuel = c.limits.fuel;
        let params = serde_json::to_value(&c.params)
            .map_err(|e| doc.error(Some(config.span()), format!("plugin `{name}`: params: {e}")))?;
        let started = Instant::now();
        let log = plugin_log.cloned();
        let plugin =
            Plugin::load_with_log(runtime, name, &path, &params, limits, log).map_err(|cause| {
                ExecError::Plugin {
                    plugin: name.clone(),
                    cause,
                }
            })?;
        slow_start(started, "plugin", name);
        plugins.insert(name.clone(), plugin);
    }
    Ok(plugins)
}
