//! Failed sign-in throttling, per account and per network address, over the Cache port's
//! shared counters (so every portal of a deployment on Redis agrees): too many failures in
//! the window lock the username (or the address) for a short while, with a message saying
//! when to come back. The owner gets back in once the lock passes, and their successful
//! sign-in starts the account's count again.
//!
//! Usernames that do not exist are counted and locked exactly like real ones, so the answers
//! never tell an attacker which accounts exist. Keys hold a hash of the username, never the
//! name itself (bounded length, no personal data in the cache). Like the rate limiter this
//! fails open: if the cache cannot count, sign-in goes on (and the failure is logged).

use super::{ServiceError, ServiceResult, Services};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::time::Duration;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What is being throttled: a username or a network address.
#[derive(Clone, Copy)]
enum Subject<'a> {
    Account(&'a str),
    Address(IpAddr),
}

impl Subject<'_> {
    fn id(&self) -> String {
        match self {
            Subject::Account(u) => format!("acct:{}", hex::encode(Sha256::digest(u.as_bytes()))),
            Subject::Address(ip) => format!("addr:{ip}"),
        }
    }

    /// The counter of failures; an account's restarts (a new `generation`) when its owner
    /// signs in, so one typo after a lock does not lock them again at once.
    fn counter_key(&self, generation: &str) -> String {
        format!("signin-fail:v1:{}:{generation}", self.id())
    }

    fn generation_key(&self) -> String {
        format!("signin-gen:v1:{}", self.id())
    }

    fn lock_key(&self) -> String {
        format!("signin-lock:v1:{}", self.id())
    }

    fn refusal(&self, wait_secs: u64) -> ServiceError {
        let whom = match self {
            Subject::Account(_) => "for this account",
            Subject::Address(_) => "from your network address",
        };
        ServiceError::Throttled {
            message: format!(
                "too many failed sign-ins {whom}; try again in {}",
                in_words(wait_secs)
            ),
            retry_after_secs: wait_secs.max(1),
        }
    }
}

/// "5 minutes", "1 minute", "40 seconds" (minutes rounded up, so nobody comes back early).
pub fn in_words(secs: u64) -> String {
    match secs {
        0..=1 => "1 second".into(),
        2..=59 => format!("{secs} seconds"),
        _ => match secs.div_ceil(60) {
            1 => "1 minute".into(),
            m => format!("{m} minutes"),
        },
    }
}

impl Services {
    fn subjects<'a>(&self, username: &'a str, addr: Option<IpAddr>) -> Vec<(Subject<'a>, u64)> {
        let cfg = &self.config.auth;
        let mut v = vec![(Subject::Account(username), cfg.max_failed_sign_ins)];
        if let Some(ip) = addr {
            v.push((Subject::Address(ip), cfg.max_failed_sign_ins_per_address));
        }
        v.into_iter().filter(|(_, max)| *max > 0).collect()
    }

    /// Refuses at once if the username or the address is locked; checked before any
    /// password is hashed, so a locked account costs no CPU.
    pub async fn sign_in_allowed(&self, username: &str, addr: Option<IpAddr>) -> ServiceResult<()> {
        for (subject, _) in self.subjects(username, addr) {
            match self.ports.cache.get(&subject.lock_key()).await {
                Ok(Some(v)) => {
                    let until = std::str::from_utf8(&v)
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                        .unwrap_or(0);
                    let now = now_secs();
                    if until > now {
                        return Err(subject.refusal(until - now));
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read sign-in locks; not throttling"),
            }
        }
        Ok(())
    }

    /// Counts a failed sign-in against the username and the address, locking either once
    /// it has failed too often in the window; returns the refusal if this failure locked it.
    pub async fn sign_in_failed(
        &self,
        username: &str,
        addr: Option<IpAddr>,
    ) -> Option<ServiceError> {
        let cfg = &self.config.auth;
        let window = Duration::from_secs(cfg.sign_in_window_secs);
        let lock = cfg.sign_in_lock_secs;
        let mut refusal = None;
        for (subject, max) in self.subjects(username, addr) {
            let generation = match subject {
                Subject::Account(_) => {
                    match self.ports.cache.get(&subject.generation_key()).await {
                        Ok(Some(g)) => String::from_utf8_lossy(&g).into_owned(),
                        _ => "0".into(),
                    }
                }
                Subject::Address(_) => "0".into(),
            };
            let n = match self
                .ports
                .cache
                .hit(&subject.counter_key(&generation), window)
                .await
            {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot count failed sign-ins; not throttling");
                    continue;
                }
            };
            if n >= max {
                let until = (now_secs() + lock).to_string();
                let put = self
                    .ports
                    .cache
                    .put(
                        &subject.lock_key(),
                        until.as_bytes(),
                        Duration::from_secs(lock),
                    )
                    .await;
                if let Err(e) = put {
                    tracing::warn!(error = %e, "cannot store a sign-in lock");
                    continue;
                }
                tracing::info!(
                    subject = match subject {
                        Subject::Account(_) => "account",
                        Subject::Address(_) => "address",
                    },
                    failures = n,
                    lock_secs = lock,
                    "sign-in locked after repeated failures"
                );
                refusal.get_or_insert(subject.refusal(lock));
            }
        }
        refusal
    }
}

impl Services {
    /// The owner signed in: their account's failures start again from nothing. (An
    /// address's do not: one person signing in says nothing about the others behind it.)
    pub async fn sign_in_succeeded(&self, username: &str) {
        let subject = Subject::Account(username);
        let generation = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            .to_string();
        let ttl = Duration::from_secs(self.config.auth.sign_in_window_secs);
        if let Err(e) = self
            .ports
            .cache
            .put(&subject.generation_key(), generation.as_bytes(), ttl)
            .await
        {
            tracing::debug!(error = %e, "could not reset the failed sign-in count");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::in_words;

    #[test]
    fn waits_are_said_in_words_and_rounded_up() {
        assert_eq!(in_words(300), "5 minutes");
        assert_eq!(in_words(299), "5 minutes");
        assert_eq!(in_words(61), "2 minutes");
        assert_eq!(in_words(60), "1 minute");
        assert_eq!(in_words(40), "40 seconds");
        assert_eq!(in_words(0), "1 second");
    }
}
