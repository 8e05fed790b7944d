//! The grading policy books a process grades and reads under. Books never change once
//! stored, so each version is read from the store once and kept; which version is active is
//! asked again at most once per `workflow.policy_refresh_ms`, so a running portal or worker
//! follows a regrade's switch without a restart.
//!
//! Results are never computed under "the current book" as this process last saw it: the
//! records say which book they were graded under (read in one snapshot with them, see
//! [`eportal_ports::Policies::graded_records`]), and that is the book used.

use super::{ServiceError, ServiceResult};
use eportal_core::PolicyBook;
use eportal_ports::RecordStore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

/// How often a process asks which book is active: a switch reaches every process within
/// this many milliseconds.
pub const REFRESH_MS: u64 = 1_000;

pub struct PolicyBooks {
    store: Arc<dyn RecordStore>,
    books: RwLock<HashMap<u32, Arc<PolicyBook>>>,
    /// The highest active version this process has seen.
    known: AtomicU32,
    checked_at_ms: AtomicI64,
    refresh_ms: i64,
}

impl PolicyBooks {
    /// Starts from `active` (what the store had at start-up, or the built-in default).
    pub fn new(store: Arc<dyn RecordStore>, active: PolicyBook, refresh_ms: u64) -> Self {
        let version = active.version;
        PolicyBooks {
            store,
            books: RwLock::new(HashMap::from([(version, Arc::new(active))])),
            known: AtomicU32::new(version),
            checked_at_ms: AtomicI64::new(eportal_ports::now_ms()),
            refresh_ms: refresh_ms as i64,
        }
    }

    /// The active version as this process knows it (no I/O): at most `refresh_ms` old once
    /// [`PolicyBooks::active`] or [`PolicyBooks::refresh_soon`] has been called.
    pub fn known_version(&self) -> u32 {
        self.known.load(Ordering::Acquire)
    }

    /// Notes that the store has `version` active (seen with a student's records, or switched
    /// to by this process).
    pub fn saw(&self, version: u32) {
        self.known.fetch_max(version, Ordering::AcqRel);
    }

    fn due(&self) -> bool {
        let now = eportal_ports::now_ms();
        let last = self.checked_at_ms.load(Ordering::Acquire);
        now - last >= self.refresh_ms
            && self
                .checked_at_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// Asks the store which version is active, if that was last asked `refresh_ms` ago.
    pub async fn refresh(&self) -> ServiceResult<()> {
        if self.due() {
            let v = self.store.active_policy_version().await?;
            self.saw(v);
        }
        Ok(())
    }

    /// Like [`PolicyBooks::refresh`], in the background: the caller does not wait.
    pub fn refresh_soon(self: &Arc<Self>) {
        if self.due() {
            let me = self.clone();
            tokio::spawn(async move {
                match me.store.active_policy_version().await {
                    Ok(v) => me.saw(v),
                    Err(e) => {
                        tracing::debug!(error = %e, "could not read the active policy version")
                    }
                }
            });
        }
    }

    /// The active book (asking the store which one that is at most every `refresh_ms`).
    pub async fn active(&self) -> ServiceResult<Arc<PolicyBook>> {
        self.refresh().await?;
        self.book(self.known_version()).await
    }

    /// The active book, asking the store now.
    pub async fn active_now(&self) -> ServiceResult<Arc<PolicyBook>> {
        let v = self.store.active_policy_version().await?;
        self.saw(v);
        self.book(v).await
    }

    /// A book by version, read from the store the first time.
    pub async fn book(&self, version: u32) -> ServiceResult<Arc<PolicyBook>> {
        if let Some(b) = self.books.read().expect("books lock").get(&version) {
            return Ok(b.clone());
        }
        let book = if version == 0 {
            PolicyBook::default()
        } else {
            self.store.policy_book(version).await?.ok_or_else(|| {
                ServiceError::NotFound(format!("grading policy version {version}"))
            })?
        };
        let book = Arc::new(book);
        self.books
            .write()
            .expect("books lock")
            .insert(version, book.clone());
        Ok(book)
    }
}
