//! What the worker must never write down: no email, name or title of a
//! contact in its logs (JSON, `RUST_LOG=debug`) or metric labels, and no
//! password or pepper anywhere in its output, whatever goes wrong.

use std::time::Duration;

use dmumatch::pb::{self, Encoding};

use crate::checks::*;
use crate::harness::*;
use crate::workload::{Mix, contact, stream};

/// A RabbitMQ user of the test's own, removed when dropped.
struct AmqpUser(String);

impl AmqpUser {
    fn create(name: &str, password: &str) -> AmqpUser {
        run("rabbitmqctl", &["add_user", name, password]);
        run(
            "rabbitmqctl",
            &["set_permissions", "-p", "/", name, ".*", ".*", ".*"],
        );
        AmqpUser(name.to_owned())
    }
}

impl Drop for AmqpUser {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["delete_user", &self.0])
            .output();
    }
}

fn random_word(n: usize) -> String {
    uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .map(|c| match c {
            '0'..='9' => (b'g' + c as u8 - b'0') as char,
            c => c,
        })
        .take(n)
        .collect()
}

/// Lines of `text` that contain any of `needles`.
fn leaks<'a>(text: &'a str, needles: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|l| needles.iter().any(|n| l.contains(n)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_data_and_no_secret_in_logs_or_metrics() {
    // Every email, name and title of the workload contains the tag.
    let tag: &'static str = Box::leak(format!("zq{}", random_word(8)).into_boxed_str());
    let amqp_password = format!("AmqpPw{}", random_word(10));
    let pg_password = format!("PgPw{}", random_word(10));
    let pepper = format!("Pepper{}", random_word(10));
    let secrets = [
        amqp_password.as_str(),
        pg_password.as_str(),
        pepper.as_str(),
    ];

    let mut stage = Stage::new().await;
    let user = AmqpUser::create(&format!("{}-user", stage.prefix), &amqp_password);
    let amqp_url = format!("amqp://{}:{amqp_password}@127.0.0.1:5672/%2f", user.0);
    let db_url = format!(
        "postgres://postgres:{pg_password}@127.0.0.1:5432/{}",
        stage.db_name()
    );
    let pepper_file = stage.dir.join("pepper");
    std::fs::write(&pepper_file, &pepper).unwrap();
    let url_file = stage.dir.join("amqp-url");
    std::fs::write(&url_file, &amqp_url).unwrap();

    // A full workload, plus poison and rights events carrying personal data.
    let t = stage.config.topology.clone();
    let mut sent = stream(
        &t,
        &Mix {
            contacts: 300,
            changes: true,
            tag,
        },
    );
    let crm = |key: &str, ct: &str, body: Vec<u8>| Msg {
        exchange: t.crm_exchange.clone(),
        routing_key: key.into(),
        content_type: Some(ct.into()),
        body,
    };
    let mut nul = contact(7000, 1, tag);
    nul.contact_id = format!("c-\u{0}-{tag}");
    let event = |e| pb::ContactEvent {
        event_id: uuid::Uuid::new_v4().to_string(),
        occurred_at: None,
        event: Some(e),
    };
    let poison = vec![
        crm(
            "contact.created",
            "application/json",
            format!(r#"{{"eventId":"p1","contactCreated":{{"contact":{{"contactId":"c-p","email":"{tag}@x.example","relationship":"FRIEND"}}}}}}"#).into_bytes(),
        ),
        crm(
            "contact.created",
            "application/json",
            format!(r#"{{"eventId":"p2","contactCreated":{{"contact":{{"jobTitle":"CEO {tag}", "email": {tag}}}}}}}"#).into_bytes(),
        ),
        crm(
            "contact.created",
            "application/x-protobuf",
            Encoding::Protobuf.encode(&event(pb::contact_event::Event::ContactCreated(
                pb::ContactCreated { contact: Some(nul) },
            ))),
        ),
        crm(
            "contact.erased",
            "application/x-protobuf",
            Encoding::Protobuf.encode(&event(pb::contact_event::Event::ContactErased(
                pb::ContactErased {
                    contact_id: "c-3".into(),
                },
            ))),
        ),
    ];
    sent.extend(poison);
    // A routing key of the publisher's choosing (`campaign.*` takes any word).
    sent.push(Msg {
        exchange: t.campaign_exchange.clone(),
        routing_key: format!("campaign.{tag}"),
        content_type: Some("application/json".into()),
        body: b"{}".to_vec(),
    });
    stage.publish(&sent).await;

    let debug = [
        ("RUST_LOG", "debug"),
        ("AMQP_URL", ""),
        ("AMQP_URL_FILE", url_file.to_str().unwrap()),
        ("DATABASE_URL", db_url.as_str()),
        ("DMUMATCH_ERASURE_PEPPER", ""),
        (
            "DMUMATCH_ERASURE_PEPPER_FILE",
            pepper_file.to_str().unwrap(),
        ),
    ];
    let mut w = stage.spawn("debug", &debug);
    w.wait_ready(Duration::from_secs(60)).await;
    let db = stage.db().await;
    stage
        .wait_count(
            &db,
            "SELECT count(*) FROM inbox",
            sent.len() as i64 - 4,
            Duration::from_secs(120),
        )
        .await;
    stage
        .wait_count(
            &db,
            "SELECT count(*) FROM outbox_pending",
            0,
            Duration::from_secs(60),
        )
        .await;
    assert!(
        count(&db, "SELECT count(*) FROM erased_contacts").await >= 1,
        "the erasure ran"
    );
    let metrics = w.get("/metrics").await.1;
    assert!(
        metrics.contains("dmumatch_dead_lettered_total"),
        "{metrics}"
    );
    assert_eq!(w.terminate().code(), Some(0));
    let mut logs = vec![("debug run", w.log_text())];

    // Failures: a wrong broker password, an unreachable database, a URL the
    // AMQP client cannot parse.
    let wrong = format!("amqp://{}:{amqp_password}x@127.0.0.1:5672/%2f", user.0);
    let away = format!(
        "postgres://postgres:{pg_password}@127.0.0.1:1/{}",
        stage.db_name()
    );
    for (name, env) in [
        (
            "wrong password",
            vec![("AMQP_URL", wrong.as_str()), ("RUST_LOG", "debug")],
        ),
        (
            "no database",
            vec![("DATABASE_URL", away.as_str()), ("RUST_LOG", "debug")],
        ),
    ] {
        let mut w = stage.spawn(name, &env);
        w.http().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (status, _) = w.get("/readyz").await;
        assert_eq!(status, 503, "{name}");
        w.kill9();
        logs.push((name, w.log_text()));
    }
    // URLs that cannot work: the worker refuses to start, and says why
    // without quoting them.
    let bad_amqp = format!("amqp:{}:{amqp_password}@127.0.0.1", user.0);
    let bad_db = format!("postgres://postgres:{pg_password}@127.0.0.1:port/x");
    for (var, url) in [("AMQP_URL", &bad_amqp), ("DATABASE_URL", &bad_db)] {
        let mut w = stage.spawn("bad url", &[(var, url.as_str())]);
        let status = w.child.wait().unwrap();
        assert_eq!(status.code(), Some(2), "{}", w.log_text());
        assert!(w.log_text().contains(var), "{}", w.log_text());
        logs.push(("bad url", w.log_text()));
    }
    let out = std::process::Command::new(bin())
        .args(["dlq", "list"])
        .env_clear()
        .env("AMQP_URL", &amqp_url)
        .env("RUST_LOG", "debug")
        .env("DMUMATCH_QUEUE_PREFIX", &stage.prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    logs.push((
        "dlq list stderr",
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ));

    let mut found = Vec::new();
    for (name, text) in &logs {
        assert!(!text.is_empty(), "{name}: no output");
        for l in leaks(text, &secrets) {
            found.push(format!("{name}: secret: {l}"));
        }
        for l in leaks(text, &[tag]) {
            found.push(format!("{name}: personal data: {l}"));
        }
    }
    assert!(
        logs[0].1.contains(r#""level":"DEBUG""#),
        "RUST_LOG=debug took effect"
    );
    // The worker's logs are JSON lines.
    for line in logs[0].1.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
    for l in leaks(&metrics, &[tag]) {
        found.push(format!("metrics: {l}"));
    }
    assert!(
        found.is_empty(),
        "{} leaks, e.g.:\n{}",
        found.len(),
        found
            .iter()
            .take(8)
            .map(|l| l.chars().take(400).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "{} log lines (debug) and {} metric lines checked",
        logs.iter().map(|(_, t)| t.lines().count()).sum::<usize>(),
        metrics.lines().count()
    );
    drop(user);
    stage.cleanup().await;
}
