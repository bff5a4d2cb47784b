//! Confinement: the pass over a parsed job that makes it safe to run for a tenant. Paths
//! resolve under the job's own directory (no absolute paths, no `..` or symlink leading
//! out), `stdin`, `print` and `stdout` are refused, network endpoints must be in the
//! tenant's `allowed_hosts`, and plugins are named by their uploaded `name`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use super::hosts::{
    is_allowed, kafka_endpoints, kafka_property_allowed, nats_endpoint, redis_endpoint,
};
use crate::job::{JobDocument, JobError, SinkKind, SourceConfig};

/// What confinement found out about a job.
#[derive(Debug, Default)]
pub struct Confined {
    /// `files` sinks and their directories.
    pub files_sinks: BTreeMap<String, PathBuf>,
    /// The checkpoint directory the job file asked for (already confined), if any.
    pub checkpoint_dir: Option<PathBuf>,
}

/// The tenant-specific rules of the pass.
pub struct Rules<'a> {
    /// The job's directory: every path of the job resolves under it.
    pub root: &'a Path,
    /// `host:port` endpoints the tenant may reach.
    pub allowed_hosts: &'a [String],
    /// The stored file of an uploaded plugin, by name.
    pub plugin_file: &'a dyn Fn(&str) -> Option<PathBuf>,
}

/// Checks `doc` against the rules and rewrites its plugins to their stored files.
/// Creates the directories of `files` sources (which must exist to start).
///
/// # Errors
/// [`JobError`] naming the line, column and field of the first refused value.
pub fn confine(doc: &mut JobDocument, rules: &Rules) -> Result<Confined, JobError> {
    let root = std::fs::canonicalize(rules.root).map_err(|e| JobError::Read {
        path: rules.root.display().to_string(),
        source: e,
    })?;
    resolve_plugins(doc, rules)?;
    check_sources(doc, &root, rules)?;
    let mut out = Confined::default();
    for (name, s) in &doc.file.sinks {
        let span = s.span();
        let at = |field: &str, message: String| {
            doc.error(
                Some(doc.field_span(span.clone(), field)),
                format!("sink `{name}`: {message}"),
            )
        };
        match &s.get_ref().kind {
            SinkKind::Files(c) => {
                let dir = inside(&root, &c.path).map_err(|m| at("path", m))?;
                out.files_sinks.insert(name.clone(), dir);
            }
            SinkKind::Print(_) | SinkKind::Stdout(_) => {
                return Err(at(
                    "kind",
                    "`print` and `stdout` sinks write to the server's output, which \
                     `sluice serve` does not allow; use a `files` sink and read its batches \
                     with GET /v1/jobs/ID/sinks/NAME/batches"
                        .into(),
                ))
            }
            SinkKind::Kafka(c) => {
                check_kafka(&c.bootstrap_servers, &c.properties, rules.allowed_hosts)
                    .map_err(|(f, m)| at(f, m))?
            }
            SinkKind::Redis(c) => {
                check_one(redis_endpoint(&c.url), rules.allowed_hosts).map_err(|m| at("url", m))?
            }
            SinkKind::Nats(c) => {
                check_one(nats_endpoint(&c.url), rules.allowed_hosts).map_err(|m| at("url", m))?
            }
        }
    }
    if let Some(d) = &doc.file.job.dead_letter {
        inside(&root, &d.path).map_err(|m| {
            let span = find_key(&doc.text, "dead_letter");
            doc.error(span, format!("[job] dead_letter.path: {m}"))
        })?;
    }
    if let Some(dir) = doc.file.checkpoint.as_ref().and_then(|c| c.dir.as_ref()) {
        let dir = inside(&root, dir).map_err(|m| {
            let after = doc.text.find("[checkpoint]").unwrap_or(0);
            let span = find_key(&doc.text[after..], "dir").map(|r| r.start + after..r.end + after);
            doc.error(span, format!("[checkpoint] dir: {m}"))
        })?;
        out.checkpoint_dir = Some(dir);
    }
    Ok(out)
}

fn resolve_plugins(doc: &mut JobDocument, rules: &Rules) -> Result<(), JobError> {
    let mut resolved = BTreeMap::new();
    for (name, p) in &doc.file.plugins {
        let c = p.get_ref();
        let at = |field: &str| Some(doc.field_span(p.span(), field));
        if c.path.is_some() {
            return Err(doc.error(
                at("path"),
                format!(
                    "plugin `{name}`: `path` names a file on the server, which `sluice serve` \
                     does not allow; upload the module (PUT /v1/plugins/NAME, or `sluice submit \
                     --plugin NAME=FILE`) and write `name = \"NAME\"`"
                ),
            ));
        }
        let Some(uploaded) = &c.name else {
            return Err(doc.error(
                Some(p.span()),
                format!("plugin `{name}`: missing `name`, the name the plugin was uploaded under"),
            ));
        };
        let file = (rules.plugin_file)(uploaded).ok_or_else(|| {
            doc.error(
                at("name"),
                format!(
                    "plugin `{name}`: no plugin `{uploaded}` was uploaded (PUT /v1/plugins/{uploaded})"
                ),
            )
        })?;
        resolved.insert(name.clone(), file);
    }
    for (name, file) in resolved {
        if let Some(p) = doc.file.plugins.get_mut(&name) {
            let c = p.get_mut();
            c.path = Some(file);
            c.name = None;
        }
    }
    Ok(())
}

