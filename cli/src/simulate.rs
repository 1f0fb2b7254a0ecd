//! `cvdw simulate` (placeholder: owned by the simulator work).
#[derive(clap::Args)]
pub struct SimulateArgs {}
pub async fn run(_args: SimulateArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
