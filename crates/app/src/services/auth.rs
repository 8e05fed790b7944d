//! Sign-in: argon2id password hashes and signed bearer tokens.
//!
//! New hashes are argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane); a stored hash
//! is verified with the parameters written in it, so hashes made with other parameters go on
//! working. argon2id is CPU-bound by design (tens of milliseconds per hash), so hashing runs
//! on the waiting room's bounded pool ([`super::hash_pool`]): sign-ins it cannot hash soon
//! are told when to come back instead of piling up (a login storm must not starve result
//! reads). Tokens are HMAC-SHA256 signed and cheap to verify on every request; the signing
//! key lives in the store, so every portal process accepts every other's tokens.
//!
//! Never log a password, a hash or a token.

use super::hash_pool::HashPool;
use super::{Principal, ServiceError, ServiceResult};
use crate::config::AuthConfig;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use eportal_core::model::UserAccount;
use eportal_core::Role;
use eportal_ports::RecordStore;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;

/// The longest password accepted (argon2 would hash more, but nobody types more).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The settings key under which the token signing key is kept.
pub const TOKEN_KEY_SETTING: &str = "auth.token_key";

/// A hash verified when the username is unknown, so that answering "no such user" takes as
/// long as "wrong password" and the two cannot be told apart.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| hash_password_blocking("no account has this password"))
        .clone()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    sub: String,
    name: String,
    roles: Vec<Role>,
    /// Expiry, unix seconds.
    exp: u64,
    /// The account's session version when the token was signed; the token is refused once
    /// the account's version has moved on (sign-out, new password or roles, revocation).
    #[serde(default)]
    ver: u64,
    /// Signed while the account had to change its password first: the token reaches only
    /// `/api/v1/me`, the password change and sign-out. (Changing the password moves the
    /// session version on, so such a token never outlives the flag.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pcr: bool,
}

/// A signed-in session handed to the client.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub token: String,
    pub expires_at: u64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// The account must change its password before anything else (see
    /// `services::forced_password`).
    pub password_change_required: bool,
}

pub struct AuthService {
    key: Vec<u8>,
    ttl_secs: u64,
    pool: HashPool,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A fresh random signing key (hex), stored once per deployment.
pub fn new_token_key() -> String {
    use rand::RngCore;
    let mut k = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut k);
    hex::encode(k)
}

/// argon2id memory per hash, in KiB: OWASP's 19 MiB.
pub const HASH_MEMORY_KIB: u32 = 19 * 1024;
/// argon2id passes over that memory (OWASP: 2 at 19 MiB).
pub const HASH_PASSES: u32 = 2;
/// argon2id lanes (OWASP: 1).
pub const HASH_LANES: u32 = 1;

/// The hasher for new hashes, at the parameters above (written into each hash).
fn hasher() -> Argon2<'static> {
    let params = Params::new(HASH_MEMORY_KIB, HASH_PASSES, HASH_LANES, None)
        .expect("OWASP's argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id and a random salt (blocking: call off the async threads).
pub fn hash_password_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2id at fixed valid parameters cannot fail")
        .to_string()
}

/// Whether `password` matches `phc`, verified with the algorithm and parameters the hash
/// itself names (so older hashes at other parameters keep working).
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => hasher().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// Usernames as stored: `admin` in lower case, matric numbers and staff ids in upper case.
pub fn normalise_username(u: &str) -> String {
    let t = u.trim();
    if t.eq_ignore_ascii_case("admin") {
        "admin".into()
    } else {
        t.to_ascii_uppercase()
    }
}

impl AuthService {
    pub fn new(cfg: &AuthConfig, key: Vec<u8>) -> Self {
        let pool = HashPool::new(
            cfg.hash_workers,
            cfg.max_waiting_logins,
            Duration::from_millis(cfg.hash_queue_ms),
        );
        pool.calibrate(|| drop(hash_password_blocking("a password timed at start")));
        AuthService {
            key,
            ttl_secs: cfg.token_ttl_minutes * 60,
            pool,
        }
    }

    /// The waiting room's hashing pool.
    pub fn hash_pool(&self) -> &HashPool {
        &self.pool
    }

    /// Hashes a password on the bounded hashing pool.
    pub async fn hash_password(&self, password: String) -> ServiceResult<String> {
        self.pool
            .run(move || hash_password_blocking(&password))
            .await
    }

