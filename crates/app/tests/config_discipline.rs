//! The queue-discipline settings: the default, each name accepted, and every bad value
//! refused at start-up with the message a person reads, naming the setting.

mod cli_support;

use cli_support::{eportal, outcome, run};
use eportal::Config;
use eportal_core::discipline::Discipline;

fn refusal(adjust: impl FnOnce(&mut Config)) -> String {
    let mut c = Config::default();
    adjust(&mut c);
    match c.validate() {
        Ok(()) => panic!("accepted: {:?}", c.worker),
        Err(e) => e.to_string(),
    }
}

#[test]
fn fifo_is_the_default_and_every_discipline_is_valid() {
    assert_eq!(Config::default().worker.discipline, Discipline::Fifo);
    for d in Discipline::ALL {
        let mut c = Config::default();
        c.worker.discipline = d;
        c.validate().expect("every discipline is valid");
    }
}

#[test]
fn each_discipline_is_read_from_the_environment_by_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    for d in Discipline::ALL {
        let (code, out, err) = outcome(&run(eportal(tmp.path())
            .env("EPORTAL_WORKER__DISCIPLINE", d.as_str())
            .arg("migrate")));
        assert_eq!(code, 0, "{d}: {out}{err}");
    }
}

#[test]
fn an_unknown_discipline_exits_2_naming_the_setting_and_the_choices() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = outcome(&run(eportal(tmp.path())
        .env("EPORTAL_WORKER__DISCIPLINE", "shortest")
        .arg("migrate")));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("EPORTAL_WORKER__DISCIPLINE"), "{err}");
    for d in Discipline::ALL {
        assert!(err.contains(d.as_str()), "the choices are listed: {err}");
    }
}

#[test]
fn an_ageing_limit_outside_a_second_to_a_day_is_refused() {
    for bad in [0, 999, 86_400_001] {
        let msg = refusal(|c| c.worker.max_wait_ms = bad);
        assert_eq!(
            msg,
            format!("EPORTAL_WORKER__MAX_WAIT_MS must be from 1000 (1 s) to 86400000 (a day): it is how long a sheet may wait under lifo or sjf before it is served next; got {bad}")
        );
    }
}

#[test]
fn a_release_window_outside_one_to_ten_thousand_is_refused() {
    for bad in [0, 10_001] {
        let msg = refusal(|c| c.worker.release_window = bad);
        assert_eq!(
            msg,
            format!("EPORTAL_WORKER__RELEASE_WINDOW must be from 1 to 10000 (how many jobs may wait in RabbitMQ at once under a discipline other than fifo); got {bad}")
        );
    }
}
