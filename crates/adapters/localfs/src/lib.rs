//! Local filesystem blob store, content-addressed by SHA-256: where uploaded score sheets
//! are kept, byte for byte, as `DIR/ab/cd/<sha256>`.
//!
//! A blob appears under its final name only whole and on disk: it is written to a temporary
//! file in the same directory, fsynced, renamed (atomic on POSIX) and the directory fsynced,
//! so a crash at any point leaves either nothing or the complete blob under that name (at
//! worst a stray `.tmp-*` file, which is never read). This module must never build a path
//! from a hash string it has not validated (64 lower-case hex digits), and never hand back
//! bytes whose hash does not match the name they were asked for.

use async_trait::async_trait;
use eportal_ports::error::{PortError, PortResult};
use eportal_ports::BlobStore;
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const ENGINE: &str = "local blob store";

/// Makes temporary file names unique among concurrent puts of this process; the process id
/// separates processes sharing the directory.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// The [`BlobStore`] over a local directory.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// Opens (creating it if needed) the blob directory `dir`.
    pub async fn open(dir: impl AsRef<Path>) -> PortResult<Self> {
        let root = dir.as_ref().to_path_buf();
        tokio::fs::create_dir_all(&root).await.map_err(|e| {
            PortError::unavailable(
                ENGINE,
                format!("cannot create the blob directory {}: {e}", root.display()),
            )
        })?;
        if !root.is_dir() {
            return Err(PortError::Invalid(format!(
                "the blob directory {} is not a directory",
                root.display()
            )));
        }
        Ok(LocalBlobStore { root })
    }

    /// The directory the blobs live in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `sha256` lives. Only for a validated hash.
    fn path_of(&self, sha256: &str) -> PathBuf {
        self.root
            .join(&sha256[..2])
            .join(&sha256[2..4])
            .join(sha256)
    }
}

/// Accepts exactly 64 lower-case hex digits: nothing else may become part of a path.
fn validate(sha256: &str) -> PortResult<()> {
    let ok = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(())
    } else {
        let shown: String = sha256.chars().take(80).collect();
        Err(PortError::Invalid(format!(
            "{shown:?} is not a SHA-256 hash (64 lower-case hexadecimal digits)"
        )))
    }
}

fn hash_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn io_error(what: &str, path: &Path, e: io::Error) -> PortError {
    PortError::unavailable(ENGINE, format!("{what} {}: {e}", path.display()))
}

fn fsync_dir(dir: &Path) -> PortResult<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("cannot fsync directory", dir, e))
}

/// Reads a blob file, `None` if absent.
fn read_if_present(path: &Path) -> PortResult<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("cannot read", path, e)),
    }
}

fn write_blob(store: &LocalBlobStore, bytes: &[u8], hash: &str) -> PortResult<()> {
    let path = store.path_of(hash);
    // Same bytes already stored: nothing to do. A file whose contents no longer match its
    // name (damaged outside this program) is replaced below.
    if let Some(existing) = read_if_present(&path)? {
        if hash_hex(&existing) == hash {
            return Ok(());
        }
    }
    let leaf = path.parent().expect("a blob path has a parent");
    let middle = leaf.parent().expect("a blob path has a grandparent");
    fs::create_dir_all(leaf).map_err(|e| io_error("cannot create", leaf, e))?;

    let tmp = leaf.join(format!(
        ".tmp-{hash}-{}-{}",
        std::process::id(),
        TMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("cannot write", &tmp, e));
    }
    if let Err(e) = fs::rename(&tmp, &path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("cannot rename into", &path, e));
    }
    // The rename is durable once its directory is; the fan-out directories may be new too.
    fsync_dir(leaf)?;
    fsync_dir(middle)?;
    fsync_dir(&store.root)
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, bytes: &[u8]) -> PortResult<String> {
        let store = self.clone();
        let bytes = bytes.to_vec();
        tokio::task::spawn_blocking(move || {
            let hash = hash_hex(&bytes);
            write_blob(&store, &bytes, &hash).map(|()| hash)
        })
        .await
        .map_err(|e| PortError::unavailable(ENGINE, format!("blob write task failed: {e}")))?
    }

    async fn get(&self, sha256: &str) -> PortResult<Option<Vec<u8>>> {
        validate(sha256)?;
        let path = self.path_of(sha256);
        let expected = sha256.to_owned();
        tokio::task::spawn_blocking(move || {
            let Some(bytes) = read_if_present(&path)? else {
                return Ok(None);
            };
            if hash_hex(&bytes) != expected {
                return Err(PortError::unavailable(
                    ENGINE,
                    format!(
                        "blob {} is damaged: its contents no longer match its hash",
                        path.display()
                    ),
                ));
            }
            Ok(Some(bytes))
        })
        .await
        .map_err(|e| PortError::unavailable(ENGINE, format!("blob read task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn validation_accepts_only_lower_case_hex_of_length_64() {
        let good = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(validate(good).is_ok());
        assert!(validate(&good.to_uppercase()).is_err());
        assert!(validate(&good[..63]).is_err());
        assert!(validate(&format!("{good}a")).is_err());
        assert!(validate("../../etc/passwd").is_err());
        // Multi-byte characters must not pass a byte-length check by accident.
        let wide = format!("é{}", &good[..62]);
        assert_eq!(wide.len(), 64);
        assert!(validate(&wide).is_err());
    }
}
