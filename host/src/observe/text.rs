//! The text formats of `/metrics`: OpenMetrics (what `prometheus-client` encodes) as the
//! classic Prometheus text format 0.0.4, and a tenant's series only (`sluice serve`).

/// The OpenMetrics text with only the samples labelled `tenant="NAME"` (every job's
/// series carry it in `sluice serve`); the families' `# HELP`, `# TYPE` and `# UNIT`
/// lines stay, so that the output stays valid.
pub(crate) fn only_tenant(om: &str, tenant: &str) -> String {
    let mut out = String::with_capacity(om.len());
    for line in om.lines() {
        let keep = line.starts_with('#')
            || line
                .find('{')
                .is_some_and(|at| label_value(&line[at + 1..], "tenant") == Some(tenant));
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The (unescaped, when it has no escapes) value of label `name` in a sample's label set
/// `a="x",b="y\"z"} 1`; `None` when absent. A value with escapes is returned raw, which
/// never equals a tenant name (names are `[A-Za-z0-9_-]`).
fn label_value<'a>(mut labels: &'a str, name: &str) -> Option<&'a str> {
    loop {
        let (key, rest) = labels.split_once("=\"")?;
        let bytes = rest.as_bytes();
        let mut end = 0;
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        let value = rest.get(..end)?;
        if key == name {
            return Some(value);
        }
        let after = rest.get(end + 1..)?;
        labels = after.strip_prefix(',')?;
    }
}

/// Rewrites OpenMetrics text as Prometheus text format 0.0.4: a counter's family is
/// named with its `_total` suffix, and `# UNIT` and `# EOF` lines go (the samples are
/// the same in both).
pub(crate) fn openmetrics_to_text(om: &str) -> String {
    let counters: std::collections::HashSet<&str> = om
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(om.len());
    for line in om.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(prefix);
                out.push_str(name);
                if counters.contains(name) {
                    out.push_str("_total");
                }
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_with_total_in_the_text_format() {
        let om = "# HELP c Calls.\n# TYPE c counter\nc_total{job=\"j\"} 3\n\
                  # HELP t Time.\n# TYPE t_seconds histogram\n# UNIT t_seconds seconds\n\
                  t_seconds_sum 1.5\n# EOF\n";
        assert_eq!(
            openmetrics_to_text(om),
            "# HELP c_total Calls.\n# TYPE c_total counter\nc_total{job=\"j\"} 3\n\
             # HELP t Time.\n# TYPE t_seconds histogram\nt_seconds_sum 1.5\n"
        );
    }

    #[test]
    fn a_tenant_sees_only_its_own_samples() {
        let om = "# TYPE c counter\nc_total{tenant=\"a\",job=\"1\"} 3\n\
                  c_total{tenant=\"ab\",job=\"2\"} 4\nc_total{tenant=\"b\",job=\"x\",s=\"{tenant=\\\"a\\\"\"} 5\n\
                  h_bucket{le=\"+Inf\",tenant=\"a\"} 6\nh_bucket{le=\"1\",tenant=\"b\"} 7\n# EOF\n";
        assert_eq!(
            only_tenant(om, "a"),
            "# TYPE c counter\nc_total{tenant=\"a\",job=\"1\"} 3\n\
             h_bucket{le=\"+Inf\",tenant=\"a\"} 6\n# EOF\n"
        );
    }
}
