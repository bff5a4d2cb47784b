//! Job-file settings of the operations (config types only; `ops::registry` builds the
//! operators). Each struct is the table of one `[streams.NAME]` with `op = "..."`.

use serde::Deserialize;

use super::units::DurationMs;

/// A function: a built-in name (`sum`) or `plugin.function`. (Plain strings: serde loses
/// spans inside tagged enums; `JobDocument::field_span` finds the place for errors.)
pub type FnRef = String;

/// `count_by_value`, `group_by_key`, the joins and `cogroup`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyedConfig {
    /// Output partitions; default: the job's `partitions`.
    #[serde(default)]
    pub partitions: Option<usize>,
}

/// `reduce`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceConfig {
    /// `sum`, `count`, `min`, `max`, or `plugin.function` (reduce shape).
    #[serde(rename = "fn")]
    pub func: FnRef,
}

/// `combine_by_key`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CombineConfig {
    /// A built-in (`sum`, `count`, `min`, `max`) or `plugin.NAME`, meaning the plugin's
    /// `NAME_create` (transform), `NAME_merge_value` and `NAME_merge_combiners` (reduce).
    #[serde(rename = "fn")]
    pub func: FnRef,
    /// Output partitions; default: the job's `partitions`.
    #[serde(default)]
    pub partitions: Option<usize>,
}

/// `repartition`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepartitionConfig {
    /// The number of output partitions.
    pub partitions: usize,
}

/// `transform`, `transform_with`, `context_transform`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformConfig {
    /// `plugin.function` (transform shape), called once per batch.
    #[serde(rename = "fn")]
    pub func: FnRef,
}

/// `window`, `count_by_window`, `count_by_value_and_window`, `group_by_key_and_window`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Window length, a multiple of the batch interval.
    pub window: DurationMs,
    /// Slide, a multiple of the batch interval; default: the batch interval.
    #[serde(default)]
    pub slide: Option<DurationMs>,
    /// Output partitions of keyed windows; default: the job's `partitions`.
    #[serde(default)]
    pub partitions: Option<usize>,
}

/// `reduce_by_window`, `reduce_by_key_and_window`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceWindowConfig {
    /// `sum`, `count`, `min`, `max`, or `plugin.function` (reduce shape).
    #[serde(rename = "fn")]
    pub func: FnRef,
    /// The inverse: `sub` (of `sum`/`count`) or `plugin.function` (inverse_reduce shape);
    /// makes the window incremental.
    #[serde(default)]
    pub inv_fn: Option<FnRef>,
    /// `nonzero` or `plugin.function` (transform shape over `[key, value]`), applied to
    /// the window's result; what it keeps is the next state (needs `inv_fn`).
    #[serde(default)]
    pub filter_fn: Option<FnRef>,
    /// Window length, a multiple of the batch interval.
    pub window: DurationMs,
    /// Slide, a multiple of the batch interval; default: the batch interval.
    #[serde(default)]
    pub slide: Option<DurationMs>,
    /// Output partitions; default: the job's `partitions`.
    #[serde(default)]
    pub partitions: Option<usize>,
}

/// `update_state_by_key`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateStateConfig {
    /// A built-in (`sum`, `count`, `min`, `max`: running aggregates) or `plugin.function`
    /// (update_state shape).
    #[serde(rename = "fn")]
    pub func: FnRef,
    /// State partitions; default: the job's `partitions`.
    #[serde(default)]
    pub partitions: Option<usize>,
    /// Initial state: pairs `[key, state]`, as a TOML array or a JSON string.
    #[serde(default)]
    pub initial_state: Option<toml::Value>,
}

/// `map_with_state`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapWithStateConfig {
    /// A built-in (`sum`, `count`, `min`, `max`: running aggregates emitting `[key, state]`)
    /// or `plugin.function` (update_state shape).
    #[serde(rename = "fn")]
    pub func: FnRef,
    /// State partitions; default: the job's `partitions`.
    #[serde(default)]
    pub partitions: Option<usize>,
    /// Idle timeout: keys not updated for this long are timed out.
    #[serde(default)]
    pub timeout: Option<DurationMs>,
    /// How often idle keys are looked for; default: 10 batch intervals.
    #[serde(default)]
    pub scan_interval: Option<DurationMs>,
    /// Initial state: pairs `[key, state]`, as a TOML array or a JSON string.
    #[serde(default)]
    pub initial_state: Option<toml::Value>,
}

/// `event_time_window`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTimeConfig {
    /// The field with the event time in ms (of the record, or of a pair's value).
    pub time_field: String,
    /// Window length.
    pub window: DurationMs,
    /// Slide; default: the window (tumbling).
    #[serde(default)]
    pub slide: Option<DurationMs>,
    /// How far the watermark trails the largest event time; default 0.
    #[serde(default)]
    pub allowed_lateness: Option<DurationMs>,
    /// Reduce per key and window: a built-in or `plugin.function` (pairs only).
    #[serde(default, rename = "fn")]
    pub func: Option<FnRef>,
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
