//! [`Fingerprint`]: what a checkpoint's state depends on — the batch interval, sources,
//! the graph of streams (op kinds, parents, parameters), the state layouts of stateful
//! operators and the plugins' content hashes — and [`diff`], which says in sentences what
//! changed between the job that wrote a checkpoint and the job that wants to resume it.
//!
//! Sinks are not part of it: they hold no state, so adding or changing one is allowed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::CheckpointError;

/// A source: its kind and settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFp {
    /// `kind` in the job file.
    pub kind: String,
    /// Every other setting.
    pub params: BTreeMap<String, Value>,
}

/// A derived stream: its operation, parents and settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamFp {
    /// `op` in the job file.
    pub op: String,
    /// `from` then `inputs`, in order.
    pub parents: Vec<String>,
    /// Every other setting (functions, windows, partitions...).
    pub params: BTreeMap<String, Value>,
}

/// A plugin: the hash of its module and its parameters (limits do not affect state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginFp {
    /// sha256 of the `.wasm` file, hex.
    pub sha256: String,
    /// `params` in the job file.
    pub params: Value,
}

/// Everything a checkpoint depends on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The batch interval in ms.
    pub batch_ms: i64,
    /// Sources by name.
    pub sources: BTreeMap<String, SourceFp>,
    /// Derived streams by name.
    pub streams: BTreeMap<String, StreamFp>,
    /// Plugins by name.
    pub plugins: BTreeMap<String, PluginFp>,
    /// State layout of each stateful stream: operator kind and snapshot format tag.
    pub layouts: BTreeMap<String, String>,
}

/// One difference between two fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// A sentence naming what changed, from what, to what.
    pub message: String,
    /// Whether only a plugin's content or parameters changed (allowed with
    /// `--allow-plugin-change` when no state layout changed).
    pub plugin_only: bool,
}

fn table_of(v: &toml::Value) -> Option<&toml::Table> {
    v.as_table()
}

fn json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn params_without(t: &toml::Table, skip: &[&str]) -> BTreeMap<String, Value> {
    t.iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), json(v)))
        .collect()
}

/// The sha256 of a file, hex.
///
/// # Errors
/// [`CheckpointError::Io`] naming the file.
pub fn file_sha256(path: &Path) -> Result<String, CheckpointError> {
    let bytes = std::fs::read(path).map_err(|e| CheckpointError::io(path, e))?;
    let digest = Sha256::digest(&bytes);
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

impl Fingerprint {
    /// The fingerprint of a job file's text; plugin paths resolve against `job_dir`.
    /// `layouts` is filled later from the built operators.
    ///
    /// # Errors
    /// [`CheckpointError::Invalid`] when the text is not TOML, [`CheckpointError::Io`] when
    /// a plugin cannot be read.
    pub fn from_job(text: &str, job_dir: &Path, batch_ms: i64) -> Result<Self, CheckpointError> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| CheckpointError::Invalid {
            message: format!("the job file is not valid TOML: {}", e.message()),
        })?;
        let section = |name: &str| {
            doc.get(name)
                .and_then(table_of)
                .cloned()
                .unwrap_or_default()
        };
        let mut fp = Fingerprint {
            batch_ms,
            ..Fingerprint::default()
        };
        for (name, v) in &section("sources") {
            let t = table_of(v).cloned().unwrap_or_default();
            let kind = t.get("kind").and_then(|k| k.as_str()).unwrap_or("");
            fp.sources.insert(
                name.clone(),
                SourceFp {
                    kind: kind.to_owned(),
                    params: params_without(&t, &["kind"]),
                },
            );
        }
        for (name, v) in &section("streams") {
            let t = table_of(v).cloned().unwrap_or_default();
            let op = t.get("op").and_then(|k| k.as_str()).unwrap_or("");
            let mut parents: Vec<String> = t
                .get("from")
                .and_then(|f| f.as_str())
                .map(str::to_owned)
                .into_iter()
                .collect();
            if let Some(inputs) = t.get("inputs").and_then(|i| i.as_array()) {
                parents.extend(inputs.iter().filter_map(|i| i.as_str()).map(str::to_owned));
            }
            fp.streams.insert(
                name.clone(),
                StreamFp {
                    op: op.to_owned(),
                    parents,
                    params: params_without(&t, &["op", "from", "inputs"]),
                },
            );
        }
        for (name, v) in &section("plugins") {
            let t = table_of(v).cloned().unwrap_or_default();
            // A plugin named by its uploaded `name` (serve mode) has no path in the text;
            // `job_fingerprint` hashes the file the server resolved it to.
            let sha256 = match t.get("path").and_then(|p| p.as_str()) {
                Some(path) => file_sha256(&job_dir.join(path))?,
                None => String::new(),
            };
            fp.plugins.insert(
                name.clone(),
                PluginFp {
                    sha256,
                    params: t
                        .get("params")
                        .map(json)
                        .unwrap_or(Value::Object(Default::default())),
                },
            );
        }
        Ok(fp)
    }
}

