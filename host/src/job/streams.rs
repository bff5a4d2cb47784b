//! `[streams.NAME]`: one operation over parent streams. The operation's settings are an
//! enum tagged by `op`; to add an operation, add a variant here and an arm in
//! `ops::registry::build` (see `docs/architecture.md`).

use serde::Deserialize;
use toml::Spanned;

use super::units::DurationMs;

/// A derived stream.
#[derive(Debug, Deserialize)]
pub struct StreamConfig {
    /// The parent stream, for one-input operations.
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    /// The parent streams, in order, for multi-input operations (`union`, joins).
    #[serde(default)]
    pub inputs: Option<Vec<Spanned<String>>>,
    /// The operation and its settings.
    #[serde(flatten)]
    pub op: OpConfig,
}

impl StreamConfig {
    /// The parents, in order (`from` first, then `inputs`).
    pub fn parents(&self) -> Vec<&Spanned<String>> {
        self.from
            .iter()
            .chain(self.inputs.iter().flatten())
            .collect()
    }
}

/// A function: a built-in name (`sum`) or `plugin.function`. (Plain strings: serde loses
/// spans inside tagged enums; `JobDocument::field_span` finds the place for errors.)
pub type FnRef = String;

/// The operations, tagged by `op`.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OpConfig {
    /// One record in, one out: a plugin transform function.
    Map(FnOp),
    /// Keeps the records the plugin returns.
    Filter(FnOp),
    /// One record in, any number out.
    FlatMap(FnOp),
    /// The plugin sees each whole partition (also empty ones).
    MapPartitions(FnOp),
    /// On pairs `[k, v]`: a transform that maps each value and keeps the key (SDK
    /// `map_values!`).
    MapValues(FnOp),
    /// On pairs `[k, v]`: a transform that gives `[k, w]` for each `w` of `f(v)` (SDK
    /// `flat_map_values!`).
    FlatMapValues(FnOp),
    /// Each partition becomes one record: the array of its records.
    Glom(NoArgs),
    /// The stream unchanged.
    Identity(NoArgs),
    /// One record per batch: the number of records (`0` for an empty batch).
    Count(NoArgs),
    /// Combines the values of each key with a built-in (`sum`, `count`, `min`, `max`) or a
    /// plugin reduce function, through a hash shuffle.
    ReduceByKey(ReduceByKeyConfig),
    /// The parents' batches, concatenated in the order of `inputs`.
    Union(NoArgs),
    /// The union of the parent's batches in the window `(t - window, t]`, every `slide`.
    Window(WindowConfig),
}

impl OpConfig {
    /// The operation's name as written in job files.
    pub fn name(&self) -> &'static str {
        match self {
            OpConfig::Map(_) => "map",
            OpConfig::Filter(_) => "filter",
            OpConfig::FlatMap(_) => "flat_map",
            OpConfig::MapPartitions(_) => "map_partitions",
            OpConfig::MapValues(_) => "map_values",
            OpConfig::FlatMapValues(_) => "flat_map_values",
            OpConfig::Glom(_) => "glom",
            OpConfig::Identity(_) => "identity",
            OpConfig::Count(_) => "count",
            OpConfig::ReduceByKey(_) => "reduce_by_key",
            OpConfig::Union(_) => "union",
            OpConfig::Window(_) => "window",
        }
    }

    /// The durations that must be multiples of the batch interval (windows, slides), with
    /// their field names. `sluice validate` checks them.
    pub fn durations(&self) -> Vec<(&'static str, DurationMs)> {
        match self {
            OpConfig::Window(w) => {
                let mut d = vec![("window", w.window)];
                d.extend(w.slide.map(|s| ("slide", s)));
                d
            }
            _ => Vec::new(),
        }
    }
}

/// Settings of operations that take one function.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FnOp {
    /// `plugin.function`.
    #[serde(rename = "fn")]
    pub func: FnRef,
}

/// Settings of operations that take none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// `op = "reduce_by_key"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceByKeyConfig {
    /// `sum`, `count`, `min`, `max`, or `plugin.function` (reduce shape).
    #[serde(rename = "fn")]
    pub func: FnRef,
    /// Output partitions; default: the number of input partitions.
    #[serde(default)]
    pub partitions: Option<usize>,
}

/// `op = "window"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Window length, a multiple of the batch interval.
    pub window: DurationMs,
    /// Slide, a multiple of the batch interval. Default: the batch interval.
    #[serde(default)]
    pub slide: Option<DurationMs>,
}
