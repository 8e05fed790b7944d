//! `eportal migrate`, and the promise that a wrong setting stops every command with exit
//! code 2 and a message naming the setting to fix.

mod cli_support;

use cli_support::{eportal, outcome, run};

#[test]
fn migrate_creates_the_database_and_is_repeatable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fresh");
    for _ in 0..2 {
        let (code, out, err) = outcome(&run(eportal(&dir).arg("migrate")));
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("is up to date"), "{out}");
    }
    assert!(
        dir.join("eportal.sqlite").is_file(),
        "the SQLite file is in the data directory"
    );
}

#[test]
fn the_data_dir_flag_overrides_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let (env_dir, flag_dir) = (tmp.path().join("env"), tmp.path().join("flag"));
    let (code, out, err) = outcome(&run(eportal(&env_dir)
        .arg("migrate")
        .arg("--data-dir")
        .arg(&flag_dir)));
    assert_eq!(code, 0, "{out}{err}");
    assert!(flag_dir.join("eportal.sqlite").is_file());
    assert!(!env_dir.exists());
}

#[test]
fn a_bad_setting_exits_2_and_names_the_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("EPORTAL_QUEUE_URL", "nonsense"),
        ("EPORTAL_DATABASE_URL", "mysql://x"),
        ("EPORTAL_CACHE_URL", "memcached://x"),
        ("EPORTAL_WORKER__LEASE_MS", "10"),
        ("EPORTAL_WORKER__SHEET_MEMORY_MB", "16"),
        ("EPORTAL_WORKER__SHEET_WALL_SECS", "0"),
        ("EPORTAL_WORKFLOW__AMENDMENT_APPROVALS", "senate,hod"),
    ];
    for (setting, value) in cases {
        for command in [
            &["migrate"][..],
            &["serve", "--listen", "127.0.0.1:0"],
            &["import", "faculties", "f.csv"],
        ] {
            let (code, out, err) =
                outcome(&run(eportal(tmp.path()).env(setting, value).args(command)));
            assert_eq!(code, 2, "{setting}={value} {command:?}: {out}{err}");
            assert!(
                err.contains(setting),
                "{setting}={value} {command:?}: the message names it: {err}"
            );
        }
    }
    // An amendment chain out of order says what the order is.
    let (_, _, err) = outcome(&run(eportal(tmp.path())
        .env("EPORTAL_WORKFLOW__AMENDMENT_APPROVALS", "senate,hod")
        .arg("migrate")));
    assert!(
        err.contains("reviewers approve in the order hod, dean, senate"),
        "{err}"
    );
    // A value of the wrong type names its key too.
    let (code, _, err) = outcome(&run(eportal(tmp.path())
        .env("EPORTAL_WORKER__CONCURRENCY", "many")
        .arg("migrate")));
    assert_eq!(code, 2, "{err}");
    assert!(err.to_lowercase().contains("concurrency"), "{err}");
}

#[test]
fn a_missing_config_file_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("eportal.toml");
    let (code, _, err) = outcome(&run(eportal(tmp.path())
        .arg("--config")
        .arg(&missing)
        .arg("migrate")));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("eportal.toml") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn a_config_file_is_read_and_the_environment_wins_over_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("eportal.toml");
    let from_file = tmp.path().join("from-file");
    std::fs::write(
        &file,
        format!(
            "data_dir = {:?}\nqueue_url = \"nonsense\"\n",
            from_file.display().to_string()
        ),
    )
    .unwrap();
    let (code, _, err) = outcome(&run(eportal(tmp.path())
        .env_remove("EPORTAL_DATA_DIR")
        .arg("--config")
        .arg(&file)
        .arg("migrate")));
    assert_eq!(code, 2, "the file's queue_url is read: {err}");
    assert!(err.contains("EPORTAL_QUEUE_URL"), "{err}");
    let (code, out, err) = outcome(&run(eportal(tmp.path())
        .env_remove("EPORTAL_DATA_DIR")
        .env("EPORTAL_QUEUE_URL", "embedded")
        .arg("--config")
        .arg(&file)
        .arg("migrate")));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        from_file.join("eportal.sqlite").is_file(),
        "the file's data_dir is used"
    );
}
