use connector_sync_proxy::config::Settings;
use connector_sync_proxy::logging;
use connector_sync_proxy::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    logging::init(settings.log_format);
    let application = Application::build(settings)?;
    application.run_until_stopped().await?;
    Ok(())
}
