//! Sign-in accounts and deployment-wide settings. Password hashes are stored and returned
//! as given; they must never appear in an error message or a log line.

use crate::error::db;
use crate::rows::{get, json_list, roles, roles_csv};
use crate::SqliteStore;
use async_trait::async_trait;
use eportal_core::model::UserAccount;
use eportal_core::Role;
use eportal_ports::error::PortResult;
use eportal_ports::{PortError, Users};

/// Roles in one order, so that a re-import listing the same roles differently is no change
/// (a change of roles ends the account's sessions).
fn canonical(roles: &[Role]) -> Vec<Role> {
    let mut r = roles.to_vec();
    r.sort();
    r.dedup();
    r
}
use serde_json::json;

#[async_trait]
impl Users for SqliteStore {
    async fn upsert_users(&self, rows: &[UserAccount]) -> PortResult<u64> {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|u| {
                json!([
                    u.username,
                    u.password_hash,
                    u.display_name,
                    roles_csv(&canonical(&u.roles))
                ])
            })
            .collect();
        sqlx::query(
            "INSERT INTO users (username, password_hash, display_name, roles) \
             SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?1) WHERE true \
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, \
             display_name = excluded.display_name, roles = excluded.roles, \
             session_version = users.session_version + \
             (users.password_hash <> excluded.password_hash OR users.roles <> excluded.roles)",
        )
        .bind(json_list(&json))
        .execute(&self.write)
        .await
        .map(|r| r.rows_affected())
        .map_err(db)
    }

    async fn user(&self, username: &str) -> PortResult<Option<UserAccount>> {
        let row = sqlx::query(
            "SELECT username, password_hash, display_name, roles FROM users WHERE username = ?1",
        )
        .bind(username)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(UserAccount {
            username: get(&r, "username")?,
            password_hash: get(&r, "password_hash")?,
            display_name: get(&r, "display_name")?,
            roles: roles(&get::<String>(&r, "roles")?)?,
        }))
    }

    async fn session_version(&self, username: &str) -> PortResult<Option<u64>> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT session_version FROM users WHERE username = ?1")
                .bind(username)
                .fetch_optional(&self.read)
                .await
                .map_err(db)?;
        Ok(v.map(|v| v as u64))
    }

    async fn end_sessions(&self, username: &str) -> PortResult<u64> {
        let v: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET session_version = session_version + 1 WHERE username = ?1 \
             RETURNING session_version",
        )
        .bind(username)
        .fetch_optional(&self.write)
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
            sqlx::query_scalar("SELECT password_change_required FROM users WHERE username = ?1")
                .bind(username)
                .fetch_optional(&self.read)
                .await
                .map_err(db)?;
        Ok(v.unwrap_or(false))
    }

    async fn require_password_change(&self, usernames: &[String]) -> PortResult<()> {
        if usernames.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE users SET password_change_required = 1 \
             WHERE username IN (SELECT value FROM json_each(?1))",
        )
        .bind(serde_json::to_string(usernames).map_err(|e| PortError::Invalid(e.to_string()))?)
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn setting_or_init(&self, key: &str, value: &str) -> PortResult<String> {
        // The no-op update makes RETURNING give the stored value when the key exists.
        sqlx::query_scalar(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = settings.value RETURNING value",
        )
        .bind(key)
        .bind(value)
        .fetch_one(&self.write)
        .await
        .map_err(db)
    }
}

impl SqliteStore {
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
            "UPDATE users SET password_hash = ?2, session_version = session_version + 1, \
             password_change_required = ?3 WHERE username = ?1 RETURNING session_version",
        )
        .bind(username)
        .bind(password_hash)
        .bind(change_required)
        .fetch_optional(&self.write)
        .await
        .map_err(db)?;
        v.map(|v| v as u64)
            .ok_or_else(|| PortError::NotFound(format!("account {username}")))
    }
}
