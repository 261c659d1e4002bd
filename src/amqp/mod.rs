//! AMQP adapter (lapin): connection (optionally TLS), topology, and
//! publishing with confirms.

pub mod publish;
pub mod topology;

use std::path::Path;

use lapin::{Connection, ConnectionProperties, DefaultConnectionBuilder, tcp::OwnedTLSConfig};

#[derive(Debug, thiserror::Error)]
pub enum AmqpError {
    #[error("AMQP: {0}")]
    Lapin(#[from] lapin::Error),
    #[error("AMQP configuration: {0}")]
    Config(String),
    #[error("AMQP: {0}")]
    Other(String),
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
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    Ok(DefaultConnectionBuilder::new()?
        .with_uri_str(url.to_owned())
        .with_properties(properties)
        .with_tls_config(tls)
        .connect()
        .await?)
}
