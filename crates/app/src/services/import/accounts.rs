//! Sign-in accounts for imported students and staff. A row with a password gets an argon2id
//! hash of it (hashed in parallel on the blocking pool, one hash per core at a time: a
//! 10,000-student file must not take 10,000 × 50 ms on one thread, nor starve the async
//! threads); a row without one refreshes the name and roles of an existing account and
//! keeps its password, and creates no account. A newly created account must change its
//! password at first sign-in (see [`crate::services::forced_password`]).
//!
//! Never log, print or return a password or a hash.

use crate::services::auth::hash_password_blocking;
use eportal_core::model::UserAccount;
use eportal_core::Role;
use eportal_ports::error::PortResult;
use eportal_ports::RecordStore;
use futures_util::stream::{self, StreamExt};

/// An account as an import row describes it.
pub struct Person {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub password: Option<String>,
}

fn hashers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Creates or refreshes the accounts; returns the usernames written (an account whose roles
/// or password changed has had its sessions ended by the store: callers forget its cached
/// session version).
pub async fn write(store: &dyn RecordStore, people: Vec<Person>) -> PortResult<Vec<String>> {
    let mut accounts = Vec::with_capacity(people.len());
    let mut to_hash = Vec::new();
    for p in people {
        match p.password {
            Some(pw) => to_hash.push((p.username, p.display_name, p.roles, pw)),
            None => {
                if let Some(existing) = store.user(&p.username).await? {
                    accounts.push(UserAccount {
                        username: p.username,
                        password_hash: existing.password_hash,
                        display_name: p.display_name,
                        roles: p.roles,
                    });
                }
            }
        }
    }
    let hashed: Vec<UserAccount> = stream::iter(to_hash)
        .map(|(username, display_name, roles, pw)| async move {
            let phc = tokio::task::spawn_blocking(move || hash_password_blocking(&pw))
                .await
                .expect("password hashing does not panic");
            UserAccount {
                username,
                password_hash: phc,
                display_name,
                roles,
            }
        })
        .buffer_unordered(hashers())
        .collect()
        .await;
    accounts.extend(hashed);
    // A new account's password was chosen by the registry, not its holder: they must change
    // it at first sign-in. An account that already existed keeps its flag as it was.
    let mut new_accounts = Vec::new();
    for a in &accounts {
        if store.user(&a.username).await?.is_none() {
            new_accounts.push(a.username.clone());
        }
    }
    for chunk in accounts.chunks(super::BATCH) {
        store.upsert_users(chunk).await?;
    }
    for chunk in new_accounts.chunks(super::BATCH) {
        store.require_password_change(chunk).await?;
    }
    Ok(accounts.into_iter().map(|a| a.username).collect())
}
