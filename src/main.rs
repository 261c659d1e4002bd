//! The `dmumatch` binary: a thin dispatcher over the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dmumatch::{cli, config, db, telemetry, worker};

#[derive(Parser)]
#[command(
    name = "dmumatch",
    version,
    about = "DMU roles and email eligibility for B2B contacts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const SECRETS: &str = "Secrets come from the environment or from files, never from flags: \
AMQP_URL (or AMQP_URL_FILE), DATABASE_URL (or DATABASE_URL_FILE), DMUMATCH_ERASURE_PEPPER \
(or DMUMATCH_ERASURE_PEPPER_FILE).";

#[derive(Subcommand)]
enum Command {
    /// Decide every contact of a CRM export against a campaign, in-process.
    Evaluate(cli::evaluate::EvaluateArgs),
    /// Job titles → function, seniority, confidence (CSV on stdout).
    Classify(cli::classify::ClassifyArgs),
    /// Print the rule table with citations.
    Rules(cli::rules::RulesArgs),
    /// The long-running worker: RabbitMQ in, PostgreSQL state, decision events out.
    #[command(after_help = SECRETS)]
    Worker(Box<config::WorkerConfig>),
    /// Create the database if missing, apply the migrations, exit.
    #[command(after_help = SECRETS)]
    Migrate(config::Connections),
    /// Dead letters: list them, or replay them to where they came from.
    #[command(after_help = SECRETS)]
    Dlq(cli::dlq::DlqArgs),
    /// Throughput of the worker against the local broker and database, under
    /// fresh names (removed at the end); one JSON line last on stdout.
    #[command(after_help = SECRETS)]
    Bench(cli::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Evaluate(args) => cli::evaluate::run(args),
        Command::Classify(args) => cli::classify::run(args),
        Command::Rules(args) => cli::rules::run(args),
        Command::Worker(config) => service(|| async move {
            let mut config = *config;
            config.connections.resolve_secret_files()?;
            worker::run(config).await.map(|()| 0)
        }),
        Command::Dlq(args) => {
            telemetry::init(false);
            cli::dlq::run(args)
        }
        Command::Bench(args) => {
            telemetry::init_with_default(true, "warn");
            runtime().and_then(|rt| rt.block_on(cli::bench::run(args)).map(|()| 0))
        }
        Command::Migrate(mut connections) => service(|| async move {
            connections.resolve_secret_files()?;
            db::migrate(&connections).await.map(|()| 0)
        }),
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("dmumatch: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The long-running commands: JSON logs and a multi-threaded runtime.
fn service<F, Fut>(f: F) -> anyhow::Result<i32>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<i32>>,
{
    telemetry::init(true);
    runtime()?.block_on(f())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
