//! Where blobs land on disk, and what happens to damage done to them outside the program.

use eportal_localfs::LocalBlobStore;
use eportal_ports::{BlobStore, PortError};
use std::path::Path;

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn a_blob_lives_at_ab_cd_hash_with_no_temporary_files_left() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open(dir.path()).await.unwrap();
    let hash = store.put(b"matric,ca,exam\n").await.unwrap();
    let expected = dir.path().join(&hash[..2]).join(&hash[2..4]).join(&hash);
    assert_eq!(files_under(dir.path()), vec![expected.clone()]);
    assert_eq!(std::fs::read(expected).unwrap(), b"matric,ca,exam\n");
}

#[tokio::test]
async fn a_damaged_blob_is_reported_and_repaired_by_the_next_put() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open(dir.path()).await.unwrap();
    let bytes = b"U2020/001,30,50\nU2020/002,25,41\n";
    let hash = store.put(bytes).await.unwrap();
    let path = dir.path().join(&hash[..2]).join(&hash[2..4]).join(&hash);
    std::fs::write(&path, &bytes[..10]).unwrap();

    match store.get(&hash).await {
        Err(PortError::Unavailable { message, .. }) => {
            assert!(message.contains("damaged"), "unclear message: {message}")
        }
        other => panic!("a damaged blob must be an error, got {other:?}"),
    }
    assert_eq!(store.put(bytes).await.unwrap(), hash);
    assert_eq!(store.get(&hash).await.unwrap().as_deref(), Some(&bytes[..]));
}

#[tokio::test]
async fn stores_opened_on_the_same_directory_share_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let hash = LocalBlobStore::open(dir.path())
        .await
        .unwrap()
        .put(b"kept")
        .await
        .unwrap();
    let reopened = LocalBlobStore::open(dir.path()).await.unwrap();
    assert_eq!(
        reopened.get(&hash).await.unwrap().as_deref(),
        Some(&b"kept"[..])
    );
}

#[tokio::test]
async fn opening_a_file_as_the_blob_directory_is_a_clear_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let err = LocalBlobStore::open(file.path()).await.unwrap_err();
    assert!(
        err.to_string().contains(&file.path().display().to_string()),
        "the error must name the path: {err}"
    );
}
