//! `kill -9` while a blob is being written never leaves a partial blob under a final name,
//! and never loses a blob whose put had returned.
//!
//! The test binary plays both parts: run normally it is the parent; run with
//! `CHILD_DIR_ENV` set it is a child that stores blobs until it is killed, printing each
//! hash once `put` has returned. The parent kills it the moment a new file shows up in the
//! store, which is while a blob is being written. (A kill loses nothing from the page cache,
//! so this checks the write-then-rename protocol, not the fsyncs.)

use eportal_localfs::LocalBlobStore;
use eportal_ports::BlobStore;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHILD_DIR_ENV: &str = "EPORTAL_LOCALFS_CRASH_CHILD_DIR";
const TEST_NAME: &str = "kill_9_while_writing_never_leaves_a_partial_blob";

fn run_child(dir: &str) -> ! {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = LocalBlobStore::open(dir).await.unwrap();
        // 4 MB, made unique per process and round by its first 16 bytes, so every put
        // writes a new file and the time goes into writing rather than making bytes.
        let mut bytes: Vec<u8> = (0..4_000_000u32).map(|j| (j % 251) as u8).collect();
        bytes[..8].copy_from_slice(&u64::from(std::process::id()).to_le_bytes());
        for i in 0u64.. {
            bytes[8..16].copy_from_slice(&i.to_le_bytes());
            let hash = store.put(&bytes).await.unwrap();
            println!("stored {hash}");
        }
    });
    unreachable!("the child is killed before it runs out of numbers")
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out; // a directory created or renamed while we looked
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn kill_9_while_writing_never_leaves_a_partial_blob() {
    if let Ok(dir) = std::env::var(CHILD_DIR_ENV) {
        run_child(&dir);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged = Vec::new();
    for round in 0..8 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, acks) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(hash) = line.strip_prefix("stored ") {
                    let _ = tx.send(hash.to_owned());
                }
            }
        });
        // Every other round lets some puts finish first, so there is something to lose.
        for _ in 0..(round % 2) * 2 {
            let hash = acks
                .recv_timeout(Duration::from_secs(60))
                .expect("the child stored nothing");
            acknowledged.push(hash);
        }
        let before: HashSet<PathBuf> = files_under(dir.path()).into_iter().collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while files_under(dir.path()).iter().all(|f| before.contains(f)) {
            assert!(Instant::now() < deadline, "the child wrote nothing new");
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        acknowledged.extend(acks.try_iter());
    }

    let mut blobs = 0;
    for path in files_under(dir.path()) {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with(".tmp-") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let actual = hex::encode(Sha256::digest(&bytes));
        assert_eq!(actual, name, "{} is partial", path.display());
        assert_eq!(
            path,
            dir.path().join(&name[..2]).join(&name[2..4]).join(&name)
        );
        blobs += 1;
    }
    assert!(!acknowledged.is_empty(), "no put ever returned");
    assert!(
        blobs >= acknowledged.len(),
        "fewer blobs on disk than puts that returned"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = rt.block_on(LocalBlobStore::open(dir.path())).unwrap();
    for hash in &acknowledged {
        let got = rt.block_on(store.get(hash)).unwrap();
        assert!(got.is_some(), "blob {hash} was acknowledged, then lost");
    }
}
