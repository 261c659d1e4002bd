//! Publishing with confirms: a window of messages goes out, then their
//! confirms are awaited together under one deadline.

use std::time::Duration;

use futures_util::{
    FutureExt, StreamExt,
    stream::{FuturesOrdered, FuturesUnordered},
};
use lapin::{
    BasicProperties, Channel, Confirmation, message::BasicReturnMessage,
    options::BasicPublishOptions, types::ShortString,
};

/// One message to publish (always `mandatory`, so an unroutable message comes
/// back instead of vanishing).
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub exchange: &'a str,
    pub routing_key: &'a str,
    pub payload: &'a [u8],
    pub properties: BasicProperties,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// The broker has it (routed, and on disk for persistent messages).
    Ack,
    /// The broker refused it.
    Nack,
    /// No queue was bound for its routing key (reply 312 NO_ROUTE).
    Returned { reply_code: u16, reply_text: String },
    /// No confirm within the deadline.
    Timeout,
}

impl Confirm {
    pub fn label(&self) -> &'static str {
        match self {
            Confirm::Ack => "ack",
            Confirm::Nack => "nack",
            Confirm::Returned { .. } => "returned",
            Confirm::Timeout => "timeout",
        }
    }
}

/// lapin hands a returned message to whichever confirm it completes next,
/// and it completes the tags of a `multiple` ack in no particular order: the
/// return of one message can arrive on another's confirm. So the returns of
/// a burst are matched to their messages by `message_id` (the event id) and
/// routing key; only a return without an id stays where lapin put it.
fn attribute_returns(
    confirms: &mut [Confirm],
    keys: &[(Option<ShortString>, &str)],
    returns: Vec<(usize, BasicReturnMessage)>,
) {
    for (carrier, returned) in returns {
        let owner = match returned.properties.message_id() {
            None => Some(carrier),
            Some(id) => (0..keys.len()).find(|&j| {
                keys[j].0.as_ref() == Some(id)
                    && keys[j].1 == returned.routing_key.as_str()
                    && !matches!(confirms[j], Confirm::Returned { .. })
            }),
        };
        let Some(owner) = owner else {
            // Not one of this burst's (an earlier burst's, left pending in
            // lapin): marking the carrier would publish it a second time.
            tracing::warn!(
                routing_key = %returned.routing_key,
                "a returned message that is not one of this burst: ignored"
            );
            continue;
        };
        confirms[owner] = Confirm::Returned {
            reply_code: returned.reply_code,
            reply_text: returned.reply_text.to_string(),
        };
    }
}

/// What became of a burst: one result per message, in input order, and the
/// channel error that cut it short, if any.
#[derive(Debug)]
pub struct Published {
    pub confirms: Vec<Confirm>,
    /// Set when the channel failed. The confirms received before it still
    /// count (the broker has those messages); the rest stay `Timeout`. The
    /// caller records what was confirmed, then rebuilds the channel.
    pub error: Option<lapin::Error>,
}

impl Published {
    /// The confirms, or the channel error for callers that treat the burst
    /// as one unit.
    pub fn all(self) -> Result<Vec<Confirm>, lapin::Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.confirms),
        }
    }
}

/// Publishes every message on a confirm-mode channel and waits for their
/// confirms, all within `timeout`. What did not make it in time is
/// `Timeout`.
pub async fn publish_confirmed(
    channel: &Channel,
    messages: Vec<Outgoing<'_>>,
    timeout: Duration,
) -> Published {
    let mut confirms = vec![Confirm::Timeout; messages.len()];
    let keys: Vec<(Option<ShortString>, &str)> = messages
        .iter()
        .map(|m| (m.properties.message_id().clone(), m.routing_key))
        .collect();
    let mut returns = Vec::new();
    let mut error = None;
    let options = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    // The whole burst is handed to lapin before any send is awaited: its I/O
    // loop then writes the frames together instead of one message per turn.
    // The futures are first polled in order, so delivery tags follow it.
    let mut sends: FuturesOrdered<_> = messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| async move {
            let sent = channel
                .basic_publish(
                    m.exchange.into(),
                    m.routing_key.into(),
                    options,
                    m.payload,
                    m.properties,
                )
                .await;
            (i, sent)
        })
        .collect();
    let mut pending = FuturesUnordered::new();
    let run = async {
        while let Some((i, sent)) = sends.next().await {
            match sent {
                Ok(confirm) => pending.push(async move { (i, confirm.await) }),
                Err(e) => {
                    error.get_or_insert(e);
                    break;
                }
            }
        }
        // After a channel error too: acks that arrived before it are kept,
        // so the caller does not publish those messages a second time.
        while let Some((i, confirm)) = pending.next().await {
            record(i, confirm, &mut confirms, &mut returns, &mut error);
        }
    };
    // Never wait without a deadline: confirms have hung in lapin's history,
    // and a connection the broker blocks (a resource alarm) takes no frames.
    let timed_out = tokio::time::timeout(timeout, run).await.is_err();
    if timed_out {
        // Confirms lapin resolved by now but not yet read: one may carry
        // another message's return (a `multiple` ack resolves its tags at once).
        while let Some(Some((i, confirm))) = pending.next().now_or_never() {
            record(i, confirm, &mut confirms, &mut returns, &mut error);
        }
    }
    attribute_returns(&mut confirms, &keys, returns);
    Published { confirms, error }
}

fn record(
    i: usize,
    confirm: Result<Confirmation, lapin::Error>,
    confirms: &mut [Confirm],
    returns: &mut Vec<(usize, BasicReturnMessage)>,
    error: &mut Option<lapin::Error>,
) {
    match confirm {
        Ok(c) => {
            confirms[i] = if c.is_nack() {
                Confirm::Nack
            } else {
                Confirm::Ack
            };
            if let Some(returned) = c.take_message() {
                returns.push((i, returned));
            }
        }
        Err(e) => {
            error.get_or_insert(e);
        }
    }
}
