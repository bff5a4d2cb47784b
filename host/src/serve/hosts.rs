//! Network endpoints of a job in serve mode: the `host:port` each `tcp`, Kafka, Redis and
//! NATS source or sink reaches, checked against the tenant's `allowed_hosts`, and the
//! librdkafka properties a tenant may set.

/// `host:port` (or `[v6]:port`) split in two; `None` when there is no numeric port.
pub fn split_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (!host.is_empty() && !host.contains(['/', '@', ' '])).then_some((host, port))
}

/// The canonical spelling used for comparisons: lower-case host, then the port.
fn canonical(host: &str, port: u16) -> String {
    format!("{}:{port}", host.to_ascii_lowercase())
}

/// Whether `host:port` is in `allowed` (hosts compared without case).
pub fn is_allowed(allowed: &[String], host: &str, port: u16) -> bool {
    let want = canonical(host, port);
    allowed
        .iter()
        .filter_map(|a| split_host_port(a))
        .any(|(h, p)| canonical(h, p) == want)
}

/// The endpoints of a Kafka `bootstrap_servers` list (port 9092 when omitted).
pub fn kafka_endpoints(servers: &str) -> Result<Vec<(String, u16)>, String> {
    servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| with_default_port(s, 9092))
        .collect()
}

/// The endpoint of a `redis://[user[:password]@]host[:port][/db]` URL (port 6379).
pub fn redis_endpoint(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("redis://")
        .or_else(|| url.strip_prefix("rediss://"))
        .ok_or_else(|| format!("`{url}` is not a `redis://host:port` URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    with_default_port(authority, 6379)
}

/// The endpoint of a NATS URL, `nats://host:port`, `host:port` or `host` (port 4222), read
/// as the NATS client reads it.
pub fn nats_endpoint(url: &str) -> Result<(String, u16), String> {
    let rest = url.strip_prefix("nats://").unwrap_or(url);
    let rest = rest.trim_end_matches('/');
    let rest = rest.rsplit_once('@').map_or(rest, |(_, a)| a);
    with_default_port(rest, 4222)
}

fn with_default_port(s: &str, port: u16) -> Result<(String, u16), String> {
    if let Some((h, p)) = split_host_port(s) {
        return Ok((h.to_owned(), p));
    }
    let valid = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    if valid {
        Ok((s.to_owned(), port))
    } else {
        Err(format!("`{s}` is not `host:port`"))
    }
}

/// librdkafka properties a tenant may set: tuning only. Anything else (addresses, files,
/// plugins, commands, security settings) is the platform's to choose.
const KAFKA_PROPERTY_PREFIXES: &[&str] = &[
    "fetch.",
    "queue.",
    "queued.",
    "batch.",
    "linger.ms",
    "compression.",
    "message.max.bytes",
    "max.poll.interval.ms",
    "max.in.flight",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "socket.timeout.ms",
    "request.timeout.ms",
    "message.timeout.ms",
    "retries",
    "retry.backoff.",
    "acks",
    "client.id",
    "isolation.level",
    "auto.offset.reset",
    "partition.assignment.strategy",
];

/// Whether a tenant may set the librdkafka property `key`.
pub fn kafka_property_allowed(key: &str) -> bool {
    KAFKA_PROPERTY_PREFIXES.iter().any(|p| key.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_read_like_the_clients_read_them() {
        assert_eq!(split_host_port("127.0.0.1:9092"), Some(("127.0.0.1", 9092)));
        assert_eq!(split_host_port("[::1]:80"), Some(("::1", 80)));
        assert_eq!(split_host_port("host"), None);
        assert_eq!(
            kafka_endpoints("a:1, b").unwrap(),
            vec![("a".into(), 1), ("b".into(), 9092)]
        );
        assert_eq!(
            redis_endpoint("redis://u:p@Cache:7000/2").unwrap(),
            ("Cache".into(), 7000)
        );
        assert!(redis_endpoint("unix:///tmp/redis.sock").is_err());
        assert_eq!(nats_endpoint("nats://n1/").unwrap(), ("n1".into(), 4222));
        let allowed = vec!["cache:7000".to_owned()];
        assert!(is_allowed(&allowed, "CACHE", 7000));
        assert!(!is_allowed(&allowed, "cache", 7001));
        assert!(kafka_property_allowed("fetch.min.bytes"));
        assert!(!kafka_property_allowed("plugin.library.paths"));
        assert!(!kafka_property_allowed("ssl.key.location"));
        assert!(!kafka_property_allowed("bootstrap.servers"));
    }
}
