//! Sign-in, sign-out and revocable sessions. Every token carries its account's session
//! version; the store moves the version on when the password or roles change, on sign-out and
//! when an administrator ends the account's sessions, and a token of an older version is
//! refused on its next request. The check costs one cache read: versions are cached for
//! `auth.session_check_cache_secs` and forgotten on every change, so with a shared cache
//! (Redis) a change takes effect at once on every portal.
//!
//! If neither the cache nor the store can say what the current version is, the token is
//! accepted (and the failure logged): a store outage must not sign everyone out on results
//! day. Never log a password or a token here.

use super::auth::{normalise_username, Session, MAX_PASSWORD_BYTES};
use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::Role;
use std::net::IpAddr;
use std::time::Duration;

/// The shortest new password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// When an unchecked session was last logged (see `telemetry::log_now`).
static UNCHECKED_LOGGED: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

fn version_key(username: &str) -> String {
    format!("session:v1:{username}")
}

impl Services {
    /// Signs in with a username and password, throttling repeated failures per account and
    /// per address (see [`super::throttle`]).
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        addr: Option<IpAddr>,
    ) -> ServiceResult<Session> {
        let username = normalise_username(username);
        self.sign_in_allowed(&username, addr).await?;
        match self
            .auth
            .login(self.ports.store.as_ref(), &username, password)
            .await
        {
            Err(ServiceError::BadCredentials) => Err(self
                .sign_in_failed(&username, addr)
                .await
                .unwrap_or(ServiceError::BadCredentials)),
            Ok(session) => {
                self.sign_in_succeeded(&username).await;
                Ok(session)
            }
            other => other,
        }
    }

    /// Whether `who`'s token still stands: its session version is the account's current one.
    pub async fn session_current(&self, who: &Principal) -> bool {
        let key = version_key(&who.username);
        let cached = self.session_version_cached(&who.username).await;
        // Bounded like a results read: a store that hangs (a database going down) must not
        // hold every signed-in request for as long as its connection pool waits.
        let limit = Duration::from_millis(self.config.results_store_timeout_ms);
        let current = match cached {
            Some(v) => Some(v),
            None => {
                match tokio::time::timeout(limit, self.ports.store.session_version(&who.username))
                    .await
                    .unwrap_or_else(|_| {
                        Err(eportal_ports::PortError::unavailable(
                            "store",
                            format!(
                                "no answer to a session check within {} ms",
                                limit.as_millis()
                            ),
                        ))
                    }) {
                    Ok(Some(v)) => {
                        let ttl = Duration::from_secs(self.config.auth.session_check_cache_secs);
                        if !ttl.is_zero() {
                            if let Err(e) = self
                                .ports
                                .cache
                                .put(&key, v.to_string().as_bytes(), ttl)
                                .await
                            {
                                tracing::debug!(error = %e, "could not cache a session version");
                            }
                        }
                        Some(v)
                    }
                    // The account is gone: nothing it signed stands.
                    Ok(None) => return false,
                    Err(e) => {
                        // Every signed-in request of an outage passes here: one line a second.
                        if crate::telemetry::log_now(&UNCHECKED_LOGGED) {
                            tracing::warn!(error = %e, "cannot check whether a session was ended; accepting the token (logged at most once a second)");
                        }
                        return true;
                    }
                }
            }
        };
        current == Some(who.session_version)
    }

    /// The account's current session version if the cache holds it; `None` when only the
    /// store could tell (the fast lane then leaves the request to the full path).
    pub async fn session_version_cached(&self, username: &str) -> Option<u64> {
        let raw = match self.ports.cache.get(&version_key(username)).await {
            Ok(v) => v?,
            Err(e) => {
                tracing::debug!(error = %e, "cache unavailable; reading the session version from the store");
                return None;
            }
        };
        std::str::from_utf8(&raw).ok()?.parse().ok()
    }

    /// Drops the cached session versions of these accounts (their sessions changed).
    pub async fn forget_sessions(&self, usernames: &[String]) {
        if usernames.is_empty() {
            return;
        }
        let keys: Vec<String> = usernames.iter().map(|u| version_key(u)).collect();
        if let Err(e) = self.ports.cache.delete(&keys).await {
            tracing::warn!(
                error = %e,
                "could not forget cached session versions; ended sessions stop within auth.session_check_cache_secs"
            );
        }
    }

    async fn end_sessions_of(&self, username: &str) -> ServiceResult<u64> {
        let v = self
            .ports
            .store
            .end_sessions(username)
            .await
            .map_err(|e| match e {
                eportal_ports::PortError::NotFound(_) => {
                    ServiceError::NotFound(format!("no account is named '{username}'"))
                }
                e => e.into(),
            })?;
        self.forget_sessions(&[username.to_string()]).await;
        Ok(v)
    }

    /// Signs `who` out: every token of the account stops working (on every device).
    pub async fn sign_out(&self, who: &Principal) -> ServiceResult<()> {
        self.end_sessions_of(&who.username).await?;
        tracing::info!(user = %who.username, "signed out");
        Ok(())
    }

    /// An administrator ends every session of `username` (a lost phone, a leaving member of
    /// staff); returns the account's new session version.
    pub async fn revoke_sessions(&self, who: &Principal, username: &str) -> ServiceResult<u64> {
        if !who.has(Role::Admin) {
            return Err(ServiceError::Forbidden(
                "only the registry administrator may end another person's sessions".into(),
            ));
        }
        let username = normalise_username(username);
        let v = self.end_sessions_of(&username).await?;
        tracing::info!(user = %username, by = %who.username, "sessions ended by an administrator");
        Ok(v)
    }

    /// Changes `who`'s password after checking the current one; every other session ends and
    /// a new token is returned for this one. A wrong current password counts as a failed
    /// sign-in (a stolen token must not become a way to guess the password).
    pub async fn change_password(
        &self,
        who: &Principal,
        current: &str,
        new: &str,
        addr: Option<IpAddr>,
    ) -> ServiceResult<Session> {
        let chars = new.chars().count();
        if chars < MIN_PASSWORD_CHARS || new.len() > MAX_PASSWORD_BYTES {
            return Err(ServiceError::Invalid(format!(
                "new_password: choose a password of at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes)"
            )));
        }
        if new == current {
            return Err(ServiceError::Invalid(
                "new_password: the new password is the same as the current one".into(),
            ));
        }
        self.sign_in_allowed(&who.username, addr).await?;
        let store = self.ports.store.as_ref();
        let Some(user) = self
            .auth
            .check_password(store, &who.username, current)
            .await?
        else {
            return Err(self
                .sign_in_failed(&who.username, addr)
                .await
                .unwrap_or_else(|| {
                    ServiceError::Forbidden(
                        "current_password: that is not your current password".into(),
                    )
                }));
        };
        let hash = self.auth.hash_password(new.to_string()).await?;
        let version = store.set_password(&user.username, &hash).await?;
        self.forget_sessions(std::slice::from_ref(&user.username))
            .await;
        tracing::info!(user = %user.username, "password changed; other sessions ended");
        Ok(self
            .auth
            .issue(&user.username, &user.display_name, &user.roles, version))
    }
}
