//! `sluice serve --config SERVE.toml`: the multi-tenant server (see `docs/serve.md`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sluice::serve::{serve, ServeConfig};

/// `sluice serve`.
#[derive(Debug, Args)]
pub struct ServeCommand {
    /// The server's config (TOML): `[server]`, `[tenants.NAME]`, `[admin]`.
    #[arg(long)]
    config: PathBuf,
}

impl ServeCommand {
    /// Runs the server until Ctrl-C or SIGTERM.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let config = ServeConfig::load(&self.config)?;
        let tenants = config.tenants.len();
        serve(config, |addr| {
            // Tests and scripts read the address from this line (the port may be 0).
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "sluice serve: listening on http://{addr} ({tenants} tenant(s))"
            );
            let _ = out.flush();
        })?;
        Ok(ExitCode::SUCCESS)
    }
}
