//! TLS for real, both ways: `amqps://` to a TLS-terminating proxy in front
//! of the local broker (a CA and certificate made in the test), and
//! PostgreSQL's own TLS (`ssl = on`, its server certificate as the trust
//! anchor). The worker verifies the chain and the host name: without the CA,
//! or under a name the certificate does not carry, it does not connect.

use std::time::Duration;

use crate::checks::*;
use crate::harness::*;
use crate::proxy::{Proxy, tls_server};
use crate::workload::{Mix, stream};

async fn stays_unready(w: &mut WorkerProc, what: &str, secs: u64) -> String {
    w.http().await;
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (status, body) = w.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(what), "{body}");
    w.kill9();
    w.log_text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqps_with_a_verified_certificate_and_nothing_less() {
    let (ca, server) = tls_server(&["localhost"]);
    let proxy = Proxy::start("127.0.0.1:5672".parse().unwrap(), Some(server)).await;
    let mut stage = Stage::new().await;
    let ca_file = stage.dir.join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let ca_file = ca_file.to_str().unwrap().to_owned();
    let port = proxy.addr.port();
    let good = format!("amqps://guest:guest@localhost:{port}/%2f");

    // No CA: the proxy's certificate is not trusted.
    let mut w = stage.spawn("no ca", &[("AMQP_URL", &good)]);
    let log = stays_unready(&mut w, "amqp=false", 3).await;
    assert!(
        log.contains("certificate") || log.contains("UnknownIssuer"),
        "{log}"
    );
    // The CA, but a name the certificate does not carry.
    let by_ip = format!("amqps://guest:guest@127.0.0.1:{port}/%2f");
    let mut w = stage.spawn(
        "wrong name",
        &[("AMQP_URL", &by_ip), ("DMUMATCH_CA_FILE", &ca_file)],
    );
    let log = stays_unready(&mut w, "amqp=false", 3).await;
    assert!(
        log.contains("certificate") || log.contains("NotValidForName"),
        "{log}"
    );
    let refused = proxy.accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!(refused >= 2, "the worker did reach the proxy ({refused})");

    // The CA and the right name: a whole stream goes through TLS.
    let sent = stream(
        &stage.config.topology,
        &Mix {
            contacts: 200,
            changes: true,
            tag: "tls",
        },
    );
    stage.publish(&sent).await;
    let mut w = stage.spawn(
        "tls",
        &[("AMQP_URL", &good), ("DMUMATCH_CA_FILE", &ca_file)],
    );
    w.wait_ready(Duration::from_secs(60)).await;
    let db = stage.db().await;
    wait_done(&stage, &db, &sent, Duration::from_secs(120)).await;
    assert_exactly_once(&db, &stage, &sent).await;
    let wire = stage.take_wire().await;
    assert_wire(&db, &wire).await;
    assert_eq!(w.terminate().code(), Some(0));
    stage.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_over_tls_verify_full() {
    let admin = pg_connect("postgres").await;
    let ssl: String = admin.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    assert_eq!(
        ssl, "on",
        "PostgreSQL on 127.0.0.1:5432 runs without TLS (ssl = off); Debian's default is on"
    );
    let cert_file: String = admin
        .query_one("SHOW ssl_cert_file", &[])
        .await
        .unwrap()
        .get(0);
    let mut stage = Stage::new().await;
    // The server's certificate is self-signed (Debian's snakeoil): it is its
    // own trust anchor here. In production this is
    // the CA that signed the server's certificate.
    let ca_file = stage.dir.join("pg-ca.pem");
    std::fs::copy(&cert_file, &ca_file).unwrap_or_else(|e| panic!("{cert_file}: {e}"));
    let ca_file = ca_file.to_str().unwrap().to_owned();
    let db = stage.db_name().to_owned();
    let url =
        |host: &str, mode: &str| format!("postgres://postgres@{host}:5432/{db}?sslmode={mode}");

    // A name the certificate carries that leads to this machine.
    let san = run(
        "openssl",
        &[
            "x509",
            "-in",
            &cert_file,
            "-noout",
            "-ext",
            "subjectAltName",
        ],
    );
    let host = san
        .split([',', ' ', '\n'])
        .filter_map(|p| p.trim().strip_prefix("DNS:"))
        .find(|name| {
            use std::net::ToSocketAddrs;
            (*name, 5432)
                .to_socket_addrs()
                .is_ok_and(|mut a| a.any(|a| a.ip().is_loopback()))
        })
        .unwrap_or_else(|| panic!("no name in {cert_file} resolves to this machine: {san}"))
        .to_owned();
    let verify_full = url(&host, "verify-full");
    // The system roots without the machine's own directory: Debian puts the
    // snakeoil certificate into /etc/ssl/certs, whose every file
    // rustls-native-certs trusts when it probes the directory.
    let bundle = "/etc/ssl/certs/ca-certificates.crt";
    let mut w = stage.spawn(
        "no ca",
        &[("DATABASE_URL", &verify_full), ("SSL_CERT_FILE", bundle)],
    );
    let log = stays_unready(&mut w, "db=false", 3).await;
    assert!(
        log.contains("certificate") || log.contains("UnknownIssuer"),
        "{log}"
    );
    let by_ip = url("127.0.0.1", "require");
    let mut w = stage.spawn(
        "wrong name",
        &[
            ("DATABASE_URL", &by_ip),
            ("DMUMATCH_CA_FILE", &ca_file),
            ("SSL_CERT_FILE", bundle),
        ],
    );
    let log = stays_unready(&mut w, "db=false", 3).await;
    assert!(
        log.contains("certificate") || log.contains("NotValidForName"),
        "{log}"
    );

    let sent = stream(
        &stage.config.topology,
        &Mix {
            contacts: 200,
            changes: true,
            tag: "pgtls",
        },
    );
    stage.publish(&sent).await;
    let mut w = stage.spawn(
        "tls",
        &[
            ("DATABASE_URL", &verify_full),
            ("DMUMATCH_CA_FILE", &ca_file),
        ],
    );
    w.wait_ready(Duration::from_secs(60)).await;
    let client = stage.db().await;
    wait_done(&stage, &client, &sent, Duration::from_secs(120)).await;
    assert_exactly_once(&client, &stage, &sent).await;
    // The server's view: the worker's sessions are encrypted, all of them.
    let rows = admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = $1 AND a.application_name = 'dmumatch'",
            &[&db],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty(), "the worker holds connections");
    assert!(
        rows.iter().all(|r| r.get::<_, bool>(0)),
        "a plaintext session"
    );
    assert_eq!(w.terminate().code(), Some(0));
    stage.cleanup().await;
}
