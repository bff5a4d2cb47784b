//! `sluice plugin inspect|test`: look inside a plugin and run one function by hand.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sluice::record::{json_to_msgpack, msgpack_to_json};
use sluice::wasm::{inspect, CallError, DisplayBytes, Limits, Plugin, RuntimeConfig, WasmRuntime};
use sluice_abi::{Ctx, Shape};

/// `sluice plugin ...`
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a plugin's ABI version, functions, imports and size.
    Inspect(InspectCommand),
    /// Run one function of a plugin on JSON-lines records.
    ///
    /// Exit status: 0 when every record went through, 2 when the call succeeded but the
    /// plugin rejected some records (listed on stderr with their line numbers), 1 when the
    /// plugin or the call failed.
    Test(TestCommand),
    /// Build a Python or JavaScript plugin into a WebAssembly component
    /// (componentize-py or ComponentizeJS; see docs/components.md).
    Build(super::plugin_build::BuildCommand),
    /// Create a plugin project (rust, python, js or c) that builds with one command and
    /// passes `sluice plugin test` as it is.
    Init(super::plugin_init::InitCommand),
}

impl PluginCommand {
    /// Runs the subcommand.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            PluginCommand::Inspect(cmd) => cmd.execute(),
            PluginCommand::Test(cmd) => cmd.execute(),
            PluginCommand::Build(cmd) => cmd.execute(),
            PluginCommand::Init(cmd) => cmd.execute(),
        }
    }
}

/// `sluice plugin inspect FILE`
#[derive(Debug, Args)]
pub struct InspectCommand {
    /// The plugin module (.wasm, or .wat text).
    file: PathBuf,
}

impl InspectCommand {
    fn execute(self) -> anyhow::Result<ExitCode> {
        let runtime = WasmRuntime::new(RuntimeConfig::from_env())?;
        let info = inspect(&runtime, &self.file)?;
        let list = |v: &[String]| {
            if v.is_empty() {
                "(none)".to_owned()
            } else {
                v.join(", ")
            }
        };
        let compiled = match (info.from_cache, runtime.cache_dir()) {
            (true, Some(dir)) => format!("loaded from the cache in {}", dir.display()),
            (false, Some(dir)) => format!("compiled now, cached in {}", dir.display()),
            (_, None) => "compiled now (cache off)".to_owned(),
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "file:        {}", self.file.display())?;
        writeln!(
            out,
            "size:        {} bytes ({})",
            info.size,
            DisplayBytes(info.size)
        )?;
        let (kind, init) = if info.component {
            (
                "component (world sluice:plugin/plugin@1.0.0)",
                "init (takes the job's params)",
            )
        } else if info.has_init {
            ("core module", "sluice_init (takes the job's params)")
        } else {
            ("core module", "(none)")
        };
        writeln!(out, "kind:        {kind}")?;
        writeln!(out, "abi version: {}", info.abi_version)?;
        writeln!(out, "functions:   {}", list(&info.functions))?;
        writeln!(out, "init:        {init}")?;
        writeln!(out, "imports:     {}", list(&info.imports))?;
        writeln!(out, "code:        {compiled}")?;
        Ok(ExitCode::SUCCESS)
    }
}

/// `sluice plugin test FILE FUNCTION [--input FILE.jsonl] ...`
#[derive(Debug, Args)]
pub struct TestCommand {
    /// The plugin module (.wasm, or .wat text).
    file: PathBuf,
    /// The operator function to call.
    function: String,
    /// JSON-lines input, one item per line (default: stdin).
    #[arg(long)]
    input: Option<PathBuf>,
    /// The function's shape: transform, reduce, inverse_reduce or update_state.
    #[arg(long, default_value = "transform", value_parser = parse_shape)]
    shape: Shape,
    /// Wall-clock deadline of the call.
    #[arg(long, default_value = "5s", value_parser = duration_arg)]
    timeout: Duration,
    /// Memory limit of the instance.
    #[arg(long, default_value = "256MiB", value_parser = size_arg)]
    memory: u64,
    /// Cap on the output document.
    #[arg(long, default_value = "64MiB", value_parser = size_arg)]
    output_cap: u64,
    /// Fuel for the call (instructions, roughly); unmetered when absent.
    #[arg(long)]
    fuel: Option<u64>,
    /// The plugin's params (JSON), given to `sluice_init`.
    #[arg(long, default_value = "{}")]
    params: String,
    /// The batch time in the call's context (milliseconds).
    #[arg(long, default_value_t = 0)]
    batch_time: i64,
    /// The partition index in the call's context.
    #[arg(long, default_value_t = 0)]
    partition: u32,
}

