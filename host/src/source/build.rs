//! Building a job's sources from their `[sources.NAME]` tables, as `sink::build` does
//! for sinks: one arm per kind, each handing its settings to the kind's own constructor.

use super::{
    FilesSource, GeneratorSource, KafkaSource, NatsSource, QueueSource, ReceiverSpec, RedisSource,
    SourceError, SourceSpec,
};
use crate::job::{JobDocument, SourceConfig};

/// Builds source `name` of the job: direct sources open (and check their input) now;
/// receivers start when the job starts.
///
/// # Errors
/// [`SourceError`], with the file, line and column for a problem in the job file.
pub fn build(doc: &JobDocument, name: &str) -> Result<SourceSpec, SourceError> {
    let batch_ms = doc.batch_ms();
    let config = doc.file.sources[name].get_ref();
    Ok(match config {
        SourceConfig::Generator(c) => {
            SourceSpec::Direct(Box::new(GeneratorSource::new(name, c, batch_ms)))
        }
        SourceConfig::Queue(c) => {
            SourceSpec::Direct(Box::new(QueueSource::from_config(doc, name, c)?))
        }
        SourceConfig::Files(c) => {
            SourceSpec::Direct(Box::new(FilesSource::from_config(doc, name, c)?))
        }
        SourceConfig::Tcp(c) => SourceSpec::Receiver(ReceiverSpec::tcp(name, c)),
        SourceConfig::Stdin(c) => SourceSpec::Receiver(ReceiverSpec::stdin(name, c)),
        SourceConfig::Kafka(c) => SourceSpec::Direct(Box::new(KafkaSource::new(name, c, batch_ms))),
        SourceConfig::Redis(c) => SourceSpec::Direct(Box::new(RedisSource::new(name, c, batch_ms))),
        SourceConfig::Nats(c) => SourceSpec::Direct(Box::new(NatsSource::new(name, c, batch_ms))),
    })
}
