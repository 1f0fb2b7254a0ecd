//! `cvdw simulate`: serve the CVDW API simulator on 127.0.0.1 until Ctrl-C.
//!
//! Everything that talks to CVDW takes the printed base URL as `CVDW_BASE_URL`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Context;
use simulator::{Profile, Quirks, RateLimit, SimConfig, Simulator};

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// TCP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Seed of the generated world (same seed, same data).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// A named world with a real tenant's proportions: `small` (≈ 50 000 rows, like the
    /// demo), `medium` (≈ 500 000) or `large` (≥ 3 million: 300 000 leads, 40 000 reservas).
    /// With `--scale`, the profile's size is multiplied by it.
    #[arg(long)]
    pub profile: Option<Profile>,
    /// Size of the world: 1 ≈ 1 000 reservas / 8 000 leads; ≈ 42 gives 1 million rows in
    /// `/leads/interacoes`. With `--profile`, a multiplier of the profile's size.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// The `email` header the simulator accepts.
    #[arg(long, default_value = "demo@cvdw.local")]
    pub email: String,
    /// The `token` header the simulator accepts.
    #[arg(long, default_value = "demo-token")]
    pub token: String,
    /// Requests per sliding window per credential, across all objects: `20/60s`, `5/1s`,
    /// `20/2000ms`, or `off`.
    #[arg(long, default_value = "20/60s")]
    pub rate_limit: String,
    /// Probability (0..1) that a request gets a random fault (429, HTML 500, 422, truncated
    /// body, slow answer, connection reset, 200 with the 429 body).
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Seconds a "slow" fault waits before answering.
    #[arg(long, default_value_t = 65)]
    pub slow_secs: u64,
    /// Serve clean data: no CVDW quirks (string `pagina`, int `referencia`, zero dates,
    /// `""` strings, `&amp;`, CSV `idlead`, nested arrays, zero totals, key order).
    #[arg(long)]
    pub no_quirks: bool,
    /// Objects this credential may not read (answered with 401), comma-separated:
    /// `unidades,reservas/condicoes`.
    #[arg(long, value_delimiter = ',')]
    pub deny: Vec<String>,
}

pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let rate_limit = RateLimit::parse(&args.rate_limit)
        .map_err(anyhow::Error::msg)
        .context("--rate-limit")?;
    if !(0.0..=1.0).contains(&args.fault_rate) {
        anyhow::bail!(
            "--fault-rate must be between 0 and 1, got {}",
            args.fault_rate
        );
    }
    if !(args.scale.is_finite() && args.scale > 0.0) {
        anyhow::bail!("--scale must be a positive number, got {}", args.scale);
    }
    for d in &args.deny {
        if shared::catalogue::find(d).is_none() {
            anyhow::bail!("--deny: `{d}` is not a CVDW object");
        }
    }
    let base = match args.profile {
        Some(profile) => SimConfig::for_profile(profile),
        None => SimConfig::default(),
    };
    let cfg = SimConfig {
        seed: args.seed,
        scale: base.scale * args.scale,
        email: args.email.clone(),
        token: args.token.clone(),
        rate_limit,
        quirks: if args.no_quirks {
            Quirks::none()
        } else {
            Quirks::all()
        },
        fault_rate: args.fault_rate,
        slow_delay: Duration::from_secs(args.slow_secs),
        denied_objects: args.deny.clone(),
        ..base
    };
    let started = Instant::now();
    let sim = tokio::task::spawn_blocking(move || Simulator::new(cfg)).await?;
    let generated = started.elapsed();
    let running = sim
        .serve(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    println!(
        "CVDW simulator ready (world generated in {generated:.2?}, simulated now {})",
        sim.now()
    );
    println!("  CVDW_BASE_URL={}", running.base_url());
    println!("  email: {}", args.email);
    println!("  token: {}", args.token);
    println!(
        "  rate limit: {} | fault rate: {} | quirks: {} | denied: {}",
        args.rate_limit,
        args.fault_rate,
        if args.no_quirks { "off" } else { "on" },
        if args.deny.is_empty() {
            "none".to_string()
        } else {
            args.deny.join(",")
        }
    );
    println!(
        "  advance the clock: curl -X POST '{}/_sim/advance?days=1'",
        running.root_url()
    );
    let total_rows: usize = shared::catalogue::OBJECTS
        .iter()
        .map(|o| sim.row_count(o.path))
        .sum();
    println!(
        "  world: {} at scale {}; {total_rows} rows in all, /vendas rows: {}, /leads rows: {}",
        args.profile
            .map_or("the classic world".to_string(), |p| format!("profile {p}")),
        sim.config().scale,
        sim.row_count("/vendas"),
        sim.row_count("/leads")
    );
    println!("Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    println!("stopping; {:?}", sim.stats());
    running.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulateArgs,
    }

    #[test]
    fn defaults_and_flags() {
        let a = Cli::parse_from(["simulate"]).args;
        assert_eq!((a.port, a.seed, a.scale), (8787, 42, 1.0));
        assert_eq!(
            (a.email.as_str(), a.token.as_str()),
            ("demo@cvdw.local", "demo-token")
        );
        assert_eq!(a.rate_limit, "20/60s");
        let a = Cli::parse_from([
            "simulate",
            "--port",
            "0",
            "--rate-limit",
            "20/2s",
            "--no-quirks",
            "--deny",
            "unidades,reservas/condicoes",
            "--fault-rate",
            "0.05",
        ])
        .args;
        assert!(a.no_quirks);
        assert_eq!(a.deny, ["unidades", "reservas/condicoes"]);
        assert_eq!(a.fault_rate, 0.05);
        assert_eq!(a.profile, None);
        assert_eq!(a.deny, ["unidades", "reservas/condicoes"]);
        assert_eq!(a.fault_rate, 0.05);
        let a = Cli::parse_from(["simulate", "--profile", "large", "--scale", "0.5"]).args;
        assert_eq!((a.profile, a.scale), (Some(Profile::Large), 0.5));
        assert!(Cli::try_parse_from(["simulate", "--profile", "huge"]).is_err());
    }

    #[test]
    fn help_documents_every_flag() {
        let cmd = Cli::command();
        for arg in cmd.get_arguments() {
            assert!(arg.get_help().is_some(), "--{} has no help", arg.get_id());
        }
    }
}
