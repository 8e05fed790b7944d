//! The shared queue contract, run against the shared RabbitMQ with a fresh namespace per case.

mod common;

eportal_ports::queue_contract!(common::open);
