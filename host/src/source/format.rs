//! [`LineDecoder`]: turns lines into records (text or JSON), or into dead letters.

use sluice_abi::msgpack;

use super::lines::{Line, OVERLONG_PREFIX};
use crate::job::Format;
use crate::record::DeadLetter;
use crate::record::{json_to_msgpack, Partition};

/// Decodes lines of one source in one format.
#[derive(Debug, Clone)]
pub struct LineDecoder {
    source: String,
    format: Format,
}

impl LineDecoder {
    /// A decoder for the source named `source`.
    pub fn new(source: &str, format: Format) -> Self {
        LineDecoder {
            source: source.to_owned(),
            format,
        }
    }

    /// The source's name.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Appends the record a line holds to `out`, or returns why it cannot be read.
    /// `position` describes where the line is (`file:line`, `host:port@offset`), for the
    /// dead letter; it is only called on failure.
    pub fn decode(
        &self,
        line: Line<'_>,
        out: &mut Partition,
        position: impl FnOnce() -> String,
    ) -> Result<(), DeadLetter> {
        let bytes = match line {
            Line::Complete(b) => b.strip_suffix(b"\r").unwrap_or(b),
            Line::TooLong { prefix, len, max } => {
                return Err(self.dead(
                    prefix,
                    format!(
                        "{}: line of {len} bytes is longer than `max_line_length` ({max} bytes)",
                        position()
                    ),
                ))
            }
        };
        match self.format {
            Format::Text => match std::str::from_utf8(bytes) {
                Ok(s) => {
                    out.push_with(|b| msgpack::write_str(b, s));
                    Ok(())
                }
                Err(e) => Err(self.dead(
                    bytes,
                    format!(
                        "{}: invalid UTF-8 at byte {} of the line",
                        position(),
                        e.valid_up_to()
                    ),
                )),
            },
            Format::Json => match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(v) => {
                    out.push_with(|b| json_to_msgpack(&v, b));
                    Ok(())
                }
                Err(e) => Err(self.dead(bytes, format!("{}: invalid JSON: {e}", position()))),
            },
        }
    }

    /// A dead letter whose record is the (start of the) raw line as a string.
    pub fn dead(&self, raw: &[u8], reason: String) -> DeadLetter {
        let raw = &raw[..raw.len().min(OVERLONG_PREFIX)];
        let mut record = Vec::with_capacity(raw.len() + 5);
        msgpack::write_str(&mut record, &String::from_utf8_lossy(raw));
        DeadLetter {
            stream: self.source.clone(),
            record,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_text_and_json_and_reports_bad_lines() {
        let text = LineDecoder::new("in", Format::Text);
        let mut p = Partition::new();
        text.decode(Line::Complete(b"hi\r"), &mut p, || unreachable!())
            .unwrap();
        assert_eq!(p.get(0), Some(&[0xa2, b'h', b'i'][..]));
        let dead = text
            .decode(Line::Complete(b"a\xffb"), &mut p, || "f.txt:3".into())
            .unwrap_err();
        assert_eq!(dead.reason, "f.txt:3: invalid UTF-8 at byte 1 of the line");
        assert_eq!(dead.stream, "in");

        let json = LineDecoder::new("in", Format::Json);
        json.decode(Line::Complete(b"[1, 2]"), &mut p, || unreachable!())
            .unwrap();
        assert_eq!(p.get(1), Some(&[0x92, 1, 2][..]));
        let dead = json
            .decode(Line::Complete(b"{oops"), &mut p, || "x:1".into())
            .unwrap_err();
        assert!(
            dead.reason
                .starts_with("x:1: invalid JSON: key must be a string"),
            "{}",
            dead.reason
        );
    }
}
