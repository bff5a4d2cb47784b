//! [`KafkaReader`]: reads exact offset ranges of Kafka partitions, like Spark's direct
//! stream. Partitions are assigned (no group join, no rebalances) and read from offsets
//! the caller owns; the group only receives commits, for monitoring tools.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};

use super::kafka_context::KafkaContext;
use super::BrokerError;
use crate::job::KafkaStart;

mod read;

/// How to reach the brokers and what to read.
#[derive(Debug, Clone)]
pub struct KafkaReaderConfig {
    /// `host:port[,host:port...]`.
    pub bootstrap: String,
    /// The topics, read in this order; every partition of each.
    pub topics: Vec<String>,
    /// The consumer group offsets are committed to.
    pub group: String,
    /// Extra librdkafka properties, applied last.
    pub properties: Vec<(String, String)>,
    /// Timeout of metadata, offset and commit requests.
    pub timeout: Duration,
}

/// What one read of a partition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionRead {
    /// Records handed to the callback.
    pub records: u64,
    /// The offset the read started at.
    pub from: i64,
    /// The offset the next read starts at.
    pub until: i64,
}

struct Cursor {
    topic: String,
    partition: i32,
    next: i64,
    stash: VecDeque<OwnedMessage>,
}

/// Reads assigned Kafka partitions from offsets the caller controls.
pub struct KafkaReader {
    config: KafkaReaderConfig,
    consumer: Arc<BaseConsumer<KafkaContext>>,
    cursors: Vec<Cursor>,
    queues: Vec<PartitionQueue<KafkaContext>>,
    unreachable: bool,
}

