//! `[streams.NAME]`: one operation over parent streams. The operation's settings are an
//! enum tagged by `op`; to add an operation, add a variant here and an arm in
//! `ops::registry::build` (see `docs/architecture.md`).

use serde::Deserialize;
use toml::Spanned;

use super::units::DurationMs;
use crate::ops::config::{
    CombineConfig, EventTimeConfig, KeyedConfig, MapWithStateConfig, ReduceConfig,
    ReduceWindowConfig, RepartitionConfig, TransformConfig, UpdateStateConfig, WindowConfig,
};
use crate::ops::json::config::{FilterConfig, KeyByConfig, SelectConfig};

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
    /// Keeps the records the plugin returns (`fn`), or those whose `field` compares true
    /// (`cmp`, `value`), in the host.
    Filter(FilterConfig),
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
    // Built-in record operations, in the host (settings in `ops::json::config`).
    /// Pairs `[key, value]` from fields of each record.
    KeyBy(KeyByConfig),
    /// Keeps and/or renames fields.
    Select(SelectConfig),
    /// A string record (a text line) becomes the value its JSON encodes.
    ParseJson(NoArgs),
    /// Each record becomes a string, its JSON text.
    ToJson(NoArgs),
    /// One record per batch: the number of records (`0` for an empty batch).
    Count(NoArgs),
    /// Combines the values of each key with a built-in (`sum`, `count`, `min`, `max`) or a
    /// plugin reduce function, through a hash shuffle.
    ReduceByKey(ReduceByKeyConfig),
    // DStream operations of `ops/` (settings in `ops::config`, built by `ops::build`).
    /// The records of every parent, first parent first.
    Union(NoArgs),
    /// Pairs `[record, count]` per batch.
    CountByValue(KeyedConfig),
    /// The batch reduced to one record (none for an empty batch).
    Reduce(ReduceConfig),
    /// Pairs `[key, [values]]` per batch.
    GroupByKey(KeyedConfig),
    /// Per-key combiners (create / merge_value / merge_combiners).
    CombineByKey(CombineConfig),
    /// Inner join of two pair streams: `[k, [v, w]]`.
    Join(KeyedConfig),
    /// Left outer join: `[k, [v, nil]]` without a match.
    LeftOuterJoin(KeyedConfig),
    /// Right outer join: `[k, [nil, w]]` without a match.
    RightOuterJoin(KeyedConfig),
    /// Full outer join.
    FullOuterJoin(KeyedConfig),
    /// `[k, [[v...], [w...]]]` per key of either parent.
    Cogroup(KeyedConfig),
    /// The same records over a number of partitions.
    Repartition(RepartitionConfig),
    /// A plugin function over each whole batch.
    Transform(TransformConfig),
    /// A plugin function over the batches of two parents.
    TransformWith(TransformConfig),
    /// A plugin function over the batches of any number of parents.
    ContextTransform(TransformConfig),
    /// The union of the batches in a sliding window.
    Window(WindowConfig),
    /// The number of records in the window.
    CountByWindow(WindowConfig),
    /// The window reduced to one record.
    ReduceByWindow(ReduceWindowConfig),
    /// Values reduced by key over the window, incrementally with `inv_fn`.
    ReduceByKeyAndWindow(ReduceWindowConfig),
    /// Pairs `[record, count]` over the window.
    CountByValueAndWindow(WindowConfig),
    /// Pairs `[key, [values]]` over the window.
    GroupByKeyAndWindow(WindowConfig),
    /// Keyed state updated every batch, emitted whole.
    UpdateStateByKey(UpdateStateConfig),
    /// Per-record mapping with keyed state (touched keys only), idle timeouts.
    MapWithState(MapWithStateConfig),
    /// Every `[key, state]` of a `map_with_state` parent, each batch.
    StateSnapshots(NoArgs),
    /// Windows on a record timestamp, closed by a watermark.
    EventTimeWindow(EventTimeConfig),
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
            OpConfig::KeyBy(_) => "key_by",
            OpConfig::Select(_) => "select",
            OpConfig::ParseJson(_) => "parse_json",
            OpConfig::ToJson(_) => "to_json",
            OpConfig::Count(_) => "count",
            OpConfig::ReduceByKey(_) => "reduce_by_key",
            OpConfig::Union(_) => "union",
            OpConfig::CountByValue(_) => "count_by_value",
            OpConfig::Reduce(_) => "reduce",
            OpConfig::GroupByKey(_) => "group_by_key",
            OpConfig::CombineByKey(_) => "combine_by_key",
            OpConfig::Join(_) => "join",
            OpConfig::LeftOuterJoin(_) => "left_outer_join",
            OpConfig::RightOuterJoin(_) => "right_outer_join",
            OpConfig::FullOuterJoin(_) => "full_outer_join",
            OpConfig::Cogroup(_) => "cogroup",
            OpConfig::Repartition(_) => "repartition",
            OpConfig::Transform(_) => "transform",
            OpConfig::TransformWith(_) => "transform_with",
            OpConfig::ContextTransform(_) => "context_transform",
            OpConfig::Window(_) => "window",
            OpConfig::CountByWindow(_) => "count_by_window",
            OpConfig::ReduceByWindow(_) => "reduce_by_window",
            OpConfig::ReduceByKeyAndWindow(_) => "reduce_by_key_and_window",
            OpConfig::CountByValueAndWindow(_) => "count_by_value_and_window",
            OpConfig::GroupByKeyAndWindow(_) => "group_by_key_and_window",
            OpConfig::UpdateStateByKey(_) => "update_state_by_key",
            OpConfig::MapWithState(_) => "map_with_state",
            OpConfig::StateSnapshots(_) => "state_snapshots",
            OpConfig::EventTimeWindow(_) => "event_time_window",
        }
    }

    /// The window length and slide of a windowed operation (Spark's `window`,
    /// `reduceByKeyAndWindow`, …); `None` for the others. `event_time_window`'s windows
    /// are in event time, not batch time, so it is not one.
    pub fn window_and_slide(&self) -> Option<(DurationMs, Option<DurationMs>)> {
        match self {
            OpConfig::Window(c)
            | OpConfig::CountByWindow(c)
            | OpConfig::CountByValueAndWindow(c)
            | OpConfig::GroupByKeyAndWindow(c) => Some((c.window, c.slide)),
            OpConfig::ReduceByWindow(c) | OpConfig::ReduceByKeyAndWindow(c) => {
                Some((c.window, c.slide))
            }
            _ => None,
        }
    }

    /// The durations that must be multiples of the batch interval (windows, slides), with
    /// their field names. `sluice validate` checks them.
    pub fn durations(&self) -> Vec<(&'static str, DurationMs)> {
        match self.window_and_slide() {
            Some((w, s)) => {
                let mut d = vec![("window", w)];
                d.extend(s.map(|s| ("slide", s)));
                d
            }
            None => Vec::new(),
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
