//! `sluice plugin inspect|test`: look inside a plugin and run one function by hand.

use std::process::ExitCode;

use clap::Subcommand;

/// `sluice plugin ...`
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a plugin's ABI version, functions, imports and size.
    Inspect {
        /// The plugin module (.wasm).
        file: std::path::PathBuf,
    },
}

impl PluginCommand {
    /// Runs the subcommand.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            PluginCommand::Inspect { file } => {
                anyhow::bail!("{}: plugin inspect is not implemented yet", file.display())
            }
        }
    }
}
