//! Metric names. Labels carry queue names, event types, outcomes and error
//! kinds only: never an id, an email, a name or a title.

/// Counter `{queue, type, outcome}`; outcome = processed | duplicate | stale | dead_lettered.
pub const EVENTS: &str = "dmumatch_events_total";
/// Counter `{decision}`: decisions whose outcome changed, hence published.
pub const DECISIONS_PUBLISHED: &str = "dmumatch_decisions_total";
/// Histogram `{queue}`: seconds from a delivery's arrival to its acknowledgement.
pub const PROCESSING_SECONDS: &str = "dmumatch_processing_seconds";
/// Histogram `{queue}`: seconds per batch transaction.
pub const BATCH_SECONDS: &str = "dmumatch_batch_seconds";
/// Histogram `{queue}`: deliveries per batch.
pub const BATCH_SIZE: &str = "dmumatch_batch_size";
/// Gauge: outbox rows not yet published.
pub const OUTBOX_BACKLOG: &str = "dmumatch_outbox_backlog";
/// Counter `{queue, kind}`: messages sent to a DLQ by the worker.
pub const DEAD_LETTERED: &str = "dmumatch_dead_lettered_total";
/// Counter `{result}`: publisher confirms of the relay; ack | nack | returned | timeout.
pub const PUBLISHED: &str = "dmumatch_published_total";
/// Counter: AMQP sessions rebuilt after a failure.
pub const RECONNECTS: &str = "dmumatch_amqp_reconnects_total";
/// Counter `{kind}`: database errors that pause the consumers; unavailable (a
/// data error dead-letters its message with kind `database` instead).
pub const DB_ERRORS: &str = "dmumatch_db_errors_total";
/// Counter: decisions re-evaluated by the sweep.
pub const SWEPT: &str = "dmumatch_swept_total";
/// Counter `{read}`: fan-out pages by how they were read; ahead (while the
/// page before was written, and still current) | again (read ahead, but the
/// decide state moved since or the page is over a second old: read again
/// under the lock) | locked (nothing read ahead, e.g. a fan-out's first page).
pub const FANOUT_PAGES: &str = "dmumatch_fanout_pages_total";

/// Histogram buckets in seconds (processing latency spans ms to minutes).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
pub const SIZE_BUCKETS: &[f64] = &[1.0, 5.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(EVENTS, "Input events by queue, type and outcome");
    describe_counter!(DECISIONS_PUBLISHED, "Decisions published, by decision");
    describe_histogram!(
        PROCESSING_SECONDS,
        metrics::Unit::Seconds,
        "Delivery arrival to acknowledgement"
    );
    describe_histogram!(
        BATCH_SECONDS,
        metrics::Unit::Seconds,
        "Time per batch transaction"
    );
    describe_histogram!(BATCH_SIZE, "Deliveries per batch");
    describe_gauge!(OUTBOX_BACKLOG, "Outbox rows not yet published");
    describe_counter!(DEAD_LETTERED, "Messages sent to a DLQ, by queue and kind");
    describe_counter!(PUBLISHED, "Relay publisher confirms, by result");
    describe_counter!(RECONNECTS, "AMQP sessions rebuilt after a failure");
    describe_counter!(DB_ERRORS, "Database errors, by kind");
    describe_counter!(SWEPT, "Decisions re-evaluated after their validUntil");
    describe_counter!(FANOUT_PAGES, "Fan-out pages, by how they were read");
}
