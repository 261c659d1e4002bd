//! Reliability and security: the worker under faults, bad input
//! and concurrency, against the real RabbitMQ and PostgreSQL. Each test has
//! its own database and names. Tests that stop a whole server are in
//! `tests/outage/` and run alone.

mod broker;
mod checks;
mod concurrency;
mod crash;
mod database;
mod dlq;
mod harness;
mod memory;
mod ordering;
mod proxy;
mod secrets;
mod tls;
mod workload;
