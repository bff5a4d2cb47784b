//! Integration tests of the engine through the real `sluice` binary and the library:
//! job files, sources (queue, files, TCP), operators, sinks, error policies.

mod support;

mod backpressure;
mod broken_jobs;
mod combine_hint;
mod component_jobs;
mod errors_once;
mod examples;
mod fused_keyed;
mod json_ops;
mod logging;
mod plugin_init;
mod plugin_jobs;
mod queue_jobs;
mod quick_start;
mod sources;
mod start_checks;
mod stop;
