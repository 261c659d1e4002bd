//! Whole-server outages: RabbitMQ's application stopped and started, the
//! PostgreSQL cluster stopped and started, mid-stream, and RabbitMQ's memory
//! alarm. They affect everything on the machine, so nextest runs each of
//! them alone (`.config/nextest.toml`); within this binary a lock keeps them
//! apart under plain `cargo test` too. All are `#[ignore]`d (the slow group:
//! `cargo nextest run --run-ignored all`, as `scripts/test.sh` does).

#[path = "../reliability/checks.rs"]
#[allow(dead_code)]
mod checks;
#[path = "../reliability/harness.rs"]
#[allow(dead_code)]
mod harness;
#[path = "../reliability/workload.rs"]
#[allow(dead_code)]
mod workload;

use std::process::Command;
use std::time::Duration;

use checks::*;
use harness::*;
use workload::{Mix, small_batch_stage};

const LONG: Duration = Duration::from_secs(300);

static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts the server again when dropped, so a failed test does not leave
/// the machine without it.
struct Restart(&'static str, Vec<String>);

impl Drop for Restart {
    fn drop(&mut self) {
        let _ = Command::new(self.0)
            .args(&self.1)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn pg_cluster() -> (String, String) {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("Debian's PostgreSQL layout (/etc/postgresql/<version>/main)")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .max()
        .unwrap();
    (version, "main".into())
}

fn pg_ctl(action: &str) -> Vec<String> {
    let (version, cluster) = pg_cluster();
    let mut args = vec![
        "--skip-systemctl-redirect".to_owned(),
        version,
        cluster,
        action.to_owned(),
    ];
    if action == "stop" {
        args.extend(["-m".to_owned(), "fast".to_owned()]);
    }
    args
}

async fn wait_readyz(w: &mut WorkerProc, want: u16, needle: &str, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let (status, body) = w.get("/readyz").await;
        if status == want && body.contains(needle) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz {status} {body}, want {want} {needle}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn started(mix_tag: &'static str) -> (Stage, Vec<Msg>, WorkerProc) {
    let (stage, sent) = small_batch_stage(&Mix {
        contacts: 3000,
        changes: true,
        tag: mix_tag,
    })
    .await;
    let mut w = stage.spawn("worker", &[]);
    w.wait_ready(Duration::from_secs(60)).await;
    let db = stage.db().await;
    let deadline = tokio::time::Instant::now() + LONG;
    while count(&db, "SELECT count(*) FROM inbox").await < 500 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (stage, sent, w)
}

async fn finished(mut stage: Stage, sent: Vec<Msg>, mut w: WorkerProc) {
    w.wait_ready(LONG).await;
    let db = stage.db().await;
    wait_done(&stage, &db, &sent, LONG).await;
    assert_exactly_once(&db, &stage, &sent).await;
    let wire = stage.take_wire().await;
    let duplicates = assert_wire(&db, &wire).await;
    eprintln!(
        "{} events, {} messages on the wire, {duplicates} duplicate copies",
        sent.len(),
        wire.len()
    );
    assert_eq!(w.terminate().code(), Some(0), "{}", w.log_text());
    stage.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "stops RabbitMQ for the whole machine: runs alone in the slow group"]
async fn rabbitmq_stopped_and_started_mid_stream() {
    let _alone = ALONE.lock().await;
    let (stage, sent, mut w) = started("ra").await;
    let _restart = Restart("rabbitmqctl", vec!["start_app".into()]);
    run("rabbitmqctl", &["stop_app"]);
    wait_readyz(&mut w, 503, "amqp=false", Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    wait_readyz(&mut w, 503, "amqp=false", Duration::from_secs(1)).await;
    run("rabbitmqctl", &["start_app"]);
    run("rabbitmqctl", &["await_startup"]);
    let reconnects = w.metric("dmumatch_amqp_reconnects_total", &[]).await;
    assert!(reconnects >= 1.0);
    finished(stage, sent, w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "stops PostgreSQL for the whole machine: runs alone in the slow group"]
async fn postgresql_stopped_and_started_mid_stream() {
    let _alone = ALONE.lock().await;
    let (stage, sent, mut w) = started("pg").await;
    let _restart = Restart("pg_ctlcluster", pg_ctl("start"));
    let processed = |text: &str| metric_value(text, "dmumatch_events_total", &[]);
    run(
        "pg_ctlcluster",
        &pg_ctl("stop")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    wait_readyz(&mut w, 503, "db=false", Duration::from_secs(30)).await;
    let before = w.get("/metrics").await.1;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = w.get("/metrics").await.1;
    assert_eq!(
        processed(&before),
        processed(&after),
        "nothing acknowledged while the database is down"
    );
    run(
        "pg_ctlcluster",
        &pg_ctl("start")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    finished(stage, sent, w).await;
}

/// RabbitMQ's alarms as `rabbitmqctl` reports them.
fn alarms() -> String {
    run("rabbitmqctl", &["-q", "eval", "rabbit_alarm:get_alarms()."])
}

/// A memory alarm blocks every connection that publishes, on the whole
/// broker. The worker consumes and acknowledges on one connection and
/// publishes on another (RabbitMQ's advice), so under the alarm it goes on
/// taking events and committing them while their decisions wait in the
/// outbox; once the alarm clears, the relay publishes them. On a single
/// connection the relay's first publish would block the acknowledgements
/// too, and consumption would stop at the prefetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "raises RabbitMQ's memory alarm for the whole machine: runs alone in the slow group"]
async fn a_memory_alarm_blocks_publishing_but_not_consuming() {
    under_a_memory_alarm(&[]).await;
}

/// The same with a 1 s confirm timeout, so that relay passes time out under
/// the alarm. A channel with confirms still pending is not used for a new
/// pass (lapin would hand the late returns to the new pass's confirms): the
/// next pass waits for them, and when they do not come either, the session is
/// rebuilt. Nothing is lost or doubled in the state, and every copy on the
/// wire is the same message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "raises RabbitMQ's memory alarm for the whole machine: runs alone in the slow group"]
async fn a_memory_alarm_longer_than_the_confirm_timeout() {
    under_a_memory_alarm(&[("DMUMATCH_CONFIRM_TIMEOUT_SECS", "1")]).await;
}

async fn under_a_memory_alarm(env: &[(&str, &str)]) {
    let _alone = ALONE.lock().await;
    let (mut stage, sent) = small_batch_stage(&Mix {
        contacts: 3000,
        changes: true,
        tag: "ma",
    })
    .await;
    let watermark = run(
        "rabbitmqctl",
        &[
            "-q",
            "eval",
            "vm_memory_monitor:get_vm_memory_high_watermark().",
        ],
    )
    .trim()
    .to_owned();
    // A fraction (`0.4`, the default) or `{absolute,Bytes}`.
    let mut restore = vec!["set_vm_memory_high_watermark".to_owned()];
    match watermark
        .strip_prefix("{absolute,")
        .and_then(|b| b.strip_suffix('}'))
    {
        Some(bytes) => restore.extend(["absolute".to_owned(), bytes.to_owned()]),
        None => restore.push(watermark),
    }
    let _restore = Restart("rabbitmqctl", restore.clone());
    run("rabbitmqctl", &["set_vm_memory_high_watermark", "0.000001"]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !alarms().contains("memory") {
        assert!(tokio::time::Instant::now() < deadline, "no memory alarm");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The events are queued; the worker starts under the alarm.
    let mut w = stage.spawn("worker", env);
    w.wait_ready(Duration::from_secs(60)).await;
    let db = stage.db().await;
    stage
        .wait_count(
            &db,
            "SELECT count(*) FROM inbox",
            sent.len() as i64,
            Duration::from_secs(120),
        )
        .await;
    let pending = count(&db, "SELECT count(*) FROM outbox_pending").await;
    let wire = stage.queue_len(&stage.wire_queue()).await;
    eprintln!(
        "under the alarm: {} events consumed, {wire} messages on the wire, {pending} outbox rows pending",
        sent.len()
    );
    assert_eq!(wire, 0, "nothing is published under the alarm");
    assert!(pending > 0, "decisions wait in the outbox");
    if !env.is_empty() {
        // Passes time out, the next one finds their confirms still pending,
        // and the session is rebuilt, all while the alarm holds.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let text = w.get("/metrics").await.1;
            let timeouts = metric_value(&text, "dmumatch_published_total", &["result=\"timeout\""]);
            let reconnects = metric_value(&text, "dmumatch_amqp_reconnects_total", &[]);
            if timeouts > 0.0 && reconnects > 0.0 {
                eprintln!(
                    "under the alarm: {timeouts} confirms timed out, {reconnects} reconnects"
                );
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "under the alarm: {timeouts} confirms timed out, {reconnects} reconnects"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    run(
        "rabbitmqctl",
        &restore.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while alarms().contains("memory") {
        assert!(tokio::time::Instant::now() < deadline, "the alarm stays");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    finished(stage, sent, w).await;
}
