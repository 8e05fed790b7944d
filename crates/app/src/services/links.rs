//! Results links: when a course result is published, each of its students is sent a personal
//! link, `/r/{token}`, that opens their results without a password — so results day does not
//! begin with tens of thousands of password sign-ins at once.
//!
//! A token is the student's matric number, an expiry time and the account's session version,
//! sealed with HMAC-SHA256 under a key derived from the token key (so every portal holds it,
//! and it cannot forge a sign-in token). Opening one costs one HMAC and a compare, then the
//! same session check every signed-in request makes: a link stops working when its student's
//! sessions end (sign-out everywhere, a password change, an administrator's revocation).
//!
//! What a link may do is read its own student's results: it is never a sign-in, it is not a
//! bearer token (the API refuses it), and it names no other student. Never log a token.
//!
//! Messages are sent by a background task after the publication has been answered, a few at
//! a time, each under a deadline; at most `notify.max_pending` wait. A message that cannot be
//! delivered is logged and counted (`eportal_notifications_total{outcome}`) and never fails
//! the publication. Waiting messages live in this process only: a portal stopped before it
//! sent them loses them (the student still signs in as before).

use super::auth::AuthService;
use super::results::StudentResults;
use super::results_cache::ResultsDoc;
use super::{Principal, ServiceError, Services};
use crate::config::Config;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use eportal_core::model::CourseTerm;
use eportal_core::{MatricNo, Role, Semester};
use eportal_ports::Notice;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{watch, Notify};

/// The first part of every token's sealed text: a new format gets a new one.
const FORMAT: &str = "r1";

/// One student to write to, about every course of theirs published since the last message.
struct Pending {
    matric: MatricNo,
    courses: Vec<String>,
}

/// The messages waiting to be sent: one per student, oldest first. A publication for a
/// student already waiting adds its course to that student's message, so senate publishing a
/// whole faculty's courses at once sends each student one message, not one per course.
#[derive(Default)]
struct Outgoing {
    order: VecDeque<MatricNo>,
    courses: HashMap<MatricNo, Vec<String>>,
}

/// The links' key and the messages waiting to be sent.
pub struct Links {
    key: Vec<u8>,
    pending: Mutex<Outgoing>,
    wake: Notify,
}

/// A link a student may follow: whose results it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkHolder {
    pub matric: MatricNo,
    pub session_version: u64,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Why a link does not open.
