//! Turns a conformance case into a job file: queue sources, the pipeline stages, the op.

use std::fmt::Write as _;

use serde_json::Value;

/// The plugin every builtin name maps to.
pub const PLUGIN: &str = "spark";

/// A job file for a case, and the names of the streams to collect.
pub struct CaseJob {
    /// The TOML text.
    pub toml: String,
    /// The stream whose batches are compared with `expected`.
    pub output: String,
    /// The `state_snapshots` stream, for cases with `expected_state`.
    pub state: Option<String>,
}

struct Builder {
    toml: String,
    n: usize,
}

impl Builder {
    fn stream(&mut self, parents: &[String], op: &str, settings: &[(String, String)]) -> String {
        self.n += 1;
        let name = format!("s{}_{op}", self.n);
        let _ = writeln!(self.toml, "\n[streams.{name}]");
        if parents.len() == 1 && !matches!(op, "union" | "context_transform") {
            let _ = writeln!(self.toml, "from = {}", toml_str(&parents[0]));
        } else {
            let list: Vec<String> = parents.iter().map(|p| toml_str(p)).collect();
            let _ = writeln!(self.toml, "inputs = [{}]", list.join(", "));
        }
        let _ = writeln!(self.toml, "op = {}", toml_str(op));
        for (k, v) in settings {
            let _ = writeln!(self.toml, "{k} = {v}");
        }
        name
    }

    fn stages(&mut self, mut head: String, stages: Option<&Value>) -> Result<String, String> {
        for stage in stages.and_then(Value::as_array).into_iter().flatten() {
            let op = stage["op"].as_str().ok_or("a stage without `op`")?;
            let mut settings = Vec::new();
            if let Some(f) = stage.get("fn").and_then(Value::as_str) {
                settings.push(("fn".to_owned(), plugin_fn(f)));
            }
            head = self.stream(&[head], op, &settings);
        }
        Ok(head)
    }
}

fn toml_str(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

fn plugin_fn(builtin: &str) -> String {
    toml_str(&format!("{PLUGIN}.{builtin}"))
}

fn ms(v: &Value) -> Option<String> {
    v.as_i64().map(|ms| toml_str(&format!("{ms}ms")))
}

/// The op's settings from the case's params.
fn op_settings(op: &str, params: &Value) -> Vec<(String, String)> {
    let mut s = Vec::new();
    for (key, field) in [
        ("fn", "fn"),
        ("inv_fn", "inv_fn"),
        ("filter_fn", "filter_fn"),
    ] {
        if let Some(f) = params.get(key).and_then(Value::as_str) {
            s.push((field.to_owned(), plugin_fn(f)));
        }
    }
    for (key, field) in [
        ("window_ms", "window"),
        ("slide_ms", "slide"),
        ("timeout_ms", "timeout"),
    ] {
        if let Some(v) = params.get(key).and_then(ms) {
            s.push((field.to_owned(), v));
        }
    }
    let keyed = !matches!(
        op,
        "window"
            | "count_by_window"
            | "reduce_by_window"
            | "transform"
            | "transform_with"
            | "context_transform"
            | "union"
            | "identity"
            | "reduce"
            | "count"
            | "slice"
    );
    if let (Some(n), true) = (params.get("num_partitions").and_then(Value::as_u64), keyed) {
        s.push(("partitions".to_owned(), n.to_string()));
    }
    if let Some(init) = params.get("initial_state") {
        s.push(("initial_state".to_owned(), format!("'''{init}'''")));
    }
    s
}

/// Builds the job for a case.
///
/// # Errors
/// A sentence when the case's shape is not understood.
pub fn case_job(case: &Value, plugin_path: &str) -> Result<CaseJob, String> {
    let params = &case["params"];
    let batch_ms = params["batch_ms"].as_i64().unwrap_or(1000);
    let input_partitions = params["input_partitions"].as_u64().unwrap_or(2);
    let mut b = Builder {
        toml: String::new(),
        n: 0,
    };
    let _ = writeln!(
        b.toml,
        "[job]\nname = \"conformance\"\nbatch_interval = \"{batch_ms}ms\"\nblock_interval = \"{batch_ms}ms\"\npartitions = 2"
    );
    let _ = writeln!(
        b.toml,
        "\n[plugins.{PLUGIN}]\npath = {}",
        toml_str(plugin_path)
    );
    let inputs: Vec<&Value> = match (case.get("input"), case.get("inputs")) {
        (Some(i), None) => vec![i],
        (None, Some(Value::Array(list))) => list.iter().collect(),
        _ => return Err("the case needs `input` or `inputs`".into()),
    };
    let mut sources = Vec::new();
    for (i, batches) in inputs.iter().enumerate() {
        let name = format!("in{i}");
        let _ = writeln!(
            b.toml,
            "\n[sources.{name}]\nkind = \"queue\"\ninput_partitions = {input_partitions}\ndata = '''{batches}'''"
        );
        sources.push(name);
    }
    let op = case["op"].as_str().ok_or("the case has no `op`")?;
    let mut heads = Vec::new();
    if let Some(each) = case.get("pre_each").and_then(Value::as_array) {
        for (src, stages) in sources.iter().zip(each) {
            heads.push(b.stages(src.clone(), Some(stages))?);
        }
    } else {
        for src in &sources {
            heads.push(b.stages(src.clone(), case.get("pre"))?);
        }
    }
    if let Some(branches) = case.get("branches").and_then(Value::as_array) {
        let head = heads.first().cloned().ok_or("branches need one input")?;
        heads = branches
            .iter()
            .map(|stages| b.stages(head.clone(), Some(stages)))
            .collect::<Result<_, _>>()?;
    }
    let op_stream = match op {
        // `slice` is a query over the remembered batches of the stream (see drive.rs).
        "slice" => heads[0].clone(),
        _ => b.stream(&heads, op, &op_settings(op, params)),
    };
    let state = case
        .get("expected_state")
        .map(|_| b.stream(std::slice::from_ref(&op_stream), "state_snapshots", &[]));
    let output = b.stages(op_stream, case.get("post"))?;
    Ok(CaseJob {
        toml: b.toml,
        output,
        state,
    })
}