fn parse_shape(s: &str) -> Result<Shape, String> {
    Ok(match s {
        "transform" => Shape::Transform,
        "reduce" => Shape::Reduce,
        "inverse_reduce" => Shape::InverseReduce,
        "update_state" => Shape::UpdateState,
        other => {
            return Err(format!(
                "unknown shape `{other}` (transform, reduce, inverse_reduce, update_state)"
            ))
        }
    })
}

impl TestCommand {
    fn execute(self) -> anyhow::Result<ExitCode> {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .try_init();
        let params: serde_json::Value =
            serde_json::from_str(&self.params).context("--params is not valid JSON")?;
        let (source, reader): (String, Box<dyn Read>) = match &self.input {
            Some(path) => (
                path.display().to_string(),
                Box::new(
                    std::fs::File::open(path)
                        .with_context(|| format!("{}: cannot open", path.display()))?,
                ),
            ),
            None => ("stdin".to_owned(), Box::new(std::io::stdin())),
        };
        let (lines, items) = read_items(&source, reader)?;
        let limits = Limits {
            timeout: self.timeout,
            memory_bytes: self.memory,
            output_bytes: self.output_cap,
            fuel: self.fuel,
        };
        let runtime = WasmRuntime::new(RuntimeConfig::from_env())?;
        let name = plugin_name(&self.file);
        let plugin = Plugin::load(&runtime, &name, &self.file, &params, limits)?;
        let ctx = Ctx::new(self.batch_time, self.partition);
        let count = u32::try_from(lines.len()).context("too many records for one call")?;
        let output = match plugin.call(&self.function, self.shape, count, &items, &ctx) {
            Ok(o) => o,
            Err(e) => return call_failed(&e),
        };
        let mut out = std::io::stdout().lock();
        for (i, record) in output.items.iter().enumerate() {
            match msgpack_to_json(record) {
                Ok(v) => writeln!(out, "{v}")?,
                Err(e) => eprintln!("output record {i}: cannot show as JSON: {e}"),
            }
        }
        out.flush()?;
        for e in &output.errors {
            let at = e
                .index
                .and_then(|i| lines.get(i as usize))
                .map_or_else(|| "?".to_owned(), |l| l.to_string());
            eprintln!("{source}:{at}: {}", e.message);
        }
        Ok(if output.errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        })
    }
}

fn call_failed(e: &CallError) -> anyhow::Result<ExitCode> {
    eprintln!("error: {e}");
    Ok(ExitCode::from(1))
}

/// The plugin's name: the file stem (`words.wasm` -> `words`).
fn plugin_name(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "plugin".to_owned(), |s| s.to_string_lossy().into_owned())
}

/// Reads JSON lines (blank lines skipped); returns each item's line number and the items
/// encoded end to end.
fn read_items(source: &str, reader: impl Read) -> anyhow::Result<(Vec<usize>, Vec<u8>)> {
    let mut lines = Vec::new();
    let mut items = Vec::new();
    for (n, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.with_context(|| format!("{source}:{}: cannot read", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("{source}:{}: not valid JSON", n + 1))?;
        json_to_msgpack(&value, &mut items);
        lines.push(n + 1);
    }
    Ok((lines, items))
}

/// Parses a duration flag with the job files' syntax (`5s`, `250ms`).
fn duration_arg(text: &str) -> Result<Duration, String> {
    sluice::job::parse_duration(text).map(|d| d.to_std())
}

/// Parses a size flag with the job files' syntax (`256MiB`, `4096`).
fn size_arg(text: &str) -> Result<u64, String> {
    sluice::job::parse_size(text).map(|s| s.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_their_line_numbers() {
        let (lines, items) = read_items("t", &b"1\n\n\"a\"\n"[..]).unwrap();
        assert_eq!(lines, vec![1, 3]);
        assert_eq!(items, vec![0x01, 0xa1, b'a']);
        let err = read_items("t", &b"1\n{oops\n"[..]).unwrap_err();
        assert_eq!(err.to_string(), "t:2: not valid JSON");
    }

    #[test]
    fn shapes_parse_by_name() {
        assert_eq!(parse_shape("reduce"), Ok(Shape::Reduce));
        assert!(parse_shape("init").is_err());
    }
}
