//! Contract suite for the blob port (see mod.rs): what every [`BlobStore`] adapter must do.
//! Run it with `eportal_ports::blob_contract!(fresh)`, where
//! `async fn fresh() -> Arc<dyn BlobStore>` returns an empty store of its own.
//!
//! Hashes are checked against an independent SHA-256 computed here, never against what the
//! adapter says, and a hash string from outside is hostile until validated: it must never
//! reach the engine as a path or a key.

use crate::{BlobStore, PortError};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::Arc;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A sheet-sized binary payload with every byte value in it.
fn sample(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect()
}

pub async fn put_returns_sha256(store: Arc<dyn BlobStore>) {
    for bytes in [
        b"matric,ca,exam\nU2020/001,30,50\n".to_vec(),
        Vec::new(),
        sample(70_000, 3),
    ] {
        let hash = store.put(&bytes).await.expect("put");
        assert_eq!(
            hash,
            sha256_hex(&bytes),
            "put must return the lower-case hex SHA-256"
        );
    }
}

pub async fn get_returns_same_bytes(store: Arc<dyn BlobStore>) {
    let bytes = sample(1_500_000, 11);
    let hash = store.put(&bytes).await.expect("put");
    let got = store
        .get(&hash)
        .await
        .expect("get")
        .expect("stored blob present");
    assert!(got == bytes, "the bytes read back differ from those stored");

    let empty = store.put(b"").await.expect("put empty");
    assert_eq!(
        store.get(&empty).await.expect("get empty"),
        Some(Vec::new())
    );
}

pub async fn put_twice(store: Arc<dyn BlobStore>) {
    let bytes = sample(4096, 42);
    let first = store.put(&bytes).await.expect("first put");
    let second = store
        .put(&bytes)
        .await
        .expect("second put of the same bytes");
    assert_eq!(first, second);
    let got = store.get(&first).await.expect("get").expect("present");
    assert!(got == bytes, "storing twice changed the bytes");

    let other = sample(4096, 43);
    let third = store.put(&other).await.expect("put different bytes");
    assert_ne!(third, first, "different bytes must have different hashes");
    let got = store.get(&first).await.expect("get").expect("present");
    assert!(got == bytes, "storing other bytes changed the first blob");
}

pub async fn get_unknown(store: Arc<dyn BlobStore>) {
    store.put(b"something else").await.expect("put");
    let unknown = sha256_hex(b"bytes this store never saw");
    assert_eq!(store.get(&unknown).await.expect("get unknown"), None);
}

pub async fn invalid_hash_is_an_error(store: Arc<dyn BlobStore>) {
    let stored = store.put(b"a stored sheet").await.expect("put");
    let bad = [
        "../../etc/passwd".to_string(),
        format!("../{}", &stored[3..]),
        String::new(),
        stored.to_uppercase(),
        stored[..63].to_string(),
        format!("{stored}0"),
        format!("{}g", &stored[..63]),
        format!("{}/{}", &stored[..2], &stored[3..]),
        format!("{}\0", &stored[..63]),
    ];
    for hash in bad {
        match store.get(&hash).await {
            Err(PortError::Invalid(message)) => {
                assert!(!message.is_empty(), "the error for {hash:?} says nothing");
            }
            other => panic!("get({hash:?}) must be PortError::Invalid, got {other:?}"),
        }
    }
    // The valid hash still works after all that.
    assert!(store.get(&stored).await.expect("get").is_some());
}

/// Runs the blob contract against `$fresh`, an `async fn() -> Arc<dyn BlobStore>` in scope
/// that returns an empty store of its own each time. Expands to a module `blob_contract`
/// with one `#[tokio::test]` per case; the caller needs `tokio` (with `macros` and `rt`) in
/// its dev-dependencies.
#[macro_export]
macro_rules! blob_contract {
    ($fresh:ident) => {
        mod blob_contract {
            $crate::blob_contract!(@cases $fresh;
                put_returns_sha256, get_returns_same_bytes, put_twice, get_unknown,
                invalid_hash_is_an_error);
        }
    };
    (@cases $fresh:ident; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                $crate::contract::blob::$case(super::$fresh().await).await;
            }
        )+
    };
}
