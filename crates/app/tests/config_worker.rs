//! The worker's delivery limit is validated at start-up with a message naming the setting as
//! the operator writes it.

use eportal::Config;

fn refusal(adjust: impl FnOnce(&mut Config)) -> String {
    let mut c = Config::default();
    adjust(&mut c);
    match c.validate() {
        Ok(()) => panic!("accepted: {:?}", c.worker),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_default_delivery_limit_is_five_and_valid() {
    let c = Config::default();
    assert_eq!(c.worker.max_deliveries, 5);
    c.validate().expect("the defaults are valid");
}

#[test]
fn a_delivery_limit_outside_one_to_the_brokers_limit_is_refused() {
    for bad in [0, 21, 1000] {
        let msg = refusal(|c| c.worker.max_deliveries = bad);
        assert_eq!(
            msg,
            format!(
                "EPORTAL_WORKER__MAX_DELIVERIES must be between 1 and 20 (RabbitMQ's own delivery limit on the jobs queue); got {bad}"
            )
        );
    }
    let mut c = Config::default();
    c.worker.max_deliveries = 20;
    c.worker.retry.max_attempts = 20;
    c.validate()
        .expect("20 is the broker's limit, still allowed");
}

#[test]
fn a_retry_budget_above_the_delivery_limit_is_refused() {
    let msg = refusal(|c| {
        c.worker.max_deliveries = 3;
        c.worker.retry.max_attempts = 4;
    });
    assert!(
        msg.starts_with(
            "EPORTAL_WORKER__RETRY__MAX_ATTEMPTS (4) must not be more than EPORTAL_WORKER__MAX_DELIVERIES (3)"
        ),
        "{msg}"
    );
}
