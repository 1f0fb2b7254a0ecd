//! `cvdw bench <name>`: benchmarks. Each prints its figures and ends with one line
//! `RESULT <name> key=value ...`, with ratios against a baseline measured in the same run.

use clap::{Args, Subcommand};

pub mod api;
pub mod extract;
pub mod freshness;
pub mod latency;
pub mod load;
pub mod replay;
pub mod simulator;

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: Which,
}

#[derive(Subcommand)]
pub enum Which {
    /// Pages per second the simulator serves (500-row `/vendas` pages at a large scale).
    Simulator(simulator::Args),
    /// Pacing ratio of the extractor against a time-compressed rate limit.
    Extract(extract::Args),
    /// A simulated week of scheduled runs: how fresh a big tenant's sales and deletions stay.
    Freshness(freshness::Args),
    /// Loader rows/s against COPY and row-by-row baselines.
    Load(load::Args),
    /// `cvdw replay` of a whole tenant's archive against COPY of the same rows, and its peak RSS.
    Replay(replay::Args),
    /// API latency per endpoint against the same SQL run directly, and start-up time.
    Api(api::Args),
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.which {
        Which::Simulator(a) => simulator::run(a).await,
        Which::Extract(a) => extract::run(a).await,
        Which::Freshness(a) => freshness::run(a).await,
        Which::Load(a) => load::run(a).await,
        Which::Replay(a) => replay::run(a).await,
        Which::Api(a) => api::run(a).await,
    }
}
