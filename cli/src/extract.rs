//! `cvdw extract` (placeholder: owned by the extract work).
#[derive(clap::Args)]
pub struct ExtractArgs {}
pub async fn run(_args: ExtractArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
