//! Parsing of the NATS core protocol's message frames: the arguments of `MSG`/`HMSG` lines
//! and the header block of `HMSG` (status line and `Name: value` headers).

/// A message received on a subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsMsg {
    /// The subject it was published to.
    pub subject: String,
    /// The reply subject, if any (JetStream's `$JS.ACK...` for consumed messages).
    pub reply: Option<String>,
    /// The status code of a status message (`NATS/1.0 404 No Messages`), else `None`.
    pub status: Option<u16>,
    /// The status description.
    pub description: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The payload.
    pub payload: Vec<u8>,
}

/// `MSG subject sid [reply] len` / `HMSG subject sid [reply] hlen len` arguments.
pub(super) fn parse_msg_args(
    args: &[&str],
    headers: bool,
) -> Option<(String, Option<String>, usize, usize)> {
    let n = if headers { 4 } else { 3 };
    let (subject, reply, sizes) = match args.len() {
        l if l == n => (args[0], None, &args[2..]),
        l if l == n + 1 => (args[0], Some(args[2].to_owned()), &args[3..]),
        _ => return None,
    };
    let total: usize = sizes.last()?.parse().ok()?;
    let hlen: usize = if headers { sizes[0].parse().ok()? } else { 0 };
    (hlen <= total).then(|| (subject.to_owned(), reply, hlen, total))
}

/// `NATS/1.0[ code[ description]]\r\nName: value\r\n...\r\n\r\n`.
pub(super) fn parse_headers(block: &[u8], m: &mut NatsMsg) {
    let text = String::from_utf8_lossy(block);
    let mut lines = text.split("\r\n");
    if let Some(first) = lines.next() {
        let mut it = first.splitn(3, ' ');
        it.next();
        m.status = it.next().and_then(|c| c.parse().ok());
        m.description = it.next().unwrap_or_default().to_owned();
    }
    for l in lines.filter(|l| !l.is_empty()) {
        if let Some((k, v)) = l.split_once(':') {
            m.headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_arguments_with_and_without_reply() {
        assert_eq!(
            parse_msg_args(&["a.b", "1", "5"], false),
            Some(("a.b".to_owned(), None, 0, 5))
        );
        assert_eq!(
            parse_msg_args(&["a", "1", "r.1", "10", "15"], true),
            Some(("a".to_owned(), Some("r.1".to_owned()), 10, 15))
        );
        assert_eq!(parse_msg_args(&["a", "1", "20", "15"], true), None);
        assert_eq!(parse_msg_args(&["a"], false), None);
    }

    #[test]
    fn status_and_headers() {
        let mut m = NatsMsg::default();
        parse_headers(b"NATS/1.0 404 No Messages\r\n\r\n", &mut m);
        assert_eq!(
            (m.status, m.description.as_str()),
            (Some(404), "No Messages")
        );
        let mut m = NatsMsg::default();
        parse_headers(b"NATS/1.0\r\nNats-Msg-Id: x-1\r\n\r\n", &mut m);
        assert_eq!(m.status, None);
        assert_eq!(
            m.headers,
            vec![("Nats-Msg-Id".to_owned(), "x-1".to_owned())]
        );
    }
}
