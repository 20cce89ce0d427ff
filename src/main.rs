use connector_sync_proxy::config::Settings;
use connector_sync_proxy::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let settings = Settings::load()?;
    let application = Application::build(settings)?;
    application.run_until_stopped().await?;
    Ok(())
}
