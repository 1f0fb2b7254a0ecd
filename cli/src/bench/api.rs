//! (placeholder: owned by the team member building this benchmark)
#[derive(clap::Args)]
pub struct Args {}
pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
