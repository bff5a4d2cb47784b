//! Places in a job file's text: line and column of an offset, and the span of a key or a
//! value that serde's spans do not give.

use std::ops::Range;

/// A problem found in a job file: where it is (`None`: the file as a whole) and a
/// sentence; `JobDocument` turns it into a `JobError` with line and column.
pub(super) type Problem = (Option<Range<usize>>, String);

/// 1-based line and column (in characters) of byte `offset`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Where the table whose span is `span` ends: toml spans a `[table]` by its header only,
/// so its keys run up to the next header.
fn table_end(text: &str, span: &Range<usize>) -> usize {
    let end = span.end.min(text.len());
    if !text[span.start.min(end)..].starts_with('[') {
        return end;
    }
    let mut at = end;
    for line in text[end..].split_inclusive('\n') {
        if line.trim_start().starts_with('[') {
            break;
        }
        at += line.len();
    }
    at
}

/// serde reports an unknown field of a tagged enum at the enclosing table; when the
/// message names the key, point at the key itself.
pub(super) fn refine_span(text: &str, span: Range<usize>, message: &str) -> Range<usize> {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return span;
    };
    let Some(key) = rest.split('`').next() else {
        return span;
    };
    let region = &text[span.start.min(text.len())..table_end(text, &span)];
    let mut offset = span.start;
    for line in region.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(after) = trimmed.strip_prefix(key) {
            if after.trim_start().starts_with('=') {
                return offset + indent..offset + indent + key.len();
            }
        }
        offset += line.len();
    }
    // Inline tables: `{ ..., key = ... }`.
    if let Some(i) = region.find(&format!(" {key} =")) {
        return span.start + i + 1..span.start + i + 1 + key.len();
    }
    span
}

/// The span of `key = value`'s value inside the table at `table` (the table itself when
/// the key is not written there, e.g. defaulted).
pub(super) fn field_span(text: &str, table: Range<usize>, key: &str) -> Range<usize> {
    let message = format!("unknown field `{key}`");
    let key_span = refine_span(text, table.clone(), &message);
    if key_span == table {
        return table;
    }
    let rest = &text[key_span.end..];
    let value_start = rest
        .find('=')
        .map(|i| i + 1 + rest[i + 1..].len() - rest[i + 1..].trim_start().len())
        .unwrap_or(0);
    let value_len = rest[value_start..]
        .find(['\n', '#'])
        .unwrap_or(rest.len() - value_start);
    let start = key_span.end + value_start;
    start..start + rest[value_start..value_start + value_len].trim_end().len()
}
