//! Sign-in accounts and deployment-wide settings in PostgreSQL.
//!
//! Must never log or return a password hash anywhere but from `user`.

use crate::convert::{self, get, role_names};
use crate::error::db;
use crate::PgStore;
use async_trait::async_trait;
use eportal_core::model::UserAccount;
use eportal_ports::error::PortResult;
use eportal_ports::{PortError, Users};
use std::collections::BTreeMap;

#[async_trait]
impl Users for PgStore {
    async fn upsert_users(&self, rows: &[UserAccount]) -> PortResult<u64> {
        let mut by_name = BTreeMap::new();
        for r in rows {
            by_name.insert(r.username.as_str(), r);
        }
        if by_name.is_empty() {
            return Ok(0);
        }
        let name: Vec<&str> = by_name.keys().copied().collect();
        let hash: Vec<&str> = by_name.values().map(|r| r.password_hash.as_str()).collect();
        let display: Vec<&str> = by_name.values().map(|r| r.display_name.as_str()).collect();
        // Role names never hold commas, so a list travels as one joined string per row.
        let roles: Vec<String> = by_name
            .values()
            .map(|r| {
                let mut roles = r.roles.clone();
                roles.sort();
                roles.dedup();
                role_names(&roles).join(",")
            })
            .collect();
        sqlx::query(
            "INSERT INTO users (username, password_hash, display_name, roles) \
             SELECT u, h, d, COALESCE(string_to_array(NULLIF(r, ''), ','), '{}') \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS x(u, h, d, r) \
             ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, \
             display_name = EXCLUDED.display_name, roles = EXCLUDED.roles, \
             session_version = users.session_version + \
             CASE WHEN users.password_hash <> EXCLUDED.password_hash \
             OR users.roles <> EXCLUDED.roles THEN 1 ELSE 0 END",
        )
        .bind(name)
        .bind(hash)
        .bind(display)
        .bind(roles)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(by_name.len() as u64)
    }

    async fn user(&self, username: &str) -> PortResult<Option<UserAccount>> {
        let row = sqlx::query(
            "SELECT username, password_hash, display_name, roles FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(UserAccount {
            username: get(&r, "username")?,
            password_hash: get(&r, "password_hash")?,
            display_name: get(&r, "display_name")?,
            roles: convert::roles(&get::<Vec<String>>(&r, "roles")?)?,
        }))
    }

    async fn session_version(&self, username: &str) -> PortResult<Option<u64>> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT session_version FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(v.map(|v| v as u64))
    }

    async fn end_sessions(&self, username: &str) -> PortResult<u64> {
        let v: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET session_version = session_version + 1 WHERE username = $1 \
             RETURNING session_version",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        v.map(|v| v as u64)
            .ok_or_else(|| PortError::NotFound(format!("account {username}")))
    }

    async fn set_password(&self, username: &str, password_hash: &str) -> PortResult<u64> {
        self.store_password(username, password_hash, false).await
    }

    async fn reset_password(&self, username: &str, password_hash: &str) -> PortResult<u64> {
        self.store_password(username, password_hash, true).await
    }

    async fn password_change_required(&self, username: &str) -> PortResult<bool> {
        let v: Option<bool> =
            sqlx::query_scalar("SELECT password_change_required FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(v.unwrap_or(false))
    }

    async fn require_password_change(&self, usernames: &[String]) -> PortResult<()> {
        if usernames.is_empty() {
            return Ok(());
        }
        sqlx::query("UPDATE users SET password_change_required = TRUE WHERE username = ANY($1)")
            .bind(usernames)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn setting_or_init(&self, key: &str, value: &str) -> PortResult<String> {
        // Two statements on purpose: when another process inserts the key at the same time,
        // the INSERT waits for it and does nothing, and only a new statement sees its value.
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }
}

impl PgStore {
    /// A new password hash for `username`, ending its sessions, with the "must change the
    /// password" flag set (a reset by the registry) or cleared (the holder's own choice), in
    /// one statement: returns the new session version.
    async fn store_password(
        &self,
        username: &str,
        password_hash: &str,
        change_required: bool,
    ) -> PortResult<u64> {
        let v: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET password_hash = $2, session_version = session_version + 1, \
             password_change_required = $3 WHERE username = $1 RETURNING session_version",
        )
        .bind(username)
        .bind(password_hash)
        .bind(change_required)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        v.map(|v| v as u64)
            .ok_or_else(|| PortError::NotFound(format!("account {username}")))
    }
}
