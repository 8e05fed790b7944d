//! The ledger's tampering cases on SQLite: each on its own fresh file, tampered with through
//! a connection of its own, as someone holding the file would.

mod common;

use eportal_ports::contract::store::ledger::Sql;
use eportal_ports::RecordStore;
use sqlx::{Connection, SqliteConnection};
use std::sync::Arc;

async fn fresh_with_sql() -> (Arc<dyn RecordStore>, Sql) {
    let path = common::fresh_dir().join("eportal.db");
    let store = common::open(&path).await;
    let url = format!("sqlite://{}", path.display());
    let sql: Sql = Arc::new(move |statement: String| {
        let url = url.clone();
        Box::pin(async move {
            let mut conn = SqliteConnection::connect(&url)
                .await
                .expect("the test's SQLite file opens");
            sqlx::query(&statement)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
            conn.close().await.expect("closes");
        })
    });
    (Arc::new(store), sql)
}

eportal_ports::ledger_tamper_contract!(fresh_with_sql);
