//! Integration tests against real brokers on 127.0.0.1: tansu (Kafka protocol) and
//! redis-server. Each test starts its own broker processes on free ports and stops them
//! at the end. Missing binaries fail the tests with the command that installs them
//! (`scripts/brokers.sh`).

mod harness;
mod jobs;
mod kafka_client;
mod nats;
mod nats_recovery;
mod nats_server;
mod recovery;
mod redis_client;
mod redis_startup;
mod replay;
mod sinks;
