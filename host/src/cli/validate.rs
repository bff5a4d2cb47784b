//! `sluice validate JOB`: checks a job file without running it, loading its plugins.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sluice::exec::{Plan, PlanMode};
use sluice::job::JobDocument;
use sluice::wasm::{RuntimeConfig, WasmRuntime};

/// `sluice validate`.
#[derive(Debug, Args)]
pub struct ValidateCommand {
    /// The job file (TOML).
    job: PathBuf,
}

impl ValidateCommand {
    /// Checks the job: syntax, fields, references, cycles, windows and slides, plugins
    /// and their functions, sources' data, output and checkpoint directories, that it has
    /// a sink. Prints a summary on success.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let doc = JobDocument::load(&self.job)?;
        let runtime = WasmRuntime::new(RuntimeConfig::from_env())?;
        let plan = Plan::build(&doc, &runtime, PlanMode::Validate)?;
        doc.check_has_sink()?;
        println!(
            "{}: ok: job `{}`, {} source(s), {} stream(s) in {} stage(s), {} sink(s), {} plugin(s)",
            self.job.display(),
            plan.name,
            plan.sources.len(),
            doc.topology.order.len(),
            plan.nodes.len(),
            doc.file.sinks.len(),
            plan.plugins.len()
        );
        Ok(ExitCode::SUCCESS)
    }
}
