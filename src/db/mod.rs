//! PostgreSQL adapter: connection pool (optionally TLS), migrations, and the
//! set-based statements of the worker (`store`).

pub mod store;

use std::{path::Path, time::Duration};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{Client, NoTls, config::SslMode, error::SqlState};

use crate::config::Connections;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// How long a connection attempt may take before the database counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a database operation failed, sorted by what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The server is unreachable, restarting, overloaded, or a transaction
    /// conflicted: retry later, nothing is lost.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The server rejected values of one message (bad encoding, out of range,
    /// too large for an index): retrying the same input fails again.
    #[error("database rejected the data ({code}): {message}")]
    Data { code: String, message: String },
    /// The schema is not the one this binary knows.
    #[error("{0}")]
    Schema(String),
    /// `DATABASE_URL` or the TLS settings are wrong.
    #[error("database configuration: {0}")]
    Config(String),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            // I/O, TLS, closed connection, timeouts: no SQLSTATE. The causes
            // say what went wrong (e.g. which certificate check failed).
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            return DbError::Unavailable(text);
        };
        let code = db.code();
        // Only errors that the same input will always raise are "data": class 22
        // (data exception), NOT NULL / CHECK violations and program limits (an
        // id too long for a btree index). Anything else, our own SQL bugs
        // included, is retried rather than sent to the DLQ, so nothing is lost.
        let data = code.code().starts_with("22")
            || *code == SqlState::NOT_NULL_VIOLATION
            || *code == SqlState::CHECK_VIOLATION
            || *code == SqlState::PROGRAM_LIMIT_EXCEEDED;
        if data {
            // message() only: detail() may quote the offending values.
            DbError::Data {
                code: code.code().to_owned(),
                message: db.message().to_owned(),
            }
        } else {
            DbError::Unavailable(format!("{} ({})", db.message(), code.code()))
        }
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => DbError::Unavailable(other.to_string()),
        }
    }
}

impl DbError {
    pub fn is_data(&self) -> bool {
        matches!(self, DbError::Data { .. })
    }
}

/// `DATABASE_URL` → tokio-postgres config. libpq's `verify-ca`/`verify-full`
/// are read as `require`: with rustls the certificate chain and host name are
/// always verified when TLS is on.
pub fn parse_url(url: &str) -> Result<tokio_postgres::Config, DbError> {
    let url = url
        .replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require");
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| DbError::Config(format!("DATABASE_URL: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("dmumatch");
    }
    Ok(config)
}

/// rustls with the system roots plus the PEM bundle of `DMUMATCH_CA_FILE`.
fn rustls_connector(
    ca_file: Option<&Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, DbError> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A broken system certificate must not stop the worker.
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| DbError::Config(format!("{}: {e}", path.display())))?;
        for cert in certs {
            let cert = cert.map_err(|e| DbError::Config(format!("{}: {e}", path.display())))?;
            roots
                .add(cert)
                .map_err(|e| DbError::Config(format!("{}: {e}", path.display())))?;
        }
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A pool that connects lazily; `pool.get()` fails fast when the server is down.
pub fn pool(connections: &Connections) -> Result<Pool, DbError> {
    let config = parse_url(&connections.database_url)?;
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = if config.get_ssl_mode() == SslMode::Require {
        let tls = rustls_connector(connections.ca_file.as_deref())?;
        Manager::from_config(config, tls, manager_config)
    } else {
        Manager::from_config(config, NoTls, manager_config)
    };
    Pool::builder(manager)
        .max_size(connections.db_pool_size.max(2))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| DbError::Config(e.to_string()))
}

/// One connection outside the pool (migrations, database creation).
async fn connect_one(
    config: &tokio_postgres::Config,
    ca_file: Option<&Path>,
) -> Result<Client, DbError> {
    let missing = |e: tokio_postgres::Error| {
        if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) {
            DbError::Schema(format!(
                "database {:?} does not exist: run `dmumatch migrate` \
                 (or set DMUMATCH_MIGRATE_ON_START=true)",
                config.get_dbname().unwrap_or_default()
            ))
        } else {
            e.into()
        }
    };
    if config.get_ssl_mode() == SslMode::Require {
        let (client, connection) = config
            .connect(rustls_connector(ca_file)?)
            .await
            .map_err(missing)?;
        tokio::spawn(connection);
        Ok(client)
    } else {
        let (client, connection) = config.connect(NoTls).await.map_err(missing)?;
        tokio::spawn(connection);
        Ok(client)
    }
}

