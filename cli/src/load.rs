//! `cvdw migrate`, `cvdw load`, `cvdw replay` (placeholder: owned by the load work).
#[derive(clap::Args)]
pub struct MigrateArgs {}
#[derive(clap::Args)]
pub struct LoadArgs {}
#[derive(clap::Args)]
pub struct ReplayArgs {}
pub async fn migrate(_args: MigrateArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
pub async fn load_files(_args: LoadArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
pub async fn replay(_args: ReplayArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
