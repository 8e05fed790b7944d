//! Where uploaded score sheets are kept, byte for byte, addressed by their SHA-256.

use crate::error::PortResult;
use async_trait::async_trait;

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` durably (on disk before this returns) and returns their SHA-256 in
    /// lower-case hex. Storing the same bytes twice is harmless and returns the same hash.
    async fn put(&self, bytes: &[u8]) -> PortResult<String>;

    /// The bytes stored under `sha256`, if any.
    async fn get(&self, sha256: &str) -> PortResult<Option<Vec<u8>>>;
}
