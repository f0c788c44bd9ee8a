use clap::Parser;
use provisioning::cli::{Cli, Command};
use provisioning::startup::{open_database, Application};

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => open_database(&cli.settings).await.map(|_| ()),
        Command::Serve => serve(cli.settings).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("provisioning: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(settings: provisioning::cli::Settings) -> Result<(), String> {
    let application = Application::build(settings).await?;
    tracing::info!(url = %application.public_url(), "serving the provisioning API");
    application.server().await.map_err(|e| e.to_string())
}
