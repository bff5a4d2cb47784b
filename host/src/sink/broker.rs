//! What the broker sinks (`kafka`, `redis`) share: a batch's records encoded as messages,
//! and write errors that name the sink and the batch.

use super::SinkError;
use crate::brokers::{encode_for_sink, SinkMessage};
use crate::job::RecordFormat;
use crate::record::Batch;
use crate::record::BatchTime;

/// `sink `name`: batch <time> ms: <message>`.
pub(super) fn batch_error(sink: &str, time: BatchTime, message: String) -> SinkError {
    SinkError::Write {
        sink: sink.to_owned(),
        message: format!("batch {time} ms: {message}"),
    }
}

/// Every record of `batch` as a message (a pair `[k, v]` gives key `k` when
/// `key_from_pair`), in batch order.
///
/// # Errors
/// [`SinkError::Write`] naming the record's index when a record has no encoding.
pub(super) fn encode_batch(
    sink: &str,
    time: BatchTime,
    batch: &Batch,
    key_from_pair: bool,
    format: RecordFormat,
) -> Result<Vec<SinkMessage>, SinkError> {
    batch
        .records()
        .enumerate()
        .map(|(i, record)| {
            encode_for_sink(record, key_from_pair, format)
                .map_err(|e| batch_error(sink, time, format!("record {i}: {e}")))
        })
        .collect()
}