impl KafkaReader {
    /// Connects, checks that every topic exists and lists its partitions, then starts at
    /// `start`.
    ///
    /// # Errors
    /// [`BrokerError::UnknownTopic`] naming a missing topic; [`BrokerError::Kafka`] when the
    /// brokers cannot be reached or refuse a request.
    pub fn open(config: KafkaReaderConfig, start: KafkaStart) -> Result<Self, BrokerError> {
        let mut cc = ClientConfig::new();
        cc.set("bootstrap.servers", &config.bootstrap)
            .set("group.id", &config.group)
            .set("client.id", "sluice")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "error")
            .set("fetch.wait.max.ms", "100")
            .set("reconnect.backoff.ms", "100")
            .set("reconnect.backoff.max.ms", "1000")
            .set("queued.max.messages.kbytes", "16384");
        for (k, v) in &config.properties {
            cc.set(k, v);
        }
        let consumer: BaseConsumer<KafkaContext> = cc
            .create_with_context(KafkaContext::default())
            .map_err(|e| kafka_error(&config.bootstrap, "cannot create the consumer", &e))?;
        let mut reader = KafkaReader {
            consumer: Arc::new(consumer),
            cursors: Vec::new(),
            queues: Vec::new(),
            unreachable: false,
            config,
        };
        reader.list_partitions()?;
        reader.start_at(start)?;
        Ok(reader)
    }

    fn list_partitions(&mut self) -> Result<(), BrokerError> {
        let bootstrap = self.config.bootstrap.clone();
        for topic in &self.config.topics {
            let md = self
                .consumer
                .fetch_metadata(Some(topic), self.config.timeout)
                .map_err(|e| {
                    kafka_error(
                        &bootstrap,
                        &format!("cannot fetch metadata of topic `{topic}`"),
                        &e,
                    )
                })?;
            let t = md.topics().iter().find(|t| t.name() == topic);
            let missing = match t {
                None => true,
                Some(t) => {
                    t.error().is_some_and(|e| {
                        RDKafkaErrorCode::from(e) == RDKafkaErrorCode::UnknownTopicOrPartition
                    }) || t.partitions().is_empty()
                }
            };
            if missing {
                return Err(BrokerError::UnknownTopic {
                    topic: topic.clone(),
                    bootstrap,
                });
            }
            if let Some(e) = t.and_then(|t| t.error()) {
                return Err(BrokerError::Kafka {
                    bootstrap,
                    message: format!("topic `{topic}`: {:?}", RDKafkaErrorCode::from(e)),
                });
            }
            let mut ids: Vec<i32> = t
                .map(|t| t.partitions().iter().map(|p| p.id()).collect())
                .unwrap_or_default();
            ids.sort_unstable();
            self.cursors.extend(ids.into_iter().map(|partition| Cursor {
                topic: topic.clone(),
                partition,
                next: 0,
                stash: VecDeque::new(),
            }));
        }
        Ok(())
    }

    fn start_at(&mut self, start: KafkaStart) -> Result<(), BrokerError> {
        let committed = if start == KafkaStart::Committed {
            let mut tpl = TopicPartitionList::new();
            for c in &self.cursors {
                tpl.add_partition(&c.topic, c.partition);
            }
            let got = self
                .consumer
                .committed_offsets(tpl, self.config.timeout)
                .map_err(|e| self.error("cannot fetch the group's committed offsets", &e))?;
            self.cursors
                .iter()
                .map(|c| {
                    match got
                        .find_partition(&c.topic, c.partition)
                        .map(|e| e.offset())
                    {
                        Some(Offset::Offset(o)) if o >= 0 => Some(o),
                        _ => None,
                    }
                })
                .collect()
        } else {
            vec![None; self.cursors.len()]
        };
        for (i, stored) in committed.into_iter().enumerate() {
            let next = match stored {
                Some(o) => o,
                None => {
                    let c = &self.cursors[i];
                    let (low, high) = self
                        .consumer
                        .fetch_watermarks(&c.topic, c.partition, self.config.timeout)
                        .map_err(|e| {
                            self.error(
                                &format!("cannot list the offsets of {}/{}", c.topic, c.partition),
                                &e,
                            )
                        })?;
                    if start == KafkaStart::Latest {
                        high
                    } else {
                        low
                    }
                }
            };
            self.cursors[i].next = next;
        }
        self.assign()
    }

    fn assign(&mut self) -> Result<(), BrokerError> {
        self.queues.clear();
        let mut tpl = TopicPartitionList::new();
        for c in &mut self.cursors {
            c.stash.clear();
            tpl.add_partition_offset(&c.topic, c.partition, Offset::Offset(c.next))
                .map_err(|e| {
                    kafka_error(&self.config.bootstrap, "cannot build the assignment", &e)
                })?;
        }
        self.consumer
            .assign(&tpl)
            .map_err(|e| self.error("cannot assign the partitions", &e))?;
        for c in &self.cursors {
            let q = self
                .consumer
                .split_partition_queue(&c.topic, c.partition)
                .ok_or_else(|| BrokerError::Kafka {
                    bootstrap: self.config.bootstrap.clone(),
                    message: format!("no queue for partition {}/{}", c.topic, c.partition),
                })?;
            self.queues.push(q);
        }
        Ok(())
    }

    /// The partitions read, in order: `(topic, partition)`.
    pub fn partitions(&self) -> impl ExactSizeIterator<Item = (&str, i32)> + '_ {
        self.cursors.iter().map(|c| (c.topic.as_str(), c.partition))
    }

    /// The offset each partition's next read starts at, in [`KafkaReader::partitions`] order.
    pub fn offsets(&self) -> Vec<i64> {
        self.cursors.iter().map(|c| c.next).collect()
    }

    /// Continues every partition from the given offsets (`(topic, partition, offset)`);
    /// partitions not listed keep their current offset.
    ///
    /// # Errors
    /// [`BrokerError::Kafka`] when a listed partition is not read by this reader, or the
    /// assignment fails.
    pub fn seek(&mut self, offsets: &[(String, i32, i64)]) -> Result<(), BrokerError> {
        for (topic, partition, offset) in offsets {
            let c = self
                .cursors
                .iter_mut()
                .find(|c| &c.topic == topic && c.partition == *partition)
                .ok_or_else(|| BrokerError::Kafka {
                    bootstrap: self.config.bootstrap.clone(),
                    message: format!(
                        "cannot seek: partition {topic}/{partition} is not read by this source"
                    ),
                })?;
            c.next = *offset;
        }
        self.assign()
    }

    /// Serves librdkafka's callbacks and reports broker reachability changes in the log.
    /// Reads call it; call it when not reading for a while.
    pub fn serve(&mut self) {
        while let Some(r) = self.consumer.poll(Duration::ZERO) {
            if let Ok(m) = r {
                let m = m.detach();
                if let Some(c) = self
                    .cursors
                    .iter_mut()
                    .find(|c| c.topic == m.topic() && c.partition == m.partition())
                {
                    c.stash.push_back(m);
                }
            }
        }
        let ctx = self.consumer.context();
        if let Some(reason) = ctx.down() {
            if !self.unreachable {
                self.unreachable = true;
                tracing::warn!(
                    bootstrap = %self.config.bootstrap,
                    "Kafka is unreachable ({reason}); waiting for it to come back."
                );
            } else if self
                .consumer
                .fetch_metadata(None, Duration::from_millis(300))
                .is_ok()
            {
                self.reachable();
            }
        }
    }

    fn reachable(&mut self) {
        if self.unreachable {
            self.unreachable = false;
            self.consumer.context().mark_up();
            let at: Vec<String> = self
                .cursors
                .iter()
                .map(|c| format!("{}/{}@{}", c.topic, c.partition, c.next))
                .collect();
            tracing::warn!(
                bootstrap = %self.config.bootstrap,
                "Kafka is reachable again; resuming at {}.",
                at.join(", ")
            );
        }
    }

    /// Whether the brokers were last seen unreachable.
    pub fn is_unreachable(&self) -> bool {
        self.unreachable
    }

    /// Commits offsets (`(topic, partition, next offset)`) to the consumer group, waiting for
    /// the answer. For monitoring tools: Sluice itself resumes from its checkpoints.
    ///
    /// # Errors
    /// [`BrokerError::Kafka`] when the commit fails.
    pub fn commit(&self, offsets: &[(String, i32, i64)]) -> Result<(), BrokerError> {
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, offset) in offsets {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(|e| self.error("cannot build the commit", &e))?;
        }
        self.consumer.commit(&tpl, CommitMode::Sync).map_err(|e| {
            self.error(
                &format!("cannot commit offsets to group `{}`", self.config.group),
                &e,
            )
        })
    }

    fn error(&self, what: &str, e: &KafkaError) -> BrokerError {
        kafka_error(&self.config.bootstrap, what, e)
    }
}

pub(super) fn kafka_error(bootstrap: &str, what: &str, e: &KafkaError) -> BrokerError {
    BrokerError::Kafka {
        bootstrap: bootstrap.to_owned(),
        message: format!("{what}: {e}"),
    }
}