fn check_sources(doc: &JobDocument, root: &Path, rules: &Rules) -> Result<(), JobError> {
    for (name, s) in &doc.file.sources {
        let span = s.span();
        let at = |field: &str, message: String| {
            doc.error(
                Some(doc.field_span(span.clone(), field)),
                format!("source `{name}`: {message}"),
            )
        };
        let allowed = rules.allowed_hosts;
        match s.get_ref() {
            SourceConfig::Generator(_) => {}
            SourceConfig::Queue(c) => {
                if let Some(p) = &c.path {
                    inside(root, p).map_err(|m| at("path", m))?;
                }
            }
            SourceConfig::Files(c) => {
                let dir = inside(root, &c.path).map_err(|m| at("path", m))?;
                std::fs::create_dir_all(&dir)
                    .map_err(|e| at("path", format!("cannot create the directory: {e}")))?;
            }
            SourceConfig::Stdin(_) => {
                return Err(at(
                    "kind",
                    "`stdin` is the server's standard input, which `sluice serve` does not \
                     allow; use `tcp`, `files` or a broker"
                        .into(),
                ))
            }
            SourceConfig::Tcp(c) => {
                check_one(Ok((c.host.clone(), c.port)), allowed).map_err(|m| at("host", m))?
            }
            SourceConfig::Kafka(c) => check_kafka(&c.bootstrap_servers, &c.properties, allowed)
                .map_err(|(f, m)| at(f, m))?,
            SourceConfig::Redis(c) => {
                check_one(redis_endpoint(&c.url), allowed).map_err(|m| at("url", m))?
            }
            SourceConfig::Nats(c) => {
                check_one(nats_endpoint(&c.url), allowed).map_err(|m| at("url", m))?
            }
        }
    }
    Ok(())
}

fn check_one(endpoint: Result<(String, u16), String>, allowed: &[String]) -> Result<(), String> {
    let (host, port) = endpoint?;
    if is_allowed(allowed, &host, port) {
        Ok(())
    } else {
        Err(format!(
            "`{host}:{port}` is not in this tenant's allowed_hosts ({})",
            if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            }
        ))
    }
}

fn check_kafka(
    servers: &str,
    properties: &BTreeMap<String, String>,
    allowed: &[String],
) -> Result<(), (&'static str, String)> {
    for endpoint in kafka_endpoints(servers).map_err(|m| ("bootstrap_servers", m))? {
        check_one(Ok(endpoint), allowed).map_err(|m| ("bootstrap_servers", m))?;
    }
    if let Some(key) = properties.keys().find(|k| !kafka_property_allowed(k)) {
        return Err((
            "properties",
            format!(
                "property `{key}` is not one a tenant may set in `sluice serve` (tuning \
                 properties only: see docs/serve.md)"
            ),
        ));
    }
    Ok(())
}

/// `rel` resolved under `root` (canonical): refused when absolute, when `..` climbs out,
/// or when an existing part of it is a symlink leading out of `root`.
pub fn inside(root: &Path, rel: &Path) -> Result<PathBuf, String> {
    let shown = rel.display();
    let mut normal = PathBuf::new();
    for c in rel.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => {
                return Err(format!(
                    "`{shown}` is an absolute path; in `sluice serve` paths are relative to \
                     the job's own directory"
                ))
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if !normal.pop() {
                    return Err(format!("`{shown}` leads out of the job's directory (`..`)"));
                }
            }
            Component::Normal(part) => normal.push(part),
        }
    }
    let full = root.join(&normal);
    let mut at = root.to_path_buf();
    for part in normal.components() {
        at.push(part);
        if std::fs::symlink_metadata(&at).is_err() {
            break; // nothing further exists yet
        }
        let real = std::fs::canonicalize(&at)
            .map_err(|_| format!("`{shown}` goes through a broken symlink"))?;
        if !real.starts_with(root) {
            return Err(format!(
                "`{shown}` goes through a symlink that leads out of the job's directory"
            ));
        }
    }
    Ok(full)
}

/// The first `key =` in the text (for fields of tables the schema does not span).
fn find_key(text: &str, key: &str) -> Option<Range<usize>> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(after) = trimmed.strip_prefix(key) {
            if after.trim_start().starts_with('=') {
                let start = offset + line.len() - trimmed.len();
                return Some(start..start + key.len());
            }
        }
        if let Some(i) = line.find(&format!("{key} =")) {
            return Some(offset + i..offset + i + key.len());
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests;
