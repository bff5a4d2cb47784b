//! `sluice plugin build SOURCE -o OUT`: a Python or JavaScript module to a component
//! plugin, with componentize-py or ComponentizeJS. The SDK and the WIT world are built
//! into the binary, so only the toolchain is needed (scripts/component-toolchains.sh).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context as _};
use clap::Args;

const WIT: &str = include_str!("../../../wit/plugin.wit");
const PY_SDK: [(&str, &str); 4] = [
    (
        "__init__.py",
        include_str!("../../../guest-sdk/python/sluice_plugin/__init__.py"),
    ),
    (
        "_msgpack.py",
        include_str!("../../../guest-sdk/python/sluice_plugin/_msgpack.py"),
    ),
    (
        "_run.py",
        include_str!("../../../guest-sdk/python/sluice_plugin/_run.py"),
    ),
    (
        "_guest.py",
        include_str!("../../../guest-sdk/python/sluice_plugin/_guest.py"),
    ),
];
const JS_SDK: &str = include_str!("../../../guest-sdk/js/sluice-plugin.js");

/// The module componentize-py is pointed at: the SDK's export and the user's module.
const PY_MAIN: &str = "sluice_component_main";
/// Disables every WASI feature of ComponentizeJS: the component imports only the host.
const JS_DISABLE: [&str; 5] = ["stdio", "random", "clocks", "http", "fetch-event"];

/// `sluice plugin build SOURCE -o OUT`
#[derive(Debug, Args)]
pub struct BuildCommand {
    /// The plugin's source: a Python module (`.py`, with the `sluice_plugin` SDK) or a
    /// JavaScript module (`.js`, `.mjs`, importing from "sluice-plugin").
    source: PathBuf,
    /// The component to write (`.wasm`).
    #[arg(short, long)]
    output: PathBuf,
    /// A directory of Python packages the plugin imports (pure Python); repeatable.
    #[arg(long = "python-path")]
    python_path: Vec<PathBuf>,
}

impl BuildCommand {
    /// Builds the component; the toolchain's own output goes to the terminal.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let source = std::fs::canonicalize(&self.source)
            .with_context(|| format!("{}: cannot read", self.source.display()))?;
        let output = absolute(&self.output)?;
        let work = WorkDir::create()?;
        std::fs::create_dir_all(work.0.join("wit"))?;
        std::fs::write(work.0.join("wit/plugin.wit"), WIT)?;
        let ext = source.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "py" => build_python(&source, &output, &self.python_path, &work.0)?,
            "js" | "mjs" => build_js(&source, &output, &work.0)?,
            _ => bail!(
                "{}: cannot tell the language: use a .py (Python) or .js/.mjs (JavaScript) \
                 file (Rust, C and other languages build core modules with their own \
                 toolchain; see docs/abi.md)",
                self.source.display()
            ),
        }
        let size = std::fs::metadata(&output)
            .with_context(|| format!("{}: the toolchain wrote nothing", output.display()))?
            .len();
        println!("wrote {} ({size} bytes)", output.display());
        Ok(ExitCode::SUCCESS)
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()?.join(path)
    })
}

/// A temporary directory, removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "sluice-plugin-build-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The toolchain command: `$ENV` if set, else `name` on the PATH, else one of `fallbacks`
/// that exists.
fn tool(env: &str, name: &str, fallbacks: &[PathBuf]) -> OsString {
    if let Some(v) = std::env::var_os(env).filter(|v| !v.is_empty()) {
        return v;
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    if !on_path {
        if let Some(f) = fallbacks.iter().find(|f| f.is_file()) {
            return f.clone().into_os_string();
        }
    }
    name.into()
}

/// Runs the toolchain; a missing tool is an error saying how to install it.
fn run(mut cmd: Command, what: &str, install: &str) -> anyhow::Result<()> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let status = match cmd.status() {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{what} not found (`{program}`): {install}")
        }
        Err(e) => return Err(e).with_context(|| format!("cannot run {program}")),
    };
    if !status.success() {
        bail!("{what} failed ({status}); its messages are above");
    }
    Ok(())
}

