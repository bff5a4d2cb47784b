//! [`JobGraph`]: the job's sources, streams and sinks as the UI draws them — each stream
//! with its operation, parents, plugin functions and the executor node it is timed under
//! (a fused chain of narrow operations runs, and is timed, as its last stream).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::job::JobDocument;

/// A source of the graph.
#[derive(Debug, Clone, Serialize)]
pub struct GraphSource {
    /// Its name.
    pub name: String,
    /// Its `kind`.
    pub kind: String,
}

/// A derived stream of the graph.
#[derive(Debug, Clone, Serialize)]
pub struct GraphStream {
    /// Its name.
    pub name: String,
    /// Its `op`.
    pub op: String,
    /// Its parents, in order.
    pub from: Vec<String>,
    /// The plugin functions it calls (`plugin.function`).
    pub functions: Vec<String>,
    /// The executor node whose time includes this stream's (itself unless fused).
    pub node: String,
}

/// A sink of the graph.
#[derive(Debug, Clone, Serialize)]
pub struct GraphSink {
    /// Its name.
    pub name: String,
    /// Its `kind`.
    pub kind: String,
    /// The stream it writes.
    pub from: String,
}

/// The job graph.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobGraph {
    /// Sources, by name.
    pub sources: Vec<GraphSource>,
    /// Streams in topological order.
    pub streams: Vec<GraphStream>,
    /// Sinks, by name.
    pub sinks: Vec<GraphSink>,
}

impl JobGraph {
    /// The graph of a checked job (every stream its own node until [`JobGraph::set_nodes`]).
    pub fn of(doc: &JobDocument) -> JobGraph {
        let table: toml::Table = doc.text.parse().unwrap_or_default();
        let section = |name: &str| table.get(name).and_then(|v| v.as_table()).cloned();
        let str_of = |t: &toml::Value, key: &str| {
            t.get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let plugins: Vec<&String> = doc.file.plugins.keys().collect();
        let sources = section("sources").unwrap_or_default();
        let streams = section("streams").unwrap_or_default();
        let sinks = section("sinks").unwrap_or_default();
        let mut graph = JobGraph {
            sources: sources
                .iter()
                .map(|(name, t)| GraphSource {
                    name: name.clone(),
                    kind: str_of(t, "kind"),
                })
                .collect(),
            ..JobGraph::default()
        };
        for name in &doc.topology.order {
            let Some(t) = streams.get(name) else { continue };
            let mut from: Vec<String> = t
                .get("from")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .into_iter()
                .collect();
            if let Some(inputs) = t.get("inputs").and_then(|v| v.as_array()) {
                from.extend(inputs.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            }
            // Any string naming `plugin.function` of a declared plugin (fn, inv_fn, …).
            let functions = t
                .as_table()
                .into_iter()
                .flat_map(|t| t.values())
                .filter_map(|v| v.as_str())
                .filter(|v| {
                    v.split_once('.')
                        .is_some_and(|(p, _)| plugins.iter().any(|q| q.as_str() == p))
                })
                .map(str::to_owned)
                .collect();
            graph.streams.push(GraphStream {
                name: name.clone(),
                op: str_of(t, "op"),
                from,
                functions,
                node: name.clone(),
            });
        }
        graph.sinks = sinks
            .iter()
            .map(|(name, t)| GraphSink {
                name: name.clone(),
                kind: str_of(t, "kind"),
                from: str_of(t, "from"),
            })
            .collect();
        graph
    }

    /// Maps each stream to the executor node that runs it, given the nodes' names: a
    /// stream that is not a node was fused into its only reader's node.
    pub fn set_nodes(&mut self, nodes: &[&str]) {
        let mut reader: BTreeMap<String, String> = BTreeMap::new();
        for s in &self.streams {
            for p in &s.from {
                reader.insert(p.clone(), s.name.clone());
            }
        }
        for i in 0..self.streams.len() {
            let mut node = self.streams[i].name.clone();
            let mut hops = 0;
            while !nodes.contains(&node.as_str()) && hops < self.streams.len() {
                match reader.get(&node) {
                    Some(next) => node = next.clone(),
                    None => break,
                }
                hops += 1;
            }
            self.streams[i].node = node;
        }
    }

    /// The streams run by `node`, in order.
    pub fn members(&self, node: &str) -> Vec<&GraphStream> {
        self.streams.iter().filter(|s| s.node == node).collect()
    }
}
