//! `cvdw`: the command for people. Every subcommand is a thin wrapper over `shared` (and the
//! simulator); see `cvdw --help`.

use clap::{Parser, Subcommand};
use cvdw_cli::{bench, demo, extract, load, metas, serve, simulate};

#[derive(Parser)]
#[command(
    name = "cvdw",
    version,
    about = "cvdw-etl: CV CRM CVDW → S3 → PostgreSQL, and the tools around it"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole pipeline on this machine: simulator → extract → local S3 → load → PostgreSQL → dashboard.
    Demo(demo::DemoArgs),
    /// Serve the CVDW API simulator on 127.0.0.1.
    Simulate(simulate::SimulateArgs),
    /// Run an extraction (CVDW → S3 landing zone), the same code the extract Lambda runs.
    Extract(extract::ExtractArgs),
    /// Apply the database migrations (idempotent).
    Migrate(load::MigrateArgs),
    /// Load raw page files from disk into PostgreSQL.
    Load(load::LoadArgs),
    /// Replay the S3 landing zone (or a slice of it) into PostgreSQL.
    Replay(load::ReplayArgs),
    /// Serve the API and the dashboard locally (the same router the api Lambda runs).
    Serve(serve::ServeArgs),
    /// Benchmarks; each ends with a `RESULT <name> ...` line.
    Bench(bench::BenchArgs),
    /// Monthly sales goals: `cvdw metas import metas.csv`.
    Metas(metas::MetasArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Simulate(args) => simulate::run(args).await,
            Command::Extract(args) => extract::run(args).await,
            Command::Migrate(args) => load::migrate(args).await,
            Command::Load(args) => load::load_files(args).await,
            Command::Replay(args) => load::replay(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Metas(args) => metas::run(args).await,
        }
    })
}
