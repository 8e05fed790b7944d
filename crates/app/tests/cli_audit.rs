//! `eportal audit verify` end to end, on the binary: a small demo (every sheet and workflow
//! step through the real pipeline, the head signed at the end of its build) verifies; the
//! same SQLite file with one ledger row altered fails with exit code 4 naming the entry; a
//! wrong public key finds no signature; a malformed key file is refused naming the setting.

mod cli_support;

use cli_support::{eportal, outcome, run, Child};
use sqlx::{Connection, SqliteConnection};
use std::path::Path;
use std::time::Duration;

fn demo(dir: &Path) -> std::process::Command {
    let mut c = eportal(dir);
    c.args(["demo", "--students", "60", "--listen", "127.0.0.1:0"]);
    c.arg("--data-dir").arg(dir);
    c
}

fn verify(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut c = eportal(dir);
    c.args(["audit", "verify"]).args(extra);
    outcome(&run(&mut c))
}

async fn tamper(dir: &Path, statement: &str) {
    let url = format!("sqlite://{}", dir.join("eportal.sqlite").display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(statement).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_demo_verifies_and_a_tampered_file_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut child = Child::spawn(demo(&dir), tmp.path().join("demo.log"));
    child.wait_for("sign in with a browser at", Duration::from_secs(300));
    assert!(
        child.seen.iter().any(|l| l.contains("head signed")),
        "the demo signs its ledger: {:?}",
        child.seen
    );
    assert_eq!(child.stop(Duration::from_secs(30)), Some(0));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("ledger-signing.key"))
            .expect("the key file is made on first start")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner may read the key");
    }

    let (code, out, err) = verify(&dir, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("the ledger is intact"), "{out}");
    assert!(out.contains("0 entries after it not yet signed"), "{out}");
    let entries: u64 = out
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("ledger: N entries checked: {out}"));
    assert!(
        entries > 100,
        "every score and every step is recorded: {out}"
    );

    // A key that did not sign this ledger.
    let other = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let (code, _, err) = verify(&dir, &["--public-key", other]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no signature by key"), "{err}");

    tamper(
        &dir,
        "UPDATE ledger SET body = replace(body, '\"exam\":', '\"exam\":9') WHERE seq = 3",
    )
    .await;
    let (code, out, err) = verify(&dir, &[]);
    assert_eq!(code, 4, "{out}\n{err}");
    assert!(
        err.contains("seq 3") && err.contains("was altered"),
        "{err}"
    );
    assert!(out.contains("FAILED"), "{out}");

    tamper(&dir, "DELETE FROM ledger WHERE seq = 3").await;
    let (code, _, err) = verify(&dir, &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("entry seq 3 is missing"), "{err}");
}

#[test]
fn a_malformed_key_file_is_refused_naming_the_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("ledger-signing.key"), "not a key\n").unwrap();
    let (code, _, err) = verify(dir, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("EPORTAL_LEDGER__KEY_FILE") && err.contains("malformed"),
        "{err}"
    );
    // A process that would sign refuses to start with it too.
    let (code, _, err) = outcome(&run(eportal(dir).arg("migrate")));
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("EPORTAL_LEDGER__KEY_FILE"), "{err}");

    // A key file elsewhere that does not exist: verify does not make one up.
    let missing = dir.join("elsewhere.key");
    let mut c = eportal(dir);
    c.env("EPORTAL_LEDGER__KEY_FILE", &missing)
        .args(["audit", "verify"]);
    let (code, _, err) = outcome(&run(&mut c));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!missing.exists());

    let mut c = eportal(dir);
    c.env("EPORTAL_LEDGER__SIGN_INTERVAL_SECS", "0")
        .arg("migrate");
    let (code, _, err) = outcome(&run(&mut c));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("EPORTAL_LEDGER__SIGN_INTERVAL_SECS"), "{err}");
}
