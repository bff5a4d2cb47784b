//! `sluice plugin init NAME --lang rust|python|js|c`: a plugin project that builds with
//! one command (written in its README.md) and passes `sluice plugin test` as it is.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};

/// A plugin project's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
    C,
}

/// `sluice plugin init NAME --lang LANG`
#[derive(Debug, Args)]
pub struct InitCommand {
    /// The plugin's name; the project is created in the directory NAME.
    name: String,
    /// The language.
    #[arg(long, value_enum)]
    lang: Lang,
    /// The Rust SDK (`guest-sdk/sdk`) for `--lang rust` (default: the one next to this
    /// build of Sluice).
    #[arg(long)]
    sdk: Option<PathBuf>,
}

/// The sample input every project's README tests with.
const SAMPLE: &str = "\"to be or not to be\"\n\"that is the question\"\n";

impl InitCommand {
    /// Writes the project; refuses to overwrite an existing directory.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let valid = self
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            bail!(
                "`{}` is not a plugin name: use letters, digits, `-` and `_`, starting with a letter",
                self.name
            );
        }
        let dir = PathBuf::from(&self.name);
        if dir.exists() {
            bail!("{}: already exists; choose another name", dir.display());
        }
        let files = match self.lang {
            Lang::Python => python(&self.name),
            Lang::Js => js(&self.name),
            Lang::C => c(&self.name),
            Lang::Rust => rust(&self.name, &self.sdk_path()?),
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        for (name, text) in files
            .iter()
            .chain([&("input.jsonl".to_owned(), SAMPLE.to_owned())])
        {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text)
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        println!(
            "created {}; see {}/README.md to build and test it",
            dir.display(),
            dir.display()
        );
        Ok(ExitCode::SUCCESS)
    }

    fn sdk_path(&self) -> anyhow::Result<PathBuf> {
        let sdk = match &self.sdk {
            Some(p) => p.clone(),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk/sdk"),
        };
        std::fs::canonicalize(&sdk).with_context(|| {
            format!(
                "{}: the Rust SDK (guest-sdk/sdk of the Sluice repository) is not there; pass --sdk PATH",
                sdk.display()
            )
        })
    }
}

fn readme(name: &str, build: &str, wasm: &str, toolchain: &str) -> (String, String) {
    let text = format!(
        "# {name}\n\nA Sluice plugin. Toolchain: {toolchain}.\n\n\
         Build:\n\n```\n{build}\n```\n\n\
         Test (prints `[word, 1]` pairs):\n\n```\n\
         sluice plugin test {wasm} split_pairs --input input.jsonl\n\
         sluice plugin test {wasm} sum --shape reduce <<< '[\"a\", [1, 2]]'\n```\n\n\
         Use it in a job:\n\n```toml\n[plugins.{alias}]\npath = \"{wasm}\"\n\n\
         [streams.pairs]\nfrom = \"lines\"\nop = \"flat_map\"\nfn = \"{alias}.split_pairs\"\n```\n",
        alias = name.replace('-', "_"),
    );
    ("README.md".to_owned(), text)
}

fn python(name: &str) -> Vec<(String, String)> {
    let wasm = format!("{name}.wasm");
    vec![
        readme(name, &format!("sluice plugin build app.py -o {wasm}"), &wasm,
            "componentize-py 0.25.1 (`pip install componentize-py==0.25.1`); see docs/components.md"),
        ("app.py".to_owned(), "\"\"\"A Sluice plugin in Python (guest-sdk/python/README.md).\"\"\"\n\n\
from sluice_plugin import flat_map, reduce\n\n\n\
@flat_map\ndef split_pairs(line):\n    \"\"\"A line to `(word, 1)` pairs.\"\"\"\n    return [(word, 1) for word in line.split()]\n\n\n\
@reduce\ndef sum(a, b):\n    \"\"\"Adds two counts.\"\"\"\n    return a + b\n".to_owned()),
    ]
}

fn js(name: &str) -> Vec<(String, String)> {
    let wasm = format!("{name}.wasm");
    vec![
        readme(name, &format!("sluice plugin build app.js -o {wasm}"), &wasm,
            "ComponentizeJS 0.23.0 (`npm ci` in guest-sdk/js, or componentize-js on the PATH); see docs/components.md"),
        ("app.js".to_owned(), "// A Sluice plugin in JavaScript (guest-sdk/js/README.md).\n\
import { flatMap, reduce } from \"sluice-plugin\";\n\n\
flatMap(function split_pairs(line) {\n  return line.split(/\\s+/).filter((w) => w.length > 0).map((w) => [w, 1]);\n});\n\n\
reduce(function sum(a, b) {\n  return a + b;\n});\n".to_owned()),
    ]
}

fn rust(name: &str, sdk: &Path) -> Vec<(String, String)> {
    let krate = name.replace('-', "_");
    let wasm = format!("target/wasm32-unknown-unknown/release/{krate}.wasm");
    vec![
        readme(name, "cargo build --release --target wasm32-unknown-unknown", &wasm,
            "Rust with the `wasm32-unknown-unknown` target (`rustup target add wasm32-unknown-unknown`)"),
        ("Cargo.toml".to_owned(), format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [lib]\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\nsluice-plugin = {{ path = {sdk:?} }}\n\n\
             # A workspace of its own, even inside another project.\n[workspace]\n\n\
             [profile.release]\nlto = true\nopt-level = 3\nstrip = \"symbols\"\npanic = \"abort\"\ncodegen-units = 1\n",
            sdk = sdk.display().to_string()
        )),
        ("src/lib.rs".to_owned(), "//! A Sluice plugin in Rust (guest-sdk/sdk; docs/abi.md).\n\n\
/// A line to `[word, 1]` pairs.\npub fn split_pairs(line: String) -> Vec<(String, i64)> {\n    \
line.split_whitespace().map(|w| (w.to_owned(), 1)).collect()\n}\n\
sluice_plugin::flat_map!(split_pairs);\n\n\
/// Adds two counts.\npub fn sum(a: i64, b: i64) -> i64 {\n    a + b\n}\n\
sluice_plugin::reduce!(sum);\n".to_owned()),
    ]
}

fn c(name: &str) -> Vec<(String, String)> {
    let wasm = format!("{name}.wasm");
    vec![
        readme(name, "bash build.sh", &wasm,
            "clang with wasi-libc and msgpuck (`apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 libmsgpuck-dev`)"),
        ("build.sh".to_owned(), format!(
            "#!/usr/bin/env bash\n# Builds {wasm}: a WASI reactor exporting ABI v1 (docs/abi.md).\nset -euo pipefail\n\
             cd \"$(dirname \"$0\")\"\nmkdir -p include\nln -sf /usr/include/msgpuck.h include/msgpuck.h\n\
             clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -isystem include plugin.c \
             -Wl,--strip-debug -o {wasm}\n"
        )),
        ("plugin.c".to_owned(), C_PLUGIN.to_owned()),
    ]
}

const C_PLUGIN: &str = include_str!("plugin_init_template.c");