#[derive(Debug, thiserror::Error)]
pub enum LinkRefusal {
    /// Not a token this portal made (mistyped, cut short, or altered).
    #[error("this results link is not one the portal made: check that the whole link was copied, or sign in to see your results")]
    Invalid,
    #[error("this results link has expired: sign in to see your results (a new link comes with the next publication)")]
    Expired,
    /// The student's sessions ended after the link was made.
    #[error("this results link no longer works because your sessions were ended (signed out everywhere, or the password changed): sign in to see your results")]
    Revoked,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<LinkRefusal> for ServiceError {
    fn from(r: LinkRefusal) -> Self {
        match r {
            LinkRefusal::Invalid => ServiceError::NotFound(r.to_string()),
            LinkRefusal::Expired | LinkRefusal::Revoked => ServiceError::Forbidden(r.to_string()),
            LinkRefusal::Service(e) => e,
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Links {
    pub fn new(auth: &AuthService, _config: &Config) -> Links {
        Links {
            key: auth.derive_key("result-link"),
            pending: Mutex::new(Outgoing::default()),
            wake: Notify::new(),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    /// A token for `matric` at `session_version`, valid until `expires_at` (Unix seconds).
    pub fn mint(&self, matric: &MatricNo, session_version: u64, expires_at: u64) -> String {
        let sealed = format!("{FORMAT}|{matric}|{expires_at}|{session_version}");
        let mut m = self.mac();
        m.update(sealed.as_bytes());
        let tag = m.finalize().into_bytes();
        format!("{}.{}", B64.encode(sealed), B64.encode(tag))
    }

    /// Whose results a token opens, if it is genuine and unexpired (no store read). Whether
    /// the student's sessions have ended since is [`Services::results_by_link`]'s to check.
    pub fn open(&self, token: &str) -> Result<LinkHolder, LinkRefusal> {
        let (sealed, tag) = token.split_once('.').ok_or(LinkRefusal::Invalid)?;
        // A token is short; refuse a long one before decoding it.
        if token.len() > 256 {
            return Err(LinkRefusal::Invalid);
        }
        let sealed = B64.decode(sealed).map_err(|_| LinkRefusal::Invalid)?;
        let tag = B64.decode(tag).map_err(|_| LinkRefusal::Invalid)?;
        let mut m = self.mac();
        m.update(&sealed);
        m.verify_slice(&tag).map_err(|_| LinkRefusal::Invalid)?;
        // Genuine from here on: a malformed text is our own bug, still refused.
        let text = String::from_utf8(sealed).map_err(|_| LinkRefusal::Invalid)?;
        let mut parts = text.split('|');
        let (Some(FORMAT), Some(matric), Some(exp), Some(ver), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(LinkRefusal::Invalid);
        };
        let holder = LinkHolder {
            matric: MatricNo::parse(matric).map_err(|_| LinkRefusal::Invalid)?,
            expires_at: exp.parse().map_err(|_| LinkRefusal::Invalid)?,
            session_version: ver.parse().map_err(|_| LinkRefusal::Invalid)?,
        };
        if holder.expires_at <= now_secs() {
            return Err(LinkRefusal::Expired);
        }
        Ok(holder)
    }

    /// Adds `course` to the messages of these students, up to `max` students waiting;
    /// returns how many students did not fit.
    fn enqueue(&self, students: &[MatricNo], course: &str, max: usize) -> usize {
        let mut p = self.pending.lock().expect("links queue is never poisoned");
        let mut dropped = 0;
        for m in students {
            if let Some(courses) = p.courses.get_mut(m) {
                courses.push(course.to_string());
            } else if p.order.len() < max {
                p.order.push_back(m.clone());
                p.courses.insert(m.clone(), vec![course.to_string()]);
            } else {
                dropped += 1;
            }
        }
        drop(p);
        self.wake.notify_one();
        dropped
    }

    fn take(&self, n: usize) -> Vec<Pending> {
        let mut p = self.pending.lock().expect("links queue is never poisoned");
        let n = n.min(p.order.len());
        let taken: Vec<MatricNo> = p.order.drain(..n).collect();
        taken
            .into_iter()
            .map(|matric| {
                let courses = p.courses.remove(&matric).unwrap_or_default();
                Pending { matric, courses }
            })
            .collect()
    }

    /// Messages (students) waiting to be sent.
    pub fn pending(&self) -> usize {
        self.pending
            .lock()
            .expect("links queue is never poisoned")
            .order
            .len()
    }
}

/// Messages taken from the queue at a time (the concurrency bounds how many are in flight).
const BATCH: usize = 256;

impl Services {
    /// A link for `matric` at its account's current session version, valid for
    /// `links.ttl_hours` from now.
    pub fn mint_result_link(&self, matric: &MatricNo, session_version: u64) -> String {
        let exp = now_secs() + self.config.links.ttl_hours * 3600;
        self.links.mint(matric, session_version, exp)
    }

    /// The results a link opens: its own student's, read like the student's own request,
    /// and whether they were served stale while the store is failing.
    pub async fn results_by_link(
        &self,
        token: &str,
    ) -> Result<(StudentResults, bool), LinkRefusal> {
        let doc = self.results_document_by_link(token).await?;
        let view = serde_json::from_slice(doc.json())
            .map_err(|e| ServiceError::Internal(anyhow::Error::new(e).context("cached results")))?;
        Ok((view, doc.stale))
    }

    /// The results a link opens as the ready-made JSON the cache keeps (the API sends these
    /// bytes as they are).
    pub async fn results_document_by_link(&self, token: &str) -> Result<ResultsDoc, LinkRefusal> {
        let holder = self.links.open(token)?;
        let who = link_reader(&holder);
        if !self.session_current(&who).await {
            return Err(LinkRefusal::Revoked);
        }
        Ok(self.results_document(&who, &holder.matric).await?)
    }

    /// After `term` was published: queue a results link for each of its students (sent by
    /// [`Services::run_link_sender`]; this never waits for a delivery).
    pub fn send_result_links(&self, term: &CourseTerm, students: &[MatricNo]) {
        if !self.config.links.enabled || students.is_empty() {
            return;
        }
        let course = format!(
            "{} ({} {} semester)",
            term.course_code,
            term.session,
            match term.semester {
                Semester::First => "first",
                Semester::Second => "second",
            }
        );
        let dropped = self
            .links
            .enqueue(students, &course, self.config.notify.max_pending);
        if dropped > 0 {
            self.metrics
                .notifications
                .with_label_values(&["dropped"])
                .inc_by(dropped as u64);
            tracing::warn!(
                dropped,
                max_pending = self.config.notify.max_pending,
                "too many results links wait to be sent; these students were not written to"
            );
        }
    }

    /// Sends the queued results links until `shutdown` turns true.
    pub async fn run_link_sender(&self, mut shutdown: watch::Receiver<bool>) {
        let concurrency = self.config.notify.concurrency.max(1);
        loop {
            let batch = self.links.take(BATCH);
            if batch.is_empty() {
                tokio::select! {
                    _ = self.links.wake.notified() => continue,
                    _ = shutdown.changed() => return,
                }
            }
            let send = futures_util::stream::iter(batch)
                .for_each_concurrent(concurrency, |p| async move { self.deliver(p).await });
            tokio::select! {
                _ = send => {}
                _ = shutdown.changed() => {
                    let left = self.links.pending();
                    if left > 0 {
                        tracing::warn!(left, "stopping with results links not sent");
                    }
                    return;
                }
            }
        }
    }

    async fn deliver(&self, p: Pending) {
        let outcome = match self.deliver_one(&p).await {
            Ok(true) => "sent",
            Ok(false) => "skipped",
            Err(e) => {
                tracing::warn!(matric = %p.matric, error = %e, "could not send a results link");
                "failed"
            }
        };
        self.metrics
            .notifications
            .with_label_values(&[outcome])
            .inc();
    }

    /// `Ok(false)`: the student has no account to open results with.
    async fn deliver_one(&self, p: &Pending) -> anyhow::Result<bool> {
        let Some(version) = self.ports.store.session_version(p.matric.as_str()).await? else {
            return Ok(false);
        };
        let token = self.mint_result_link(&p.matric, version);
        let notice = self.link_notice(&p.matric, &p.courses, &token);
        let deadline = Duration::from_secs(self.config.notify.timeout_secs);
        match tokio::time::timeout(deadline, self.ports.notifier.send(&notice)).await {
            Ok(r) => r?,
            Err(_) => anyhow::bail!(
                "{} did not accept the message within {}s",
                self.ports.notifier.channel(),
                deadline.as_secs()
            ),
        }
        Ok(true)
    }

    fn link_notice(&self, matric: &MatricNo, courses: &[String], token: &str) -> Notice {
        let base = self.config.links.base_url.trim().trim_end_matches('/');
        let base = if base.is_empty() {
            format!("http://{}", self.config.listen)
        } else {
            base.to_string()
        };
        let domain = self.config.notify.email_domain.trim();
        let address = (!domain.is_empty())
            .then(|| format!("{}@{domain}", matric.as_str().to_ascii_lowercase()));
        let hours = self.config.links.ttl_hours;
        Notice {
            username: matric.to_string(),
            address,
            subject: match courses {
                [one] => format!("Your result in {one} is published"),
                many => format!("Your results in {} courses are published", many.len()),
            },
            text: format!(
                "{}\n\n\
                 Open your results without signing in:\n{base}/r/{token}\n\n\
                 This link is yours alone: do not share it. It works for {hours} hours, only to \
                 read your results, and stops working if you sign out everywhere or change your \
                 password. You can always sign in to the portal instead.\n",
                match courses {
                    [one] => format!("The result of {one} has been published."),
                    many => format!(
                        "The results of these courses have been published:\n{}",
                        many.iter()
                            .map(|c| format!("- {c}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ),
                }
            ),
        }
    }
}

/// The reader a link stands for: the student, with no right but reading their own results.
pub fn link_reader(holder: &LinkHolder) -> Principal {
    Principal {
        username: holder.matric.to_string(),
        display_name: holder.matric.to_string(),
        roles: vec![Role::Student],
        session_version: holder.session_version,
        password_change_required: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        let auth = AuthService::new(&Config::default().auth, b"a test key".to_vec());
        Links::new(&auth, &Config::default())
    }

    #[test]
    fn a_student_waiting_for_a_message_gets_one_message_for_all_their_courses() {
        let l = links();
        let m = |s: &str| MatricNo::parse(s).unwrap();
        let (a, b, c) = (m("SCI/2021/0001"), m("SCI/2021/0002"), m("SCI/2021/0003"));
        assert_eq!(l.enqueue(&[a.clone(), b.clone()], "CSC 201", 2), 0);
        // b waits already: its course joins b's message; c does not fit.
        assert_eq!(l.enqueue(&[b.clone(), c.clone()], "MTH 201", 2), 1);
        assert_eq!(l.pending(), 2);
        let sent = l.take(10);
        assert_eq!(sent.len(), 2);
        assert_eq!(
            (&sent[0].matric, sent[0].courses.as_slice()),
            (&a, &["CSC 201".to_string()][..])
        );
        assert_eq!(
            (&sent[1].matric, sent[1].courses.as_slice()),
            (&b, &["CSC 201".to_string(), "MTH 201".to_string()][..])
        );
        assert_eq!(l.pending(), 0);
        // Once sent, a later publication is a new message.
        assert_eq!(l.enqueue(std::slice::from_ref(&a), "PHY 201", 2), 0);
        assert_eq!(l.take(10)[0].courses, vec!["PHY 201".to_string()]);
    }

    #[test]
    fn a_token_opens_for_its_student_until_it_expires() {
        let l = links();
        let m = MatricNo::parse("SCI/2021/0001").unwrap();
        let t = l.mint(&m, 7, now_secs() + 60);
        let h = l.open(&t).unwrap();
        assert_eq!((h.matric, h.session_version), (m.clone(), 7));
        let old = l.mint(&m, 7, now_secs() - 1);
        assert!(matches!(l.open(&old), Err(LinkRefusal::Expired)));
    }

    #[test]
    fn an_altered_or_foreign_token_is_refused() {
        let l = links();
        let m = MatricNo::parse("SCI/2021/0001").unwrap();
        let t = l.mint(&m, 0, now_secs() + 60);
        let (_, tag) = t.split_once('.').unwrap();
        // Another student's matric number with this token's seal.
        let forged = format!(
            "{}.{tag}",
            B64.encode(format!("{FORMAT}|SCI/2021/0002|{}|0", now_secs() + 60))
        );
        assert!(matches!(l.open(&forged), Err(LinkRefusal::Invalid)));
        // A seal under another key (another portal's, or a sign-in token's).
        let other = AuthService::new(&Config::default().auth, b"another key".to_vec());
        let foreign = Links::new(&other, &Config::default()).mint(&m, 0, now_secs() + 60);
        assert!(matches!(l.open(&foreign), Err(LinkRefusal::Invalid)));
        for junk in ["", ".", "abc", "a.b", &t[..t.len() - 2]] {
            assert!(matches!(l.open(junk), Err(LinkRefusal::Invalid)), "{junk}");
        }
    }

    #[test]
    fn link_and_notifier_settings_are_checked_at_start() {
        let known = crate::config_names::KnownKeys::of_config();
        for key in [
            "links.ttl_hours",
            "links.base_url",
            "notify.smtp_url",
            "notify.email_domain",
        ] {
            assert!(known.contains(key), "{key}");
        }
        let refused = |change: &dyn Fn(&mut Config), setting: &str| {
            let mut c = Config::default();
            change(&mut c);
            let e = format!("{:#}", c.validate().unwrap_err());
            assert!(e.contains(setting), "{setting}: {e}");
        };
        refused(&|c| c.links.ttl_hours = 0, "EPORTAL_LINKS__TTL_HOURS");
        refused(
            &|c| c.links.base_url = "portal.example.edu".into(),
            "EPORTAL_LINKS__BASE_URL",
        );
        refused(
            &|c| c.notify.smtp_url = "http://relay:25".into(),
            "EPORTAL_NOTIFY__SMTP_URL",
        );
        refused(
            &|c| c.notify.smtp_url = "smtp://relay:25".into(),
            "EPORTAL_NOTIFY__EMAIL_DOMAIN",
        );
        refused(&|c| c.notify.concurrency = 0, "EPORTAL_NOTIFY__CONCURRENCY");
        let mut c = Config::default();
        c.notify.smtp_url = "smtp://relay:25".into();
        c.notify.email_domain = "students.example.edu".into();
        c.validate()
            .expect("a relay with a mail domain is a valid setting");
    }
}
