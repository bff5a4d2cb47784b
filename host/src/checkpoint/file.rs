//! Checkpoint files on disk: a versioned, checksummed header in front of the body, and
//! atomic replacement (temporary file, fsync, rename, fsync of the directory).
//!
//! Layout of every checkpoint file (little endian):
//!
//! ```text
//! 0   magic      8 bytes   "SLUICEMT" (metadata) or "SLUICEST" (operator state)
//! 8   version    u16       FORMAT_VERSION
//! 10  flags      u16       state files: 0 = full snapshot, 1 = delta
//! 12  body_len   u64
//! 20  body_crc   u32       crc32 of the body
//! 24  header_crc u32       crc32 of bytes 0..24
//! 28  body
//! ```
//!
//! A short file, a wrong magic or version, a bad checksum or a length that does not match
//! the file is reported as [`CheckpointError::Corrupt`] with the reason.

use std::path::Path;

use super::CheckpointError;

/// The on-disk format version written by this build.
pub const FORMAT_VERSION: u16 = 1;
/// Magic of metadata files.
pub const META_MAGIC: &[u8; 8] = b"SLUICEMT";
/// Magic of operator state files.
pub const STATE_MAGIC: &[u8; 8] = b"SLUICEST";
/// Bytes before the body.
pub const HEADER_LEN: usize = 28;

/// Frames `body` with a header.
pub fn encode(magic: &[u8; 8], flags: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    let header_crc = crc32fast::hash(&out);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// A checked file: its flags and the body's checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed {
    /// The header's flags.
    pub flags: u16,
    /// crc32 of the body.
    pub crc: u32,
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Checks the header and checksum of a whole file's bytes; returns the body.
///
/// # Errors
/// [`CheckpointError::Corrupt`] naming `path` and what is wrong.
pub fn decode<'a>(
    path: &Path,
    magic: &[u8; 8],
    bytes: &'a [u8],
) -> Result<(Framed, &'a [u8]), CheckpointError> {
    let corrupt = |reason: String| CheckpointError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    if &bytes[..8] != magic {
        return Err(corrupt(
            "not a checkpoint file of this kind (bad magic)".into(),
        ));
    }
    if crc32fast::hash(&bytes[..24]) != le_u32(&bytes[24..28]) {
        return Err(corrupt("header checksum mismatch".into()));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != FORMAT_VERSION {
        return Err(corrupt(format!(
            "format version {version} is not supported by this build (it reads version \
             {FORMAT_VERSION})"
        )));
    }
    let flags = u16::from_le_bytes([bytes[10], bytes[11]]);
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[12..20]);
    let body_len = u64::from_le_bytes(len);
    let actual = (bytes.len() - HEADER_LEN) as u64;
    if body_len != actual {
        return Err(corrupt(format!(
            "truncated or extended: the header says {body_len} body bytes, the file has \
             {actual}"
        )));
    }
    let body = &bytes[HEADER_LEN..];
    let crc = crc32fast::hash(body);
    if crc != le_u32(&bytes[20..24]) {
        return Err(corrupt("body checksum mismatch".into()));
    }
    Ok((Framed { flags, crc }, body))
}

/// Reads and checks a file.
///
/// # Errors
/// [`CheckpointError::Io`] or [`CheckpointError::Corrupt`].
pub fn read(path: &Path, magic: &[u8; 8]) -> Result<(Framed, Vec<u8>), CheckpointError> {
    let bytes = std::fs::read(path).map_err(|e| CheckpointError::io(path, e))?;
    let (framed, body) = decode(path, magic, &bytes)?;
    let body = body.to_vec();
    Ok((framed, body))
}

/// [`crate::base::write_atomically`] with the error naming the file.
///
/// # Errors
/// [`CheckpointError::Io`] naming the file.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), CheckpointError> {
    crate::base::write_atomically(path, contents).map_err(|e| CheckpointError::io(path, e))
}

/// [`crate::base::sync_dir`] with the error naming the directory.
///
/// # Errors
/// [`CheckpointError::Io`] naming the directory.
pub fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    crate::base::sync_dir(dir).map_err(|e| CheckpointError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_every_kind_of_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.meta");
        write_atomically(&path, &encode(META_MAGIC, 1, b"hello body")).unwrap();
        let (framed, body) = read(&path, META_MAGIC).unwrap();
        assert_eq!((framed.flags, body.as_slice()), (1, &b"hello body"[..]));
        let good = std::fs::read(&path).unwrap();
        let reason = |bytes: &[u8]| match decode(&path, META_MAGIC, bytes) {
            Err(CheckpointError::Corrupt { reason, .. }) => reason,
            other => panic!("expected corrupt, got {other:?}"),
        };
        assert!(reason(&good[..10]).contains("truncated"));
        assert!(reason(&good[..good.len() - 1]).contains("truncated"));
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(reason(&flipped).contains("body checksum"));
        let mut header = good.clone();
        header[13] ^= 1;
        assert!(reason(&header).contains("header checksum"));
        assert!(matches!(
            decode(&path, STATE_MAGIC, &good),
            Err(CheckpointError::Corrupt { .. })
        ));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_failed_write_leaves_the_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        write_atomically(&path, b"old").unwrap();
        // A directory in the way of the temporary file makes the write fail.
        std::fs::create_dir(dir.path().join(".x.tmp")).unwrap();
        assert!(write_atomically(&path, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }
}