    /// The account, if `password` is its password; `None` for an unknown user and for a wrong
    /// password alike, after the same work.
    pub async fn check_password(
        &self,
        store: &dyn RecordStore,
        username: &str,
        password: &str,
    ) -> ServiceResult<Option<UserAccount>> {
        if username.is_empty() || password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
            return Ok(None);
        }
        // The waiting room first: a sign-in turned away costs no store read.
        let ticket = self.pool.enter().await?;
        let user = store.user(username).await?;
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let pw = password.to_string();
        let ok = ticket
            .run(move || verify_blocking(&pw, &phc.unwrap_or_else(dummy_hash)))
            .await?;
        Ok(user.filter(|_| ok))
    }

    /// Checks a username and password; the same error for an unknown user and a wrong
    /// password. (Throttling of failures is the caller's: see `Services::sign_in`.)
    pub async fn login(
        &self,
        store: &dyn RecordStore,
        username: &str,
        password: &str,
    ) -> ServiceResult<Session> {
        let username = normalise_username(username);
        let user = self
            .check_password(store, &username, password)
            .await?
            .ok_or(ServiceError::BadCredentials)?;
        let version = store.session_version(&user.username).await?.unwrap_or(0);
        let forced = store.password_change_required(&user.username).await?;
        Ok(self.issue_flagged(
            &user.username,
            &user.display_name,
            &user.roles,
            version,
            forced,
        ))
    }

    /// Signs a token for an account at its current session version.
    pub fn issue(
        &self,
        username: &str,
        display_name: &str,
        roles: &[Role],
        session_version: u64,
    ) -> Session {
        self.issue_flagged(username, display_name, roles, session_version, false)
    }

    /// Signs a token, saying whether the account must change its password first.
    pub fn issue_flagged(
        &self,
        username: &str,
        display_name: &str,
        roles: &[Role],
        session_version: u64,
        password_change_required: bool,
    ) -> Session {
        let exp = now_secs() + self.ttl_secs;
        let claims = Claims {
            sub: username.to_string(),
            name: display_name.to_string(),
            roles: roles.to_vec(),
            exp,
            ver: session_version,
            pcr: password_change_required,
        };
        let body = B64.encode(serde_json::to_vec(&claims).expect("claims serialise"));
        let sig = B64.encode(self.sign(body.as_bytes()));
        Session {
            token: format!("{body}.{sig}"),
            expires_at: exp,
            username: username.to_string(),
            display_name: display_name.to_string(),
            roles: roles.to_vec(),
            password_change_required,
        }
    }

    /// A key for another purpose (page cookies, CSRF tokens), derived from the token key so
    /// every portal process holds the same one and none of them can forge a bearer token.
    pub fn derive_key(&self, purpose: &str) -> Vec<u8> {
        self.sign(format!("derive:{purpose}").as_bytes())
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    fn sign(&self, body: &[u8]) -> Vec<u8> {
        let mut m = self.mac();
        m.update(body);
        m.finalize().into_bytes().to_vec()
    }

    /// The principal a token stands for, if it is genuine and unexpired. Whether its session
    /// has since been ended is checked against the store by `Services::session_current`.
    pub fn verify(&self, token: &str) -> Option<Principal> {
        let (body, sig) = token.trim().split_once('.')?;
        let sig = B64.decode(sig).ok()?;
        let mut m = self.mac();
        m.update(body.as_bytes());
        m.verify_slice(&sig).ok()?;
        let claims: Claims = serde_json::from_slice(&B64.decode(body).ok()?).ok()?;
        if claims.exp <= now_secs() {
            return None;
        }
        Some(Principal {
            username: claims.sub,
            display_name: claims.name,
            roles: claims.roles,
            session_version: claims.ver,
            password_change_required: claims.pcr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_hashes_are_argon2id_at_owasp_parameters() {
        let phc = hash_password_blocking("correct horse");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking("correct horse", &phc));
        assert!(!verify_blocking("wrong horse", &phc));
    }

    #[test]
    fn older_hashes_verify_by_their_own_parameters() {
        // Made at other parameters (argon2id, 8 MiB, 1 pass; and argon2i): still accepted.
        for (alg, m, t) in [
            (Algorithm::Argon2id, 8192, 1),
            (Algorithm::Argon2i, 4096, 3),
        ] {
            let params = Params::new(m, t, 1, None).unwrap();
            let salt = SaltString::generate(&mut OsRng);
            let phc = Argon2::new(alg, Version::V0x13, params)
                .hash_password(b"an older password", &salt)
                .unwrap()
                .to_string();
            assert!(verify_blocking("an older password", &phc), "{phc}");
            assert!(!verify_blocking("another password", &phc), "{phc}");
        }
        assert!(!verify_blocking("anything", "not a hash"));
    }
}
