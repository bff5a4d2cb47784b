//! [`LineSplitter`]: cuts a byte stream into lines, bounded in memory, with positions.

/// How much of an over-long line is kept for the dead-letter record.
pub const OVERLONG_PREFIX: usize = 1024;

/// One line handed to the callback of [`LineSplitter::feed`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A complete line without its `\n` (a trailing `\r` is kept; decoders strip it).
    Complete(&'a [u8]),
    /// A line longer than the limit: its first bytes, its full length and the limit
    /// (the source's `max_line_length`).
    TooLong {
        prefix: &'a [u8],
        len: u64,
        max: usize,
    },
}

/// Where a line starts: 1-based line number and byte offset in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAt {
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line's first byte.
    pub offset: u64,
}

/// Splits chunks of bytes into lines. Lines that fit in one chunk are handed out without
/// copying; a line longer than `max_line` is never buffered beyond the limit.
#[derive(Debug)]
pub struct LineSplitter {
    max_line: usize,
    pending: Vec<u8>,
    pending_len: u64,
    overlong: bool,
    line: u64,
    line_start: u64,
    consumed: u64,
}

impl LineSplitter {
    /// A splitter for lines of at most `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        LineSplitter {
            max_line,
            pending: Vec::new(),
            pending_len: 0,
            overlong: false,
            line: 1,
            line_start: 0,
            consumed: 0,
        }
    }

    /// Bytes consumed so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Feeds a chunk, calling `f` for every line it completes.
    pub fn feed(&mut self, chunk: &[u8], mut f: impl FnMut(Line<'_>, LineAt)) {
        let mut start = 0;
        while let Some(i) = memchr::memchr(b'\n', &chunk[start..]) {
            let nl = start + i;
            let piece = &chunk[start..nl];
            let at = LineAt {
                line: self.line,
                offset: self.line_start,
            };
            if self.overlong || !self.pending.is_empty() {
                self.append(piece);
                if self.overlong {
                    f(
                        Line::TooLong {
                            prefix: &self.pending,
                            len: self.pending_len,
                            max: self.max_line,
                        },
                        at,
                    );
                } else {
                    f(Line::Complete(&self.pending), at);
                }
                self.pending.clear();
                self.pending_len = 0;
                self.overlong = false;
            } else if piece.len() > self.max_line {
                f(
                    Line::TooLong {
                        prefix: &piece[..OVERLONG_PREFIX.min(piece.len())],
                        len: piece.len() as u64,
                        max: self.max_line,
                    },
                    at,
                );
            } else {
                f(Line::Complete(piece), at);
            }
            self.line += 1;
            self.line_start = self.consumed + nl as u64 + 1;
            start = nl + 1;
        }
        self.append(&chunk[start..]);
        self.consumed += chunk.len() as u64;
    }

    /// Ends the stream: a last line without a newline is handed out.
    pub fn finish(&mut self, mut f: impl FnMut(Line<'_>, LineAt)) {
        if self.pending_len == 0 {
            return;
        }
        let at = LineAt {
            line: self.line,
            offset: self.line_start,
        };
        if self.overlong {
            f(
                Line::TooLong {
                    prefix: &self.pending,
                    len: self.pending_len,
                    max: self.max_line,
                },
                at,
            );
        } else {
            f(Line::Complete(&self.pending), at);
        }
        self.pending.clear();
        self.pending_len = 0;
        self.overlong = false;
        self.line += 1;
        self.line_start = self.consumed;
    }

    fn append(&mut self, bytes: &[u8]) {
        self.pending_len += bytes.len() as u64;
        if self.overlong {
            return;
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() > self.max_line {
            self.overlong = true;
            self.pending.truncate(OVERLONG_PREFIX.min(self.max_line));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], max: usize) -> Vec<(String, u64, u64)> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        let mut push = |l: Line<'_>, at: LineAt| {
            let text = match l {
                Line::Complete(b) => String::from_utf8_lossy(b).into_owned(),
                Line::TooLong { len, .. } => format!("<too long: {len}>"),
            };
            out.push((text, at.line, at.offset));
        };
        for c in chunks {
            s.feed(c, &mut push);
        }
        s.finish(&mut push);
        out
    }

    #[test]
    fn splits_across_chunks_with_positions() {
        let got = split(&[b"ab\ncd", b"e\n\nf"], 10);
        assert_eq!(
            got,
            vec![
                ("ab".into(), 1, 0),
                ("cde".into(), 2, 3),
                ("".into(), 3, 7),
                ("f".into(), 4, 8)
            ]
        );
    }

    #[test]
    fn overlong_lines_are_reported_not_buffered() {
        let got = split(&[b"0123", b"456789\nok\n", b"abcdefgh"], 5);
        assert_eq!(
            got,
            vec![
                ("<too long: 10>".into(), 1, 0),
                ("ok".into(), 2, 11),
                ("<too long: 8>".into(), 3, 14)
            ]
        );
    }
}