fn show(v: &Value) -> String {
    v.to_string()
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

fn diff_params(
    what: &str,
    old: &BTreeMap<String, Value>,
    new: &BTreeMap<String, Value>,
    out: &mut Vec<Change>,
) {
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for k in keys {
        let message = match (old.get(k), new.get(k)) {
            (Some(a), Some(b)) if a != b => {
                format!("{what} changed `{k}` from {} to {}", show(a), show(b))
            }
            (Some(a), None) => format!("{what} no longer sets `{k}` (was {})", show(a)),
            (None, Some(b)) => format!("{what} now sets `{k}` = {}", show(b)),
            _ => continue,
        };
        out.push(Change {
            message,
            plugin_only: false,
        });
    }
}

fn graph_change(message: String) -> Change {
    Change {
        message,
        plugin_only: false,
    }
}

/// What changed from `old` (the checkpoint's job) to `new` (the job being started).
pub fn diff(old: &Fingerprint, new: &Fingerprint) -> Vec<Change> {
    let mut out = Vec::new();
    if old.batch_ms != new.batch_ms {
        out.push(graph_change(format!(
            "the batch interval changed from {} ms to {} ms",
            old.batch_ms, new.batch_ms
        )));
    }
    for (name, o) in &old.sources {
        match new.sources.get(name) {
            None => out.push(graph_change(format!("source `{name}` was removed"))),
            Some(n) if o.kind != n.kind => out.push(graph_change(format!(
                "source `{name}` changed kind from {} to {}",
                o.kind, n.kind
            ))),
            Some(n) => diff_params(&format!("source `{name}`"), &o.params, &n.params, &mut out),
        }
    }
    for name in new.sources.keys().filter(|n| !old.sources.contains_key(*n)) {
        out.push(graph_change(format!("source `{name}` is new")));
    }
    for (name, o) in &old.streams {
        match new.streams.get(name) {
            None => out.push(graph_change(format!("stream `{name}` was removed"))),
            Some(n) if o.op != n.op => out.push(graph_change(format!(
                "stream `{name}` changed op from {} to {}",
                o.op, n.op
            ))),
            Some(n) => {
                if o.parents != n.parents {
                    out.push(graph_change(format!(
                        "stream `{name}` now reads from [{}] instead of [{}]",
                        n.parents.join(", "),
                        o.parents.join(", ")
                    )));
                }
                diff_params(&format!("stream `{name}`"), &o.params, &n.params, &mut out);
            }
        }
    }
    for name in new.streams.keys().filter(|n| !old.streams.contains_key(*n)) {
        out.push(graph_change(format!("stream `{name}` is new")));
    }
    for (name, o) in &old.layouts {
        match new.layouts.get(name) {
            Some(n) if n != o => out.push(graph_change(format!(
                "stream `{name}` changed its state layout from {o} to {n}"
            ))),
            None if new.streams.contains_key(name) => out.push(graph_change(format!(
                "stream `{name}` no longer keeps state (its layout was {o})"
            ))),
            _ => {}
        }
    }
    for (name, o) in &old.plugins {
        let message = match new.plugins.get(name) {
            None => format!("plugin `{name}` was removed"),
            Some(n) if o.sha256 != n.sha256 => format!(
                "plugin `{name}` changed (sha256 {} → {})",
                short(&o.sha256),
                short(&n.sha256)
            ),
            Some(n) if o.params != n.params => format!(
                "plugin `{name}` changed its params from {} to {}",
                show(&o.params),
                show(&n.params)
            ),
            Some(_) => continue,
        };
        out.push(Change {
            message,
            plugin_only: true,
        });
    }
    for name in new.plugins.keys().filter(|n| !old.plugins.contains_key(*n)) {
        out.push(Change {
            message: format!("plugin `{name}` is new"),
            plugin_only: true,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = r#"
        [job]
        name = "wc"
        [plugins.words]
        path = "words.wasm"
        params = { lower = true }
        [sources.lines]
        kind = "generator"
        rate = 100
        [streams.pairs]
        op = "map"
        from = "lines"
        fn = "words.pair"
        [streams.counts]
        op = "reduce_by_key"
        from = "pairs"
        fn = "sum"
        [sinks.out]
        kind = "files"
        path = "out"
    "#;

    fn fp(text: &str, dir: &Path) -> Fingerprint {
        Fingerprint::from_job(text, dir, 1000).unwrap()
    }

    #[test]
    fn identical_jobs_have_no_changes_and_sinks_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("words.wasm"), b"\0asm v1").unwrap();
        let a = fp(JOB, dir.path());
        let b = fp(
            &JOB.replace("path = \"out\"", "path = \"elsewhere\""),
            dir.path(),
        );
        assert_eq!(diff(&a, &b), vec![]);
        assert_eq!(a.plugins["words"].sha256.len(), 64);
    }

    #[test]
    fn names_each_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("words.wasm"), b"\0asm v1").unwrap();
        let a = fp(JOB, dir.path());
        let changed = JOB
            .replace("op = \"reduce_by_key\"", "op = \"count\"")
            .replace("rate = 100", "rate = 200")
            .replace("lower = true", "lower = false");
        std::fs::write(dir.path().join("words.wasm"), b"\0asm v2").unwrap();
        let b = fp(&changed, dir.path());
        let changes = diff(&a, &b);
        let messages: Vec<&str> = changes.iter().map(|c| c.message.as_str()).collect();
        assert!(messages.contains(&"stream `counts` changed op from reduce_by_key to count"));
        assert!(messages.contains(&"source `lines` changed `rate` from 100 to 200"));
        assert!(messages
            .iter()
            .any(|m| m.starts_with("plugin `words` changed (sha256")));
        assert_eq!(changes.iter().filter(|c| c.plugin_only).count(), 1);
    }

    #[test]
    fn layouts_and_plugin_only_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("words.wasm"), b"\0asm v1").unwrap();
        let mut a = fp(JOB, dir.path());
        a.layouts
            .insert("counts".into(), "reduce_by_key/RBK1v1".into());
        std::fs::write(dir.path().join("words.wasm"), b"\0asm v2").unwrap();
        let mut b = fp(JOB, dir.path());
        b.layouts = a.layouts.clone();
        let changes = diff(&a, &b);
        assert!(changes.iter().all(|c| c.plugin_only) && changes.len() == 1);
        b.layouts
            .insert("counts".into(), "reduce_by_key/RBK1v2".into());
        assert!(diff(&a, &b).iter().any(
            |c| !c.plugin_only && c.message.contains("state layout from reduce_by_key/RBK1v1")
        ));
        let c = fp(
            &JOB.replace("from = \"pairs\"", "from = \"lines\""),
            dir.path(),
        );
        assert!(diff(&a, &c)
            .iter()
            .any(|c| c.message == "stream `counts` now reads from [lines] instead of [pairs]"));
    }
}
