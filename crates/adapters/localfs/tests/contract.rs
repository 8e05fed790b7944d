//! The blob contract, run against the local directory adapter.

use async_trait::async_trait;
use eportal_localfs::LocalBlobStore;
use eportal_ports::error::PortResult;
use eportal_ports::BlobStore;
use std::sync::Arc;

/// A store that removes its temporary directory when the case drops it.
struct InTempDir {
    store: LocalBlobStore,
    _dir: tempfile::TempDir,
}

#[async_trait]
impl BlobStore for InTempDir {
    async fn put(&self, bytes: &[u8]) -> PortResult<String> {
        self.store.put(bytes).await
    }

    async fn get(&self, sha256: &str) -> PortResult<Option<Vec<u8>>> {
        self.store.get(sha256).await
    }
}

async fn fresh() -> Arc<dyn BlobStore> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LocalBlobStore::open(dir.path())
        .await
        .expect("open blob store");
    Arc::new(InTempDir { store, _dir: dir })
}

eportal_ports::blob_contract!(fresh);
