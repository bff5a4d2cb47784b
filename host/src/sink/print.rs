//! The `print` sink: Spark's `print()`, to stdout.

use std::io::Write;

use super::{record_json, Sink, SinkError};
use crate::record::Batch;
use crate::record::BatchTime;

/// Prints a header with the batch time, the first `num` records as JSON, then `...` when
/// there are more, then an empty line.
#[derive(Debug)]
pub struct PrintSink {
    num: usize,
}

impl PrintSink {
    /// A print sink showing `num` records per batch.
    pub fn new(num: usize) -> Self {
        PrintSink { num }
    }
}

/// The text `print` writes for one batch.
pub fn render(time: BatchTime, batch: &Batch, num: usize) -> String {
    let rule = "-------------------------------------------";
    let mut s = format!("{rule}\nTime: {time} ms\n{rule}\n");
    for r in batch.records().take(num) {
        s.push_str(&record_json(r));
        s.push('\n');
    }
    if batch.len() > num {
        s.push_str("...\n");
    }
    s.push('\n');
    s
}

impl Sink for PrintSink {
    fn write_batch(&mut self, time: BatchTime, batch: &Batch) -> Result<(), SinkError> {
        let mut out = std::io::stdout().lock();
        out.write_all(render(time, batch, self.num).as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| SinkError::Write {
                sink: "print".to_owned(),
                message: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Partition;

    #[test]
    fn renders_like_spark() {
        let mut p = Partition::new();
        for i in 0..12u8 {
            p.push(&[i]);
        }
        let text = render(
            2000,
            &Batch {
                partitions: vec![p],
            },
            10,
        );
        assert!(text.starts_with("-------------------------------------------\nTime: 2000 ms\n-------------------------------------------\n0\n1\n"));
        assert!(text.ends_with("8\n9\n...\n\n"), "{text}");
    }
}
