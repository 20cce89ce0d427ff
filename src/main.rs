use connector_sync_proxy::config::Settings;
use connector_sync_proxy::logging;
use connector_sync_proxy::startup::{self, Application};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    logging::init(settings.log_format);
    let served = serve(settings).await;
    // Log lines are written in batches: write the last ones before the process ends.
    logging::flush();
    served
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.repair {
        return startup::repair_indices(settings).await;
    }
    let application = Application::build(settings)?;
    application.run_until_stopped().await?;
    Ok(())
}
