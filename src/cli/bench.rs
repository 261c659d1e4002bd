//! `dmumatch bench worker|fanout`: the real worker, in this process, against
//! the local broker and database, under fresh names (a new database, new
//! exchanges and queues), removed again at the end. The input is loaded
//! before the timer starts; the timer stops once every output has been
//! confirmed by the broker (the outbox row is marked published only after
//! its publisher confirm). The last line on stdout is one JSON object;
//! progress goes to stderr. See docs/performance.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::Utc;
use clap::{Args, Subcommand};
use lapin::{
    BasicProperties, Connection,
    options::{ConfirmSelectOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::amqp::{
    self,
    publish::{Confirm, Outgoing, publish_confirmed},
    topology,
};
use crate::cli::contacts_csv::{self, Columns};
use crate::config::{Topology, WorkerConfig};
use crate::db;
use crate::engine::{Classifier, RuleSet};
use crate::pb::{self, Encoding};
use crate::worker::{
    Worker, WorkerHandle,
    decode::ContactInbound,
    process::{self, Ctx},
};

/// The contacts of the bench are variations of the example CRM export
/// (its titles, countries, organisations, sources, consents).
const EXPORT: &str = include_str!("../../examples/crm-export.csv");
const CAMPAIGNS: [&str; 3] = [
    include_str!("../../examples/campaigns/itsm-launch.json"),
    include_str!("../../examples/campaigns/hr-payroll.json"),
    include_str!("../../examples/campaigns/facility-services.json"),
];
/// Campaign k of `bench worker` targets market k (a country), biggest first
/// in the example export.
const MARKETS: [&str; 10] = ["NL", "DE", "FR", "BE", "GB", "IE", "AT", "SE", "DK", "PL"];
/// Events per published chunk while preloading (bounds the bench's memory).
const CHUNK: usize = 1000;
/// How often completion is checked.
const POLL: Duration = Duration::from_millis(25);
/// No progress for this long: the bench fails instead of hanging.
const STALL: Duration = Duration::from_secs(120);

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: Which,
}

#[derive(Subcommand, Debug)]
pub enum Which {
    /// N contact.created events against K active campaigns: events/s, p50/p99, peak RSS.
    Worker(WorkerBench),
    /// One campaign.planned over N stored contacts: decisions/s, peak RSS.
    Fanout(FanoutBench),
}

#[derive(Args, Debug, Clone)]
pub struct WorkerBench {
    /// contact.created events preloaded into the contacts queue.
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    /// Active campaigns (planned before the timer starts), one market each.
    #[arg(long, default_value_t = 3)]
    pub campaigns: usize,
    /// Type of the queue that receives the outputs (bound to dmu.decisions).
    #[arg(long, default_value = "quorum")]
    pub output_queue_type: String,
}

#[derive(Args, Debug, Clone)]
pub struct FanoutBench {
    /// Contacts stored before the campaign is planned (all targeted).
    #[arg(long, default_value_t = 100_000)]
    pub contacts: usize,
    /// Type of the queue that receives the outputs (bound to dmu.decisions).
    #[arg(long, default_value = "quorum")]
    pub output_queue_type: String,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let output_queue_type = match &args.which {
        Which::Worker(w) => &w.output_queue_type,
        Which::Fanout(f) => &f.output_queue_type,
    };
    let fresh = Fresh::create(output_queue_type).await?;
    let result = match &args.which {
        Which::Worker(w) => bench_worker(&fresh, w).await,
        Which::Fanout(f) => bench_fanout(&fresh, f).await,
    };
    fresh.remove().await;
    let line = result?;
    println!("{line}");
    Ok(())
}

/// Fresh names: a database, exchanges and queues of our own, plus the
/// output queue bound to the decisions exchange (the relay publishes
/// `mandatory`: something must be bound).
struct Fresh {
    config: WorkerConfig,
    conn: Connection,
    output_queue: String,
}

impl Fresh {
    async fn create(output_queue_type: &str) -> anyhow::Result<Fresh> {
        let prefix = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let mut config = WorkerConfig::from_env();
        config.connections.database_url = with_database(&config.connections.database_url, &prefix)?;
        config.topology.crm_exchange = format!("{prefix}.crm.events");
        config.topology.campaign_exchange = format!("{prefix}.campaign.events");
        config.topology.decisions_exchange = format!("{prefix}.dmu.decisions");
        config.topology.queue_prefix = prefix.clone();
        config.http_addr = "127.0.0.1:0".parse().expect("address");
        config.migrate_on_start = true;
        config.sweep_interval_secs = 3600;
        if config.erasure_pepper.is_empty() {
            config.erasure_pepper = "bench".into();
        }
        eprintln!("bench: fresh names {prefix}.* and database {prefix}");
        db::migrate_database(&config.connections).await?;
        let c = &config.connections;
        let conn = amqp::connect(&c.amqp_url, c.ca_file.as_deref(), "dmumatch-bench").await?;
        topology::declare(&conn, &config.topology).await?;
        let output_queue = format!("{prefix}.bench-output");
        let ch = conn.create_channel().await?;
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString(output_queue_type.into()),
        );
        ch.queue_declare(
            output_queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            args,
        )
        .await?;
        ch.queue_bind(
            output_queue.as_str().into(),
            config.topology.decisions_exchange.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
        let _ = ch.close(200, "bye".into()).await;
        Ok(Fresh {
            config,
            conn,
            output_queue,
        })
    }

    /// Removes queues, exchanges and the database; failures are reported, not fatal.
    async fn remove(&self) {
        topology::delete(
            &self.conn,
            &self.config.topology,
            std::slice::from_ref(&self.output_queue),
        )
        .await;
        let _ = self.conn.close(200, "bye".into()).await;
        if let Err(e) = db::drop_database(&self.config.connections).await {
            eprintln!("bench: could not drop the bench database: {e}");
        }
    }

    async fn start_worker(&self) -> anyhow::Result<WorkerHandle> {
        let worker = Worker::start(self.config.clone(), CancellationToken::new()).await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !worker.readiness().ready() {
            if Instant::now() > deadline {
                bail!("the worker was not ready within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(worker)
    }

    async fn db(&self) -> anyhow::Result<deadpool_postgres::Object> {
        let mut connections = self.config.connections.clone();
        connections.db_pool_size = 2;
        Ok(db::pool(&connections)?.get().await?)
    }

    /// Publishes with confirms; every message must be routed and acked.
    async fn publish(
        &self,
        exchange: &str,
        messages: &[(&'static str, Vec<u8>)],
    ) -> anyhow::Result<()> {
        let ch = self.conn.create_channel().await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type(Encoding::Protobuf.content_type().into());
        let outgoing = messages
            .iter()
            .map(|(key, body)| Outgoing {
                exchange,
                routing_key: key,
                payload: body,
                properties: props.clone(),
            })
            .collect();
        let confirms = publish_confirmed(&ch, outgoing, Duration::from_secs(60))
            .await
            .all()?;
        let _ = ch.close(200, "bye".into()).await;
        if let Some(bad) = confirms.iter().find(|c| **c != Confirm::Ack) {
            bail!("preload not confirmed: {}", bad.label());
        }
        Ok(())
    }

    async fn queue_len(&self, queue: &str) -> anyhow::Result<u32> {
        let ch = self.conn.create_channel().await?;
        let n = queue_len(&ch, queue).await;
        let _ = ch.close(200, "bye".into()).await;
        n
    }
}

/// The same server and credentials as `url`, database `name`.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let Some(scheme) = url.find("://") else {
        bail!("DATABASE_URL: the bench needs the URL form (postgres://host/db)");
    };
    let (base, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let host_start = scheme + 3;
    let path = base[host_start..]
        .find('/')
        .map_or(base.len(), |i| host_start + i);
    Ok(format!("{}/{name}{query}", &base[..path]))
}

/// The example export's contacts (rows it cannot read are skipped).
fn templates() -> anyhow::Result<Vec<pb::Contact>> {
    let mut reader = csv::Reader::from_reader(EXPORT.as_bytes());
    let cols = Columns::from_header(reader.byte_headers()?).map_err(anyhow::Error::msg)?;
    let mut out = Vec::new();
    for rec in reader.records() {
        if let Ok(c) = contacts_csv::contact(&rec?, &cols) {
            out.push(c);
        }
    }
    if out.is_empty() {
        bail!("no contact in the example export");
    }
    Ok(out)
}

/// Contact `i`: template `i mod len` with its own id and email.
fn contact(templates: &[pb::Contact], i: usize) -> pb::Contact {
    let mut c = templates[i % templates.len()].clone();
    c.contact_id = format!("b-{i:07}");
    c.version = 1;
    c.email = match c.email.split_once('@') {
        Some((local, domain)) => format!("{local}.{i}@{domain}"),
        None => format!("b{i}@bench.example"),
    };
    c
}

fn created(c: pb::Contact) -> pb::ContactEvent {
    pb::ContactEvent {
        event_id: uuid::Uuid::new_v4().to_string(),
        occurred_at: Some(Utc::now().into()),
        event: Some(pb::contact_event::Event::ContactCreated(
            pb::ContactCreated { contact: Some(c) },
        )),
    }
}

fn planned(c: pb::Campaign) -> pb::CampaignEvent {
    pb::CampaignEvent {
        event_id: uuid::Uuid::new_v4().to_string(),
        occurred_at: Some(Utc::now().into()),
        event: Some(pb::campaign_event::Event::CampaignPlanned(
            pb::CampaignPlanned { campaign: Some(c) },
        )),
    }
}

fn example_campaign(k: usize) -> anyhow::Result<pb::Campaign> {
    let mut c: pb::Campaign = pb::from_json(CAMPAIGNS[k % CAMPAIGNS.len()].as_bytes())?;
    c.campaign_id = format!("{}-bench{k}", c.campaign_id);
    c.version = 1;
    Ok(c)
}

/// (processed events of `queue`, unpublished outbox rows, all outbox rows).
async fn progress(
    client: &deadpool_postgres::Object,
    queue: &str,
) -> anyhow::Result<(i64, i64, i64)> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM inbox WHERE queue = $1), \
                    (SELECT count(*) FROM outbox_pending), \
                    (SELECT count(*) FROM outbox)",
            &[&queue],
        )
        .await?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

/// Waits until the output queue holds `outputs` messages, then until `want`
/// events of `queue` are processed and every outbox row is marked published
/// (confirmed). Returns when the first output reached the queue. The broker
/// is polled while the worker runs: counting inbox and outbox rows every
/// 25 ms took PostgreSQL 10 s of CPU during a 17 s fan-out, CPU the worker
/// competes for. Fails after [`STALL`] without progress.
async fn wait_done(
    fresh: &Fresh,
    client: &deadpool_postgres::Object,
    queue: &str,
    want: i64,
    outputs: u32,
) -> anyhow::Result<Instant> {
    let ch = fresh.conn.create_channel().await?;
    let (mut first, mut last, mut moved) = (None, u32::MAX, Instant::now());
    let baseline = queue_len(&ch, &fresh.output_queue).await?;
    loop {
        let n = queue_len(&ch, &fresh.output_queue).await?;
        if n > baseline {
            first.get_or_insert_with(Instant::now);
        }
        if n >= outputs {
            break;
        }
        if n != last {
            (last, moved) = (n, Instant::now());
        } else if moved.elapsed() > STALL {
            bail!("no progress for {STALL:?}: {n} of {outputs} outputs in the output queue");
        }
        tokio::time::sleep(POLL).await;
    }
    let _ = ch.close(200, "bye".into()).await;
    let first = first.unwrap_or_else(Instant::now);
    let moved = Instant::now();
    loop {
        let p = progress(client, queue).await?;
        if p.0 >= want && p.1 == 0 {
            return Ok(first);
        }
        if moved.elapsed() > STALL {
            bail!(
                "{} of {want} events processed, {} outputs unpublished after {STALL:?}",
                p.0,
                p.1
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Ready messages in `queue` (a passive declare).
async fn queue_len(ch: &lapin::Channel, queue: &str) -> anyhow::Result<u32> {
    let q = ch
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(q.message_count())
}

/// (VmRSS, VmHWM) of this process in KiB; zeros where /proc is missing.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU seconds used so far by this process (the worker), by RabbitMQ
/// (`beam.smp`) and by PostgreSQL (every `postgres` process), read from
/// /proc; zeros where it is missing. Sampled before the worker stops, as its
/// database backends end with its connections.
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    worker: f64,
    broker: f64,
    db: f64,
}

impl Cpu {
    fn now() -> Cpu {
        // /proc reports in USER_HZ, 100 on every Linux architecture we run on.
        const TICKS: f64 = 100.0;
        let mut cpu = Cpu::default();
        let me = std::process::id().to_string();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return cpu;
        };
        for entry in dir.flatten() {
            let pid = entry.file_name();
            let Some(pid) = pid
                .to_str()
                .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // "pid (name) state ..." where the name may hold spaces.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let name = &stat[open + 1..close];
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
            let (Some(user), Some(system)) = (ticks(11), ticks(12)) else {
                continue;
            };
            let secs = (user + system) / TICKS;
            if pid == me {
                cpu.worker += secs;
            } else if name == "beam.smp" {
                cpu.broker += secs;
            } else if name.starts_with("postgres") {
                cpu.db += secs;
            }
        }
        cpu
    }

    /// `"worker_cpu_pct":…,"broker_cpu_pct":…,"db_cpu_pct":…`: % of one core
    /// over `secs`, since `start`.
    fn json_since(start: Cpu, secs: f64) -> String {
        let end = Cpu::now();
        let pct = |a: f64, b: f64| ((b - a).max(0.0) * 100.0 / secs).round();
        format!(
            "\"worker_cpu_pct\":{},\"broker_cpu_pct\":{},\"db_cpu_pct\":{}",
            pct(start.worker, end.worker),
            pct(start.broker, end.broker),
            pct(start.db, end.db)
        )
    }
}

/// Resets VmHWM to the current RSS (Linux `clear_refs` 5), so the peak
/// measured is that of the timed phase, not of the preload. Whether the
/// kernel allowed it.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok() && {
        let (rss, hwm) = rss_kib();
        hwm <= rss + 1024
    }
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn stop(worker: WorkerHandle) -> anyhow::Result<()> {
    worker.stop();
    worker.stopped().await
}

async fn bench_worker(fresh: &Fresh, args: &WorkerBench) -> anyhow::Result<String> {
    if args.events == 0 {
        bail!("--events must be above 0");
    }
    let t = &fresh.config.topology;
    let client = fresh.db().await?;
    let rules = RuleSet::embedded();
    let campaigns: Vec<pb::Campaign> = (0..args.campaigns)
        .map(|k| {
            let mut c = example_campaign(k)?;
            c.target_countries = vec![MARKETS[k % MARKETS.len()].to_owned()];
            Ok(c)
        })
        .collect::<anyhow::Result<_>>()?;

    // Untimed: the campaigns are planned (their fan-out over no contacts yet).
    if !campaigns.is_empty() {
        let worker = fresh.start_worker().await?;
        let events: Vec<(&'static str, Vec<u8>)> = campaigns
            .iter()
            .map(|c| {
                let e = planned(c.clone());
                ("campaign.planned", Encoding::Protobuf.encode(&e))
            })
            .collect();
        fresh.publish(&t.campaign_exchange, &events).await?;
        let k = campaigns.len();
        wait_done(fresh, &client, &t.campaigns_queue(), k as i64, k as u32).await?;
        stop(worker).await?;
    }
    let (_, _, baseline) = progress(&client, &t.contacts_queue()).await?;

    // Untimed: the events wait in the contacts queue.
    let templates = templates()?;
    let prepared: Vec<_> = campaigns
        .iter()
        .map(|c| crate::engine::eligibility::PreparedCampaign::new(c, rules))
        .collect();
    let started = Instant::now();
    let mut expected = 0usize;
    let mut i = 0;
    while i < args.events {
        let end = (i + CHUNK).min(args.events);
        let chunk: Vec<(&'static str, Vec<u8>)> = (i..end)
            .map(|i| {
                let c = contact(&templates, i);
                // contactEnriched, and a first decision per campaign targeting it.
                expected += 1 + prepared.iter().filter(|p| p.targets(&c, rules)).count();
                ("contact.created", Encoding::Protobuf.encode(&created(c)))
            })
            .collect();
        fresh.publish(&t.crm_exchange, &chunk).await?;
        i = end;
    }
    let waiting = fresh.queue_len(&t.contacts_queue()).await?;
    if waiting as usize != args.events {
        bail!(
            "{waiting} events in the contacts queue, want {}",
            args.events
        );
    }
    eprintln!(
        "bench: {} events preloaded in {:.1} s; {} campaigns; {expected} outputs expected",
        args.events,
        started.elapsed().as_secs_f64(),
        campaigns.len()
    );

    // Timed: from the worker's start until every output is confirmed.
    let outputs_before = fresh.queue_len(&fresh.output_queue).await?;
    let reset = reset_peak_rss();
    let (rss_before, _) = rss_kib();
    let cpu = Cpu::now();
    let started = Instant::now();
    let worker = fresh.start_worker().await?;
    let ready_s = started.elapsed().as_secs_f64();
    let want = outputs_before + u32::try_from(expected)?;
    let first = wait_done(
        fresh,
        &client,
        &t.contacts_queue(),
        args.events as i64,
        want,
    )
    .await?;
    let secs = started.elapsed().as_secs_f64();
    let first_output_s = (first - started).as_secs_f64();
    let (_, peak) = rss_kib();
    let cpu = Cpu::json_since(cpu, secs);
    stop(worker).await?;

    let (_, _, total) = progress(&client, &t.contacts_queue()).await?;
    let outputs = usize::try_from(total - baseline).unwrap_or(0);
    if outputs != expected {
        bail!("{outputs} outputs written, {expected} expected");
    }
    let received = fresh.queue_len(&fresh.output_queue).await? as usize;
    if received != usize::try_from(total).unwrap_or(0) {
        bail!("{received} messages in the output queue, {total} confirmed");
    }
    let dead = fresh
        .queue_len(&Topology::dead_letter_queue(&t.contacts_queue()))
        .await?;
    if dead > 0 {
        bail!("{dead} events dead-lettered");
    }
    // Per event: from the start of its batch's transaction (contacts.updated_at)
    // to the moment the relay recorded the confirm of its last output.
    let row = client
        .query_one(
            "SELECT COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY l), 0), \
                    COALESCE(percentile_cont(0.99) WITHIN GROUP (ORDER BY l), 0) \
             FROM (SELECT extract(epoch FROM max(r.published_at) - c.updated_at)::float8 * 1000 \
                       AS l \
                   FROM contacts c JOIN outbox o ON o.aggregate_type = 'contact' \
                       AND o.aggregate_id = c.contact_id \
                   JOIN (SELECT published_at, unnest(ids) AS id FROM outbox_published) r \
                       ON r.id = o.id \
                   GROUP BY c.contact_id, c.updated_at) AS per_event",
            &[],
        )
        .await?;
    let (p50, p99): (f64, f64) = (row.get(0), row.get(1));
    eprintln!(
        "bench: worker ready after {ready_s:.2} s; RSS before the timed phase {:.1} MB \
         (peak reset: {reset})",
        mb(rss_before)
    );
    Ok(format!(
        "{{\"bench\":\"worker\",\"events\":{},\"events_per_s\":{:.0},\"messages_per_s\":{:.0},\
         \"p50_ms\":{p50:.1},\"p99_ms\":{p99:.1},\"peak_rss_mb\":{:.1},\"campaigns\":{},\
         \"outputs\":{outputs},\"seconds\":{secs:.2},\"first_output_s\":{first_output_s:.2},\"output_queue_type\":\"{}\",{cpu}}}",
        args.events,
        args.events as f64 / secs,
        (args.events + outputs) as f64 / secs,
        mb(peak),
        campaigns.len(),
        args.output_queue_type,
    ))
}

async fn bench_fanout(fresh: &Fresh, args: &FanoutBench) -> anyhow::Result<String> {
    if args.contacts == 0 {
        bail!("--contacts must be above 0");
    }
    let t = &fresh.config.topology;
    let client = fresh.db().await?;

    // Untimed: the contacts are stored by the worker's own batch code,
    // then their contactEnriched rows are dropped (as if relayed long ago).
    let started = Instant::now();
    let mut connections = fresh.config.connections.clone();
    connections.db_pool_size = 2;
    let ctx = Ctx {
        pool: db::pool(&connections)?,
        rules: RuleSet::embedded(),
        classifier: Classifier::embedded(),
        encoding: fresh.config.output_encoding,
        clock: Arc::new(Utc::now),
        pepper: fresh.config.erasure_pepper.clone(),
        fanout_page: fresh.config.fanout_page,
        outbox_written: Arc::new(Notify::new()),
    };
    let templates = templates()?;
    let queue = t.contacts_queue();
    let mut i = 0;
    while i < args.contacts {
        let end = (i + CHUNK).min(args.contacts);
        let events: Vec<ContactInbound> = (i..end)
            .map(|i| {
                let e = created(contact(&templates, i));
                ContactInbound {
                    event_id: e.event_id,
                    occurred_at: e.occurred_at.and_then(pb::Timestamp::to_datetime),
                    event: e.event.expect("set"),
                }
            })
            .collect();
        let refs: Vec<&ContactInbound> = events.iter().collect();
        process::contacts(&ctx, &queue, &refs).await?;
        i = end;
    }
    client.batch_execute("DELETE FROM outbox").await?;
    client.batch_execute("VACUUM ANALYZE").await?;
    drop(ctx);
    eprintln!(
        "bench: {} contacts stored in {:.1} s",
        args.contacts,
        started.elapsed().as_secs_f64()
    );

    let worker = fresh.start_worker().await?;
    let reset = reset_peak_rss();
    let (rss_before, _) = rss_kib();
    // Timed: from the campaign.planned until every decision and the summary
    // are confirmed.
    let campaign = example_campaign(0)?;
    let cpu = Cpu::now();
    let started = Instant::now();
    let event = planned(campaign);
    fresh
        .publish(
            &t.campaign_exchange,
            &[("campaign.planned", Encoding::Protobuf.encode(&event))],
        )
        .await?;
    let want = u32::try_from(args.contacts + 1)?;
    let first = wait_done(fresh, &client, &t.campaigns_queue(), 1, want).await?;
    let secs = started.elapsed().as_secs_f64();
    let first_output_s = (first - started).as_secs_f64();
    let (_, peak) = rss_kib();
    let cpu = Cpu::json_since(cpu, secs);
    stop(worker).await?;

    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE routing_key = 'eligibility.decided'), \
                    count(*) FILTER (WHERE routing_key = 'campaign.audience_evaluated') \
             FROM outbox",
            &[],
        )
        .await?;
    let (decisions, summaries): (i64, i64) = (row.get(0), row.get(1));
    if decisions as usize != args.contacts || summaries != 1 {
        bail!(
            "{decisions} decisions and {summaries} summaries, want {} and 1",
            args.contacts
        );
    }
    let received = fresh.queue_len(&fresh.output_queue).await? as i64;
    if received != decisions + summaries {
        bail!(
            "{received} messages in the output queue, {} confirmed",
            decisions + summaries
        );
    }
    eprintln!(
        "bench: RSS before the timed phase {:.1} MB (peak reset: {reset})",
        mb(rss_before)
    );
    Ok(format!(
        "{{\"bench\":\"fanout\",\"decisions\":{decisions},\"decisions_per_s\":{:.0},\
         \"peak_rss_mb\":{:.1},\"seconds\":{secs:.2},\"first_output_s\":{first_output_s:.2},\"output_queue_type\":\"{}\",{cpu}}}",
        decisions as f64 / secs,
        mb(peak),
        args.output_queue_type,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/dmumatch?sslmode=require", "b1").unwrap(),
            "postgres://u:p@h:5432/b1?sslmode=require"
        );
        assert_eq!(
            with_database("postgres://h", "b1").unwrap(),
            "postgres://h/b1"
        );
        assert!(with_database("host=h dbname=x", "b1").is_err());
    }

    #[test]
    fn bench_contacts_are_distinct_variations_of_the_export() {
        let t = templates().unwrap();
        assert!(t.len() > 100);
        let (a, b) = (contact(&t, 1), contact(&t, 1 + t.len()));
        assert_ne!(a.contact_id, b.contact_id);
        assert_ne!(a.email, b.email);
        assert_eq!(a.job_title, b.job_title);
    }
}
