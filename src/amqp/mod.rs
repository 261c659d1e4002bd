//! AMQP adapter (lapin): connection (optionally TLS), topology, and
//! publishing with confirms.

pub mod publish;
pub mod topology;

use std::path::Path;
use std::time::Duration;

use lapin::{
    Channel, Connection, ConnectionProperties, DefaultConnectionBuilder, tcp::OwnedTLSConfig,
    uri::AMQPUri,
};

/// How long a close waits for the broker's reply. A connection the broker
/// blocks (a resource alarm) never replies, and lapin waits without a limit.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Closes a channel, giving up after [`CLOSE_TIMEOUT`]; its errors change nothing.
pub async fn close_channel(channel: &Channel) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, channel.close(200, "bye".into())).await;
}

/// Closes a connection, giving up after [`CLOSE_TIMEOUT`].
pub async fn close_connection(connection: &Connection) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, connection.close(200, "bye".into())).await;
}

#[derive(Debug, thiserror::Error)]
pub enum AmqpError {
    #[error("AMQP: {0}")]
    Lapin(#[from] lapin::Error),
    #[error("AMQP configuration: {0}")]
    Config(String),
    #[error("AMQP: {0}")]
    Other(String),
}

/// Parses an AMQP URL. The parser's messages may quote the whole URL,
/// password included: it is cut out of them.
pub fn parse_url(url: &str) -> Result<AMQPUri, AmqpError> {
    url.parse::<AMQPUri>().map_err(|e| {
        AmqpError::Config(format!(
            "AMQP_URL is not a valid AMQP URL: {}",
            e.replace(url, "<AMQP_URL>")
        ))
    })
}

/// Opens a connection. `amqps://` URLs use rustls with the system roots plus
/// the PEM bundle at `ca_file`. lapin's own recovery stays off: the worker's
/// supervisor rebuilds the whole session instead, so a delivery tag is never
/// acknowledged on a channel other than the one it came from.
pub async fn connect(
    url: &str,
    ca_file: Option<&Path>,
    name: &str,
) -> Result<Connection, AmqpError> {
    let tls = OwnedTLSConfig {
        identity: None,
        cert_chain: match ca_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| AmqpError::Config(format!("{}: {e}", path.display())))?,
            ),
            None => None,
        },
    };
    let uri = parse_url(url)?;
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    Ok(DefaultConnectionBuilder::new()?
        .with_uri(uri)
        .with_properties(properties)
        .with_tls_config(tls)
        .connect()
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_url_is_refused_without_quoting_it() {
        for url in [
            "amqp:user:s3cret@host",
            "http://user:s3cret@host/",
            "amqp://user:s3cret@host:port/",
        ] {
            let e = parse_url(url).unwrap_err().to_string();
            assert!(e.contains("not a valid AMQP URL"), "{e}");
            assert!(!e.contains("s3cret"), "{e}");
        }
        assert!(parse_url("amqps://user:s3cret@host:5671/%2f").is_ok());
    }
}
