//! Signatures over the head of the ledger (Ed25519). A signature covers one entry's seq and
//! hash, and so, through the chain, every entry up to it: someone who rewrites the table
//! cannot make the rewritten chain match signatures they cannot forge.
//!
//! The signing key is 32 secret bytes, kept by the application in a file outside the
//! database, written as 64 hex digits. Nothing here may print the secret.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// A stored signature of the head: entry `seq` had hash `hash` when `key_id` signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadSignature {
    pub seq: i64,
    /// The entry's hash, lower-case hex.
    pub hash: String,
    /// 64 bytes, lower-case hex.
    pub signature: String,
    /// The public key that made it, lower-case hex (its id).
    pub key_id: String,
    pub signed_at_ms: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("it should hold 64 hex digits (a 32-byte Ed25519 secret key); {0}")]
    Malformed(String),
    #[error("'{0}' is not an Ed25519 public key (64 hex digits)")]
    BadPublicKey(String),
}

/// What is signed: a domain tag, the seq and the entry's hash.
fn message(seq: i64, hash: &str) -> Vec<u8> {
    let mut m = b"eportal-ledger-head-v1".to_vec();
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&(hash.len() as u64).to_be_bytes());
    m.extend_from_slice(hash.as_bytes());
    m
}

/// The secret key that signs the head.
pub struct LedgerKey(SigningKey);

impl std::fmt::Debug for LedgerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LedgerKey(public {})", self.public().id())
    }
}

impl LedgerKey {
    /// A key from 32 secret bytes (the caller draws them from the operating system).
    pub fn from_seed(seed: [u8; 32]) -> LedgerKey {
        LedgerKey(SigningKey::from_bytes(&seed))
    }

    /// A key as written in its file: 64 hex digits, surrounding white space ignored.
    pub fn from_file_text(text: &str) -> Result<LedgerKey, KeyError> {
        let t = text.trim();
        if t.len() != 64 {
            return Err(KeyError::Malformed(format!(
                "it holds {} characters",
                t.chars().count()
            )));
        }
        let mut seed = [0u8; 32];
        hex::decode_to_slice(t, &mut seed)
            .map_err(|_| KeyError::Malformed("it holds characters that are not hex".into()))?;
        Ok(LedgerKey::from_seed(seed))
    }

    /// The file's text for this key.
    pub fn to_file_text(&self) -> String {
        format!("{}\n", hex::encode(self.0.to_bytes()))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs entry `seq` with hash `hash`.
    pub fn sign_head(&self, seq: i64, hash: &str, at_ms: i64) -> HeadSignature {
        let sig = self.0.sign(&message(seq, hash));
        HeadSignature {
            seq,
            hash: hash.to_string(),
            signature: hex::encode(sig.to_bytes()),
            key_id: self.public().id(),
            signed_at_ms: at_ms,
        }
    }
}

/// The key that checks signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    pub fn parse_hex(text: &str) -> Result<PublicKey, KeyError> {
        let bad = || KeyError::BadPublicKey(text.to_string());
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| bad())?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| bad())
    }

    /// The key in hex: what signatures name as their `key_id`.
    pub fn id(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// Whether `s` is this key's signature of its seq and hash.
    pub fn verifies(&self, s: &HeadSignature) -> bool {
        let mut bytes = [0u8; 64];
        if hex::decode_to_slice(&s.signature, &mut bytes).is_err() {
            return false;
        }
        self.0
            .verify(&message(s.seq, &s.hash), &Signature::from_bytes(&bytes))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_under_its_key_only() {
        let k = LedgerKey::from_seed([7; 32]);
        let s = k.sign_head(12, "ab", 1);
        assert!(k.public().verifies(&s));
        assert_eq!(s.key_id, k.public().id());
        let other = LedgerKey::from_seed([8; 32]);
        assert!(!other.public().verifies(&s));
        let mut moved = s.clone();
        moved.seq = 13;
        assert!(!k.public().verifies(&moved));
        let mut rehashed = s;
        rehashed.hash = "ac".into();
        assert!(!k.public().verifies(&rehashed));
    }

    #[test]
    fn key_file_text_round_trips_and_malformed_text_is_refused() {
        let k = LedgerKey::from_seed([9; 32]);
        let back = LedgerKey::from_file_text(&k.to_file_text()).unwrap();
        assert_eq!(back.public(), k.public());
        assert!(LedgerKey::from_file_text("abc").is_err());
        assert!(LedgerKey::from_file_text(&"zz".repeat(32)).is_err());
        assert!(!format!("{k:?}").contains(&hex::encode([9u8; 32])));
        assert_eq!(PublicKey::parse_hex(&k.public().id()).unwrap(), k.public());
        assert!(PublicKey::parse_hex("00").is_err());
    }
}
