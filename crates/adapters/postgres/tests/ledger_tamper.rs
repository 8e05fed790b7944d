//! The ledger's tampering cases on PostgreSQL: each in a fresh database of its own, tampered
//! with through a connection of its own, as someone with write access to the table would.

mod common;

use eportal_ports::contract::store::ledger::Sql;
use eportal_ports::RecordStore;
use eportal_postgres::PgStoreOptions;
use sqlx::{Connection, PgConnection};
use std::sync::Arc;

async fn fresh_with_sql() -> (Arc<dyn RecordStore>, Sql) {
    let url = common::fresh_database().await;
    let store = common::connect(&url, &PgStoreOptions::default()).await;
    let sql: Sql = Arc::new(move |statement: String| {
        let url = url.clone();
        Box::pin(async move {
            let mut conn = PgConnection::connect(&url)
                .await
                .expect("the test's PostgreSQL database answers");
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
