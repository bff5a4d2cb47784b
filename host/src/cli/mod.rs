//! Subcommands of the `sluice` CLI, one module each.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod checkpoint;
mod client;
mod logging;
mod plugin;
mod plugin_build;
mod plugin_init;
mod run;
mod serve;
mod validate;

/// Sluice: micro-batch stream processing with WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The most detailed log messages of Sluice (and its plugins) to show on stderr: error,
    /// warn, info, debug or trace. Wins over `RUST_LOG` (default `warn,sluice=info`) and
    /// over the log filtering of `run --quiet`.
    #[arg(long, global = true, value_enum, value_name = "LEVEL")]
    log_level: Option<logging::LogLevel>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a job.
    Run(run::RunCommand),
    /// Check a job file (and load its plugins) without running it.
    Validate(validate::ValidateCommand),
    /// Inspect or reset a checkpoint directory.
    #[command(subcommand)]
    Checkpoint(checkpoint::CheckpointCommand),
    /// Inspect and test plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Run the multi-tenant server (see docs/serve.md).
    Serve(serve::ServeCommand),
    /// Upload plugins and submit a job to a server.
    Submit(client::SubmitCommand),
    /// List the jobs on a server.
    Jobs(client::JobsCommand),
    /// Show a job's state and last batches.
    Status(client::JobIdCommand),
    /// Stop a job after its current batch.
    Stop(client::JobIdCommand),
    /// Show a job's log (events and batch lines).
    Logs(client::JobIdCommand),
}

impl Cli {
    /// Sends logs to stderr, filtered by `--log-level`, `run --quiet` or `RUST_LOG`.
    pub fn init_logging(&self) {
        let quiet = matches!(&self.command, Command::Run(cmd) if cmd.quiet());
        logging::init(self.log_level, quiet);
    }

    /// Runs the chosen subcommand.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Run(cmd) => cmd.execute(),
            Command::Validate(cmd) => cmd.execute(),
            Command::Plugin(cmd) => cmd.execute(),
            Command::Checkpoint(cmd) => cmd.execute(),
            Command::Serve(cmd) => cmd.execute(),
            Command::Submit(cmd) => cmd.execute(),
            Command::Jobs(cmd) => cmd.execute(),
            Command::Status(cmd) => cmd.status(),
            Command::Stop(cmd) => cmd.stop(),
            Command::Logs(cmd) => cmd.logs(),
        }
    }
}
