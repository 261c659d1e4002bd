//! dmumatch: who is this contact for this offer (DMU role), and may we email
//! them (ePrivacy channel gate + GDPR art. 6 basis)?
//!
//! - [`engine`] is the pure core (no I/O), shared by every entry point.
//! - [`cli`] runs it over files; [`worker`] over RabbitMQ with state in
//!   PostgreSQL, through the adapters [`amqp`], [`db`] and [`http`].
//! - [`pb`] is the wire schema of `proto/`, in protobuf and canonical JSON.

pub mod amqp;
pub mod cli;
pub mod config;
pub mod db;
pub mod engine;
pub mod http;
pub mod pb;
pub mod telemetry;
pub mod worker;
