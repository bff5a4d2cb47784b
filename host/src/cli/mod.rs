//! Subcommands of the `sluice` CLI, one module each.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod checkpoint;
mod logging;
mod plugin;
mod run;
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
        }
    }
}
