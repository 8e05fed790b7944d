//! The store port's contract suites, run against PostgreSQL: one fresh database per case.

mod common;

eportal_ports::store_contract!(common::fresh);
eportal_ports::outbox_contract!(common::fresh);
