//! The queue contract suite. Each namespace gets its own file; opening a namespace twice
//! opens that file twice (separate pools), as two processes of one deployment would.

mod common;

use eportal_ports::JobQueue;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

fn path_for(ns: &str) -> PathBuf {
    static PATHS: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut paths = PATHS.get_or_init(Default::default).lock().expect("lock");
    paths
        .entry(ns.to_string())
        .or_insert_with(|| common::fresh_dir().join("queue.db"))
        .clone()
}

async fn open(ns: &str) -> Arc<dyn JobQueue> {
    let store = common::open(&path_for(ns)).await;
    Arc::new(store.queue_named(ns))
}

eportal_ports::queue_contract!(open);