/// `DROP DATABASE IF EXISTS` of the database `connections` names, closing
/// its sessions (benchmarks remove their fresh databases with it).
pub async fn drop_database(connections: &Connections) -> Result<(), DbError> {
    let config = parse_url(&connections.database_url)?;
    let Some(name) = config.get_dbname().map(str::to_owned) else {
        return Err(DbError::Config("DATABASE_URL names no database".into()));
    };
    let mut admin = config.clone();
    admin.dbname("postgres");
    let client = connect_one(&admin, connections.ca_file.as_deref()).await?;
    // DDL takes no bind parameters: the name is quoted as an identifier.
    let sql = format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_identifier(&name)
    );
    client.batch_execute(&sql).await?;
    Ok(())
}

/// `CREATE DATABASE` when the target database does not exist yet.
pub async fn create_database_if_missing(connections: &Connections) -> Result<(), DbError> {
    let config = parse_url(&connections.database_url)?;
    let Some(name) = config
        .get_dbname()
        .map(str::to_owned)
        .or_else(|| config.get_user().map(str::to_owned))
    else {
        return Err(DbError::Config("DATABASE_URL names no database".into()));
    };
    let mut admin = config.clone();
    admin.dbname("postgres");
    let client = connect_one(&admin, connections.ca_file.as_deref()).await?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if !exists {
        // DDL takes no bind parameters: the name is quoted as an identifier.
        let sql = format!("CREATE DATABASE {}", quote_identifier(&name));
        match client.batch_execute(&sql).await {
            Ok(()) => tracing::info!(database = %name, "created database"),
            // Another replica created it first.
            Err(e) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `"name"` with embedded quotes doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Serialises migrations of concurrent replicas (an arbitrary fixed key).
const MIGRATION_LOCK: i64 = 0x646d_756d_6967;

/// `dmumatch migrate`: create the database if missing, apply `migrations/`.
pub async fn migrate(connections: &Connections) -> anyhow::Result<()> {
    Ok(migrate_database(connections).await?)
}

/// Creates the database if missing and applies the migrations, one replica
/// at a time.
pub async fn migrate_database(connections: &Connections) -> Result<(), DbError> {
    create_database_if_missing(connections).await?;
    let config = parse_url(&connections.database_url)?;
    let mut client = connect_one(&config, connections.ca_file.as_deref()).await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = embedded::migrations::runner().run_async(&mut client).await;
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let report = result.map_err(|e| DbError::Schema(format!("migration failed: {e}")))?;
    for m in report.applied_migrations() {
        tracing::info!(version = m.version(), name = m.name(), "applied migration");
    }
    Ok(())
}

/// The newest migration this binary carries.
pub fn expected_schema_version() -> i32 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| m.version())
        .max()
        .unwrap_or(0)
}

/// Refuses a schema older than this binary's migrations.
pub async fn check_schema(connections: &Connections) -> Result<(), DbError> {
    let config = parse_url(&connections.database_url)?;
    let client = connect_one(&config, connections.ca_file.as_deref()).await?;
    // refinery's own history table; absent = nothing applied.
    let has_history: bool = client
        .query_one(
            "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    let applied: i32 = if has_history {
        client
            .query_one(
                "SELECT COALESCE(max(version), 0) FROM refinery_schema_history",
                &[],
            )
            .await?
            .get(0)
    } else {
        0
    };
    let expected = expected_schema_version();
    if applied < expected {
        return Err(DbError::Schema(format!(
            "database schema is at version {applied}, this binary needs {expected}: \
             run `dmumatch migrate` (or set DMUMATCH_MIGRATE_ON_START=true)"
        )));
    }
    if applied > expected {
        tracing::warn!(
            applied,
            expected,
            "database schema is newer than this binary; running anyway"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("dmumatch"), "\"dmumatch\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn verify_modes_read_as_require() {
        let c = parse_url("postgres://u@h/db?sslmode=verify-full").unwrap();
        assert_eq!(c.get_ssl_mode(), SslMode::Require);
        assert_eq!(c.get_dbname(), Some("db"));
        let c = parse_url("postgres://u@h/db").unwrap();
        assert_eq!(c.get_ssl_mode(), SslMode::Prefer);
    }

    #[test]
    fn a_bad_url_is_refused_without_quoting_its_password() {
        for url in [
            "postgres://u:s3cret@h:notaport/db",
            "postgres://u:s3cret@h/db?bogus=1",
            "postgres://u:s3cret@h/db?sslmode=sometimes",
            "host=h password=s3cret port=x",
        ] {
            let e = parse_url(url).unwrap_err().to_string();
            assert!(e.contains("DATABASE_URL"), "{e}");
            assert!(!e.contains("s3cret"), "{e}");
        }
    }

    #[test]
    fn the_binary_carries_migrations() {
        assert!(expected_schema_version() >= 1);
    }
}
