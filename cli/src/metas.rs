//! `cvdw metas import <file>`: load monthly sales goals from a pt-BR CSV into `etl.metas`
//! (shared::analytics::metas). A file with bad lines changes nothing: each is printed with its
//! line number and the command fails.

use anyhow::{bail, Context};
use shared::analytics::metas::{self, ImportError};

#[derive(clap::Args)]
pub struct MetasArgs {
    #[command(subcommand)]
    pub command: MetasCommand,
}

#[derive(clap::Subcommand)]
pub enum MetasCommand {
    /// Import goals (`tenant;mes;escopo;id;unidades;valor`, `;`-separated, decimal comma).
    Import(ImportArgs),
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The CSV file.
    pub file: std::path::PathBuf,
    /// PostgreSQL URL (the database must be migrated: `cvdw migrate`).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

pub async fn run(args: MetasArgs) -> anyhow::Result<()> {
    match args.command {
        MetasCommand::Import(args) => import(args).await,
    }
}

async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let config = shared::db::DbConfig::from_url(&args.database_url)?;
    let client = shared::db::open_client(&config).await?;
    match metas::import(&client, &bytes).await {
        Ok(n) => {
            println!("{n} metas importadas de {}", args.file.display());
            Ok(())
        }
        Err(ImportError::BadLines(lines)) => {
            for line in &lines {
                eprintln!("{}: {line}", args.file.display());
            }
            bail!("{} linha(s) inválida(s); nada foi importado", lines.len())
        }
        Err(e) => Err(e.into()),
    }
}
