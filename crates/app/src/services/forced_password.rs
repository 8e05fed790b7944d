//! Forced password changes: an account the registry created by import, or whose password an
//! administrator reset, signs in with a password someone else knows, so it must choose its
//! own before doing anything else. The store keeps the flag; sign-in puts it in the token;
//! the API's principal extractor refuses every route but [`ALLOWED`] while it is set; the
//! holder's own new password clears it (and ends the flagged sessions).
//!
//! Never log, or return more than once, a password this module makes.

use super::auth::{normalise_username, MAX_PASSWORD_BYTES};
use super::sessions::MIN_PASSWORD_CHARS;
use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::Role;
use rand::Rng;
use serde::Serialize;

/// The routes an account that must change its password may still use: who am I, change
/// the password, sign out.
pub const ALLOWED: [&str; 3] = ["/api/v1/me", "/api/v1/auth/password", "/api/v1/auth/logout"];

/// The refusal on every other route.
pub const CHANGE_FIRST: &str = "change your password first: POST /api/v1/auth/password with your current (temporary) password and a new one of your own";

/// Whether `who` may use the route at `path` now.
pub fn may_use(who: &Principal, path: &str) -> bool {
    !who.password_change_required || ALLOWED.contains(&path)
}

/// Letters and digits nobody misreads (no 0/O, 1/l/I).
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const TEMPORARY_CHARS: usize = 14;

fn temporary_password() -> String {
    let mut rng = rand::thread_rng();
    (0..TEMPORARY_CHARS)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The answer to an administrator's reset.
#[derive(Debug, Serialize)]
pub struct Reset {
    pub username: String,
    /// Tokens signed before this version are refused (the account's sessions ended).
    pub session_version: u64,
    /// The generated password, when the administrator gave none; shown this once only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
    pub password_change_required: bool,
}

impl Services {
    /// An administrator sets `username`'s password (the one given, or a generated one that
    /// is returned once): the account's sessions end, and it must change the password at its
    /// next sign-in.
    pub async fn reset_password(
        &self,
        who: &Principal,
        username: &str,
        new_password: Option<&str>,
    ) -> ServiceResult<Reset> {
        if !who.has(Role::Admin) {
            return Err(ServiceError::Forbidden(
                "only the registry administrator may reset another person's password".into(),
            ));
        }
        let username = normalise_username(username);
        let (password, generated) = match new_password {
            Some(p) => {
                if p.chars().count() < MIN_PASSWORD_CHARS || p.len() > MAX_PASSWORD_BYTES {
                    return Err(ServiceError::Invalid(format!(
                        "new_password: give at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes), or leave it out to have one generated"
                    )));
                }
                (p.to_string(), None)
            }
            None => {
                let p = temporary_password();
                (p.clone(), Some(p))
            }
        };
        let hash = self.auth.hash_password(password).await?;
        let version = self
            .ports
            .store
            .reset_password(&username, &hash)
            .await
            .map_err(|e| match e {
                eportal_ports::PortError::NotFound(_) => {
                    ServiceError::NotFound(format!("no account is named '{username}'"))
                }
                e => e.into(),
            })?;
        self.forget_sessions(std::slice::from_ref(&username)).await;
        tracing::info!(user = %username, by = %who.username, "password reset by an administrator; sessions ended");
        Ok(Reset {
            username,
            session_version: version,
            temporary_password: generated,
            password_change_required: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(forced: bool) -> Principal {
        Principal {
            username: "L001".into(),
            display_name: "L".into(),
            roles: vec![Role::Lecturer],
            session_version: 0,
            password_change_required: forced,
        }
    }

    #[test]
    fn a_flagged_account_reaches_only_the_password_routes() {
        let forced = principal(true);
        assert!(may_use(&forced, "/api/v1/auth/password"));
        assert!(may_use(&forced, "/api/v1/me"));
        assert!(!may_use(&forced, "/api/v1/students"));
        assert!(!may_use(&forced, "/api/v1/me/review-queue"));
        assert!(may_use(&principal(false), "/api/v1/students"));
    }

    #[test]
    fn temporary_passwords_are_long_and_unambiguous() {
        let p = temporary_password();
        assert_eq!(p.chars().count(), TEMPORARY_CHARS);
        assert!(p
            .chars()
            .all(|c| c.is_ascii_alphanumeric() && !"0O1lI".contains(c)));
        assert_ne!(p, temporary_password());
    }
}
