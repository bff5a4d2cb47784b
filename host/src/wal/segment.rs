//! WAL segment files: a header, then records framed as `[len u32][crc32 u32][payload]`
//! (little endian). Appends go to the end; reading stops at the first frame that is short
//! or fails its checksum — a torn tail left by a crash in the middle of an append.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::WalError;

/// First bytes of every segment: magic and format version 1.
pub const SEGMENT_HEADER: &[u8; 10] = b"SLUICEWL\x01\x00";
/// Frame header bytes.
const FRAME_HEADER: usize = 8;
/// Largest payload accepted when reading (a larger length is a torn or corrupt frame).
const MAX_PAYLOAD: usize = 1 << 30;

/// Appends framed records to one segment.
#[derive(Debug)]
pub struct SegmentWriter {
    file: File,
    path: PathBuf,
    bytes: u64,
}

impl SegmentWriter {
    /// Creates a new segment at `path` (which must not exist) and makes it durable.
    ///
    /// # Errors
    /// [`WalError::Io`] naming the file.
    pub fn create(path: &Path) -> Result<Self, WalError> {
        let io = |e| WalError::io(path, e);
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io)?;
        file.write_all(SEGMENT_HEADER).map_err(io)?;
        file.sync_all().map_err(io)?;
        if let Some(dir) = path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| WalError::io(dir, e))?;
        }
        Ok(SegmentWriter {
            file,
            path: path.to_owned(),
            bytes: SEGMENT_HEADER.len() as u64,
        })
    }

    /// Appends one record with a single write (not yet synced).
    ///
    /// # Errors
    /// [`WalError::Io`] naming the file.
    pub fn append(&mut self, payload: &[u8]) -> Result<(), WalError> {
        let mut frame = Vec::with_capacity(FRAME_HEADER + payload.len());
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        frame.extend_from_slice(payload);
        self.file
            .write_all(&frame)
            .map_err(|e| WalError::io(&self.path, e))?;
        self.bytes += frame.len() as u64;
        Ok(())
    }

    /// Makes every appended record durable (fdatasync).
    ///
    /// # Errors
    /// [`WalError::Io`] naming the file.
    pub fn sync(&mut self) -> Result<(), WalError> {
        self.file
            .sync_data()
            .map_err(|e| WalError::io(&self.path, e))
    }

    /// Bytes in the segment.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Whether the segment holds only its header.
    pub fn is_empty(&self) -> bool {
        self.bytes == SEGMENT_HEADER.len() as u64
    }

    /// The segment's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The records of a segment, and why reading stopped early if it did.
#[derive(Debug, Default)]
pub struct SegmentRead {
    /// The payloads of the intact records, in order.
    pub records: Vec<Vec<u8>>,
    /// A torn or corrupt tail: where and what.
    pub torn: Option<String>,
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads a segment's intact records.
///
/// # Errors
/// [`WalError::Io`] when the file cannot be read (damage is reported in
/// [`SegmentRead::torn`], not as an error).
pub fn read_segment(path: &Path) -> Result<SegmentRead, WalError> {
    let bytes = std::fs::read(path).map_err(|e| WalError::io(path, e))?;
    let mut out = SegmentRead::default();
    if bytes.len() < SEGMENT_HEADER.len() || &bytes[..SEGMENT_HEADER.len()] != SEGMENT_HEADER {
        out.torn = Some("missing or invalid segment header".into());
        return Ok(out);
    }
    let mut pos = SEGMENT_HEADER.len();
    while pos < bytes.len() {
        if bytes.len() - pos < FRAME_HEADER {
            out.torn = Some(format!("{} stray bytes at offset {pos}", bytes.len() - pos));
            break;
        }
        let len = le_u32(&bytes[pos..]) as usize;
        let crc = le_u32(&bytes[pos + 4..]);
        let start = pos + FRAME_HEADER;
        if len > MAX_PAYLOAD || len > bytes.len() - start {
            out.torn = Some(format!(
                "record at offset {pos} claims {len} bytes, {} remain",
                bytes.len() - start
            ));
            break;
        }
        let payload = &bytes[start..start + len];
        if crc32fast::hash(payload) != crc {
            out.torn = Some(format!("record at offset {pos} fails its checksum"));
            break;
        }
        out.records.push(payload.to_vec());
        pos = start + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_records_and_stops_at_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("000001.wal");
        let mut w = SegmentWriter::create(&path).unwrap();
        assert!(w.is_empty());
        w.append(b"one").unwrap();
        w.append(b"").unwrap();
        w.append(b"three").unwrap();
        w.sync().unwrap();
        assert!(
            SegmentWriter::create(&path).is_err(),
            "never reopens a segment"
        );
        let full = std::fs::read(&path).unwrap();
        let read = read_segment(&path).unwrap();
        assert_eq!(
            read.records,
            vec![b"one".to_vec(), vec![], b"three".to_vec()]
        );
        assert!(read.torn.is_none());
        // Every cut inside the last frame loses only the last record.
        for cut in full.len() - 12..full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let read = read_segment(&path).unwrap();
            assert_eq!(read.records.len(), 2, "cut at {cut}");
            assert!(read.torn.is_some());
        }
        let mut flipped = full.clone();
        let n = flipped.len();
        flipped[n - 2] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        let read = read_segment(&path).unwrap();
        assert_eq!(read.records.len(), 2);
        assert!(read.torn.unwrap().contains("checksum"));
        std::fs::write(&path, b"SLU").unwrap();
        assert!(read_segment(&path).unwrap().torn.is_some());
    }
}
