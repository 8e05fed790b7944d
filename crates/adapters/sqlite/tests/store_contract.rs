//! The store contract suite, each case on its own fresh SQLite file.

mod common;

use eportal_ports::RecordStore;
use std::sync::Arc;

async fn fresh() -> Arc<dyn RecordStore> {
    Arc::new(common::open(&common::fresh_dir().join("eportal.db")).await)
}

eportal_ports::store_contract!(fresh);
