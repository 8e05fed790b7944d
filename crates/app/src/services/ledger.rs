//! The ledger's signing key and signer. The key (Ed25519) lives in a file outside the
//! database (`ledger.key_file`, by default `DATA_DIR/ledger-signing.key`), created with mode
//! 0600 on first start; every running process signs the ledger's head when it has moved,
//! every `ledger.sign_interval_secs` and once more when it stops, so someone who can rewrite
//! the database but not read that file cannot produce a chain that `eportal audit verify`
//! accepts. Several processes signing the same head is harmless (one signature per seq).
//!
//! This module must never print or log the secret key, and never trust a key found in the
//! database.

use super::Services;
use eportal_core::ledger::{HeadSignature, KeyError, LedgerKey};
use eportal_ports::{now_ms, PortError};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::watch;

/// The name of the key file in the data directory, when `ledger.key_file` is not set.
pub const DEFAULT_KEY_FILE: &str = "ledger-signing.key";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LedgerConfig {
    /// The signing key's file; empty means `DATA_DIR/ledger-signing.key`.
    pub key_file: String,
    /// How often a running process signs the head when it has moved (1–86400 seconds).
    pub sign_interval_secs: u64,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            key_file: String::new(),
            sign_interval_secs: 10,
        }
    }
}

impl LedgerConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(1..=86_400).contains(&self.sign_interval_secs) {
            anyhow::bail!(
                "EPORTAL_LEDGER__SIGN_INTERVAL_SECS must be between 1 and 86400 (got {})",
                self.sign_interval_secs
            );
        }
        Ok(())
    }

    /// Where the key is kept.
    pub fn key_path(&self, data_dir: &Path) -> PathBuf {
        match self.key_file.trim() {
            "" => data_dir.join(DEFAULT_KEY_FILE),
            f => PathBuf::from(f),
        }
    }
}

/// Why the key file cannot be used; each message names the setting.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("EPORTAL_LEDGER__KEY_FILE: the ledger signing key {} does not exist (it is made on the first start of eportal serve or demo; to check a copy of the database elsewhere, give the public key with --public-key)", .0.display())]
    Missing(PathBuf),
    #[error("EPORTAL_LEDGER__KEY_FILE: cannot read the ledger signing key {}: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("EPORTAL_LEDGER__KEY_FILE: the ledger signing key {} is malformed: {source}", .path.display())]
    Malformed { path: PathBuf, source: KeyError },
    #[error("EPORTAL_LEDGER__KEY_FILE: cannot create the ledger signing key {}: {source}", .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads the key file; it must exist.
pub fn load_key(path: &Path) -> Result<LedgerKey, KeyFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeyFileError::Missing(path.to_path_buf()))
        }
        Err(source) => {
            return Err(KeyFileError::Unreadable {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    LedgerKey::from_file_text(&text).map_err(|source| KeyFileError::Malformed {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the key file, creating it (mode 0600, a fresh key from the operating system's
/// random source) when it does not exist yet.
pub fn load_or_create_key(path: &Path) -> Result<LedgerKey, KeyFileError> {
    match load_key(path) {
        Err(KeyFileError::Missing(_)) => {}
        other => return other,
    }
    let create = |source| KeyFileError::Create {
        path: path.to_path_buf(),
        source,
    };
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = LedgerKey::from_seed(seed);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(create)?;
    }
    write_new_secret(path, &key.to_file_text()).map_err(create)?;
    tracing::warn!(
        path = %path.display(),
        public_key = %key.public().id(),
        "created the ledger signing key; back it up and keep it out of the database's backups: without it the ledger's signatures cannot be checked or continued"
    );
    // Another process may have created it first: whatever is in the file is the key.
    load_key(path)
}

/// Creates `path` with `text`, readable by its owner only; an existing file is left alone.
fn write_new_secret(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl Services {
    /// Signs the ledger's head if it moved since the last signature.
    pub async fn sign_ledger_head(&self) -> Result<Option<HeadSignature>, PortError> {
        eportal_ports::ledger::sign_head(&*self.ports.store, &self.ledger_key, now_ms()).await
    }

    /// Signs the head every `ledger.sign_interval_secs` until `shutdown` turns true (the
    /// last signature is made by [`crate::app::Running::shutdown`], after the work in hand).
    pub async fn run_ledger_signer(&self, mut shutdown: watch::Receiver<bool>) {
        let every = Duration::from_secs(self.config.ledger.sign_interval_secs);
        while !*shutdown.borrow() {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
            if let Err(e) = self.sign_ledger_head().await {
                tracing::warn!(error = %e, "cannot sign the ledger's head; will try again");
            }
        }
    }
}
