//! The checkpoint file: the state other stages keep beside the spans (statistics, traces in
//! flight) and where it cuts the stream of writes. Replaced atomically (written aside, synced,
//! renamed, directory synced), so a crash leaves the old checkpoint or the new one, never half.
//!
//! Layout: `THCP`, format (u32), CRC-32 of everything after it (u32), cut length (u32), cut,
//! state; integers big-endian. A file that fails these checks is ignored with a warning: the
//! caller then rebuilds from the stored spans.

use std::io::Write;
use std::path::Path;

use super::unavailable;
use crate::store::StoreError;

const MAGIC: &[u8; 4] = b"THCP";
const FORMAT: u32 = 2;
const FILE: &str = "checkpoint";

/// Replaces the checkpoint in `root` with `cut` and `state`.
pub fn save(root: &Path, cut: &[u8], state: &[u8]) -> Result<(), StoreError> {
    let mut body = Vec::with_capacity(4 + cut.len() + state.len());
    body.extend_from_slice(&(cut.len() as u32).to_be_bytes());
    body.extend_from_slice(cut);
    body.extend_from_slice(state);
    let mut file = Vec::with_capacity(12 + body.len());
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&FORMAT.to_be_bytes());
    file.extend_from_slice(&crc32(&body).to_be_bytes());
    file.extend_from_slice(&body);
    let aside = root.join(format!("{FILE}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut out = std::fs::File::create(&aside)?;
        out.write_all(&file)?;
        out.sync_data()?;
        std::fs::rename(&aside, root.join(FILE))?;
        std::fs::File::open(root)?.sync_all()
    };
    write().map_err(|e| unavailable("saving the checkpoint", e))
}

/// The checkpoint in `root` as (cut, state), or `None` when there is none or it is unreadable.
pub fn load(root: &Path) -> Option<(Vec<u8>, Vec<u8>)> {
    let path = root.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the checkpoint; ignoring it");
            return None;
        }
    };
    let parsed = parse(&bytes);
    if parsed.is_none() {
        tracing::warn!(path = %path.display(), "the checkpoint is damaged or of another format; ignoring it");
    }
    parsed
}

fn parse(bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (format, rest) = rest.split_first_chunk::<4>()?;
    let (sum, body) = rest.split_first_chunk::<4>()?;
    if u32::from_be_bytes(*format) != FORMAT || u32::from_be_bytes(*sum) != crc32(body) {
        return None;
    }
    let (len, rest) = body.split_first_chunk::<4>()?;
    let len = u32::from_be_bytes(*len) as usize;
    (rest.len() >= len).then(|| (rest[..len].to_vec(), rest[len..].to_vec()))
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_and_a_damaged_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), None);
        save(dir.path(), b"cut", b"state").unwrap();
        assert_eq!(load(dir.path()), Some((b"cut".to_vec(), b"state".to_vec())));
        save(dir.path(), b"", b"newer").unwrap();
        assert_eq!(load(dir.path()), Some((Vec::new(), b"newer".to_vec())));
        let path = dir.path().join(FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(load(dir.path()), None, "a flipped bit fails the checksum");
        std::fs::write(&path, &bytes[..10]).unwrap();
        assert_eq!(load(dir.path()), None, "a truncated file is ignored");
    }
}
