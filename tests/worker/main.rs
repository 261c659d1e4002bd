//! The worker against the real RabbitMQ and PostgreSQL of the machine. One
//! binary (one link); each test has its own database and its own exchange
//! and queue names, and removes them when it ends.

mod campaigns;
mod contacts;
mod helpers;
mod http;
mod parity;
mod poison;
mod proto;
mod publish;
mod rights;
mod sweep;
mod topology;