fn build_python(
    source: &Path,
    output: &Path,
    extra: &[PathBuf],
    work: &Path,
) -> anyhow::Result<()> {
    let module = source
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let valid = module
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && module.chars().all(|c| c.is_alphanumeric() || c == '_');
    let reserved = [
        "sluice_plugin",
        "wit_world",
        "componentize_py_types",
        PY_MAIN,
    ];
    if !valid || reserved.contains(&module) {
        bail!(
            "{}: `{module}` cannot be the plugin's module name (it must be a Python \
             identifier other than {}); rename the file",
            source.display(),
            reserved.join(", ")
        );
    }
    let sdk = work.join("sdk/sluice_plugin");
    std::fs::create_dir_all(&sdk)?;
    for (name, text) in PY_SDK {
        std::fs::write(sdk.join(name), text)?;
    }
    std::fs::write(
        work.join(format!("{PY_MAIN}.py")),
        format!("from sluice_plugin._guest import Guest\nimport {module}\n"),
    )?;
    let mut cmd = Command::new(tool("SLUICE_COMPONENTIZE_PY", "componentize-py", &[]));
    cmd.arg("-d")
        .arg(work.join("wit"))
        .args(["-w", "plugin", "componentize", "--stub-wasi"])
        .arg("-p")
        .arg(work)
        .arg("-p")
        .arg(work.join("sdk"))
        .arg("-p")
        .arg(source.parent().unwrap_or(Path::new(".")));
    for p in extra {
        cmd.arg("-p").arg(p);
    }
    cmd.arg(PY_MAIN).arg("-o").arg(output);
    run(
        cmd,
        "componentize-py",
        "install it with `pip install componentize-py==0.25.1` (or scripts/component-toolchains.sh)",
    )
}

/// Rewrites the SDK's module specifier to the bundled copy.
fn point_at_sdk(text: &str) -> String {
    text.replace("\"sluice-plugin\"", "\"../sluice-plugin.js\"")
        .replace("'sluice-plugin'", "'../sluice-plugin.js'")
}

fn build_js(source: &Path, output: &Path, work: &Path) -> anyhow::Result<()> {
    std::fs::write(work.join("sluice-plugin.js"), JS_SDK)?;
    let src = work.join("src");
    std::fs::create_dir_all(&src)?;
    // The module and its siblings (relative imports), with the SDK's specifier pointed
    // at the copy above.
    let dir = source.parent().unwrap_or(Path::new("."));
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if path.is_file() && matches!(ext, "js" | "mjs" | "json") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            std::fs::write(src.join(entry_name(&path)), point_at_sdk(&text))?;
        }
    }
    let main = format!(
        "export {{ guest }} from \"./sluice-plugin.js\";\nimport \"./src/{}\";\n",
        entry_name(source)
    );
    std::fs::write(work.join("main.js"), main)?;
    let sdk_bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guest-sdk/js/node_modules/.bin/componentize-js");
    let mut cmd = Command::new(tool(
        "SLUICE_COMPONENTIZE_JS",
        "componentize-js",
        &[sdk_bin],
    ));
    cmd.current_dir(work)
        .args(["main.js", "--wit", "wit", "-n", "plugin", "-d"])
        .args(JS_DISABLE)
        .arg("-o")
        .arg(output);
    run(
        cmd,
        "componentize-js",
        "install it with `npm ci` in guest-sdk/js (or scripts/component-toolchains.sh), or \
         set SLUICE_COMPONENTIZE_JS",
    )
}

fn entry_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_specifier_points_at_the_bundled_copy() {
        assert_eq!(
            point_at_sdk("import { map } from \"sluice-plugin\";\nimport x from './x.js';"),
            "import { map } from \"../sluice-plugin.js\";\nimport x from './x.js';"
        );
        assert_eq!(
            point_at_sdk("from 'sluice-plugin'"),
            "from '../sluice-plugin.js'"
        );
    }
}
