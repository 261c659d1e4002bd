//! Publishing with confirms, against the real broker.

use std::time::Duration;

use dmumatch::amqp::publish::{Confirm, Outgoing, publish_confirmed};
use lapin::{
    BasicProperties, Connection, ConnectionProperties, ExchangeKind,
    options::{ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions},
    types::FieldTable,
};

use crate::helpers::AMQP_URL;

/// The relay marks a row published only if its confirm arrived. A channel
/// error in the middle of a burst must not throw away the confirms that
/// came before it, or those rows would be published a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirms_received_before_a_channel_error_are_kept() {
    let conn = Connection::connect(AMQP_URL, ConnectionProperties::default())
        .await
        .unwrap();
    let exchange = format!(
        "t{}.publish",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let admin = conn.create_channel().await.unwrap();
    admin
        .exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();

    // Nothing is bound, so the broker returns and confirms the first three
    // at once, in order, before it reaches the fourth: an exchange that does
    // not exist closes the channel (404 NOT_FOUND).
    let missing = format!("{exchange}.missing");
    let targets = [&exchange, &exchange, &exchange, &missing, &exchange];
    let messages = targets
        .iter()
        .map(|x| Outgoing {
            exchange: x.as_str(),
            routing_key: "eligibility.decided",
            payload: b"{}",
            properties: BasicProperties::default(),
        })
        .collect();
    let sent = publish_confirmed(&ch, messages, Duration::from_secs(10)).await;
    admin
        .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
        .await
        .unwrap();
    let _ = conn.close(200, "bye".into()).await;

    let error = sent.error.expect("the channel error is reported");
    assert!(error.to_string().contains("NOT_FOUND"), "{error}");
    for (i, c) in sent.confirms[..3].iter().enumerate() {
        assert!(
            matches!(
                c,
                Confirm::Returned {
                    reply_code: 312,
                    ..
                }
            ),
            "message {i}: {c:?}"
        );
    }
    assert!(
        sent.confirms[3..].iter().all(|c| *c == Confirm::Timeout),
        "{:?}",
        sent.confirms
    );
}
