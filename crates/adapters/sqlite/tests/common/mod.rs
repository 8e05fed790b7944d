//! Test helpers: every store lives in its own fresh directory under the build's temporary
//! directory, so cases run in parallel and never share a file by accident.

#![allow(dead_code)]

use eportal_sqlite::SqliteStore;
use std::path::PathBuf;

/// A new, empty directory for one test's database files.
pub fn fresh_dir() -> PathBuf {
    tempfile::Builder::new()
        .prefix("eportal-sqlite-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory under the target directory")
        .keep()
}

/// Opens and migrates the database at `path`.
pub async fn open(path: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::connect(path.to_str().expect("utf-8 path"))
        .await
        .expect("SQLite database opens");
    store.migrate().await.expect("migrations run");
    store
}
