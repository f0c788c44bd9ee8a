use clap::Parser;
use provisioning::cli::{Cli, Command, KeysCommand, MasterKeyCommand, Settings, UsersCommand};
use provisioning::resources::users::{self, Credentials};
use provisioning::startup::{open_database, Application};
use secrecy::ExposeSecret;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    give_freed_memory_back();
    let cli = Cli::parse();
    start_logging(&cli.settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => open_database(&cli.settings).await.map(|_| ()),
        Command::Serve => serve(cli.settings).await,
        Command::Users { command } => manage_users(cli.settings, command).await,
        Command::MasterKey { command } => manage_master_key(cli.settings, command).await,
        Command::Keys { command } => manage_keys(cli.settings, command).await,
    };
    provisioning::logs::flush();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("provisioning: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Log lines on stderr: text, colored only when stderr is a terminal, or JSON objects
/// (LOG_FORMAT=json); `logs::start`.
fn start_logging(format: &str) {
    use std::io::IsTerminal;
    provisioning::logs::start(format == "json", std::io::stderr().is_terminal(), Box::new(std::io::stderr()));
}

fn print_credentials(what: &str, credentials: &Credentials, public_url: &str) {
    println!("{what}. The secret is shown this once; store it now:");
    println!("  client_id:     {}", credentials.client_id);
    // The one place a secret is shown: to the operator who made it, once.
    let secret = credentials.client_secret.expose_secret();
    println!("  client_secret: {secret}");
    println!("Get a token:");
    println!(
        "  curl -s -X POST {public_url}/oauth/token -H 'Content-Type: application/json' \
         -d '{{\"grant_type\":\"client_credentials\",\"client_id\":\"{}\",\"client_secret\":\"{}\"}}'",
        credentials.client_id, secret
    );
}

fn public_url(settings: &Settings) -> String {
    settings.public_url.clone().unwrap_or_else(|| format!("http://{}", settings.bind))
}

async fn serve(settings: Settings) -> Result<(), String> {
    let email = settings.bootstrap_email.clone();
    let application = Application::build(settings).await?;
    if let Some(credentials) = application.bootstrap_credentials() {
        print_credentials(&format!("Created the bootstrap user {email}"), credentials, application.public_url());
    }
    tracing::info!(url = %application.public_url(), "serving the provisioning API");
    // On stdout too: scripts that start the service on port 0 read the address here.
    println!("Listening on {}", application.public_url());
    application.server().await.map_err(|e| e.to_string())
}

async fn manage_users(settings: Settings, command: UsersCommand) -> Result<(), String> {
    let database = open_database(&settings).await?;
    let url = public_url(&settings);
    match command {
        UsersCommand::Create { email, first_name, last_name } => {
            let (user, credentials) = database
                .run(move |conn| users::create(conn, &email, &first_name, &last_name))
                .await
                .map_err(|e| e.to_string())?;
            print_credentials(&format!("Created user {} ({})", user.email, user.id), &credentials, &url);
        }
        UsersCommand::RotateSecret { email } => {
            let shown = email.clone();
            let credentials =
                database.run(move |conn| users::rotate_secret(conn, &email)).await.map_err(|e| e.to_string())?;
            print_credentials(
                &format!("Rotated the secret of {shown}; the old one no longer works"),
                &credentials,
                &url,
            );
        }
    }
    Ok(())
}

async fn manage_master_key(settings: Settings, command: MasterKeyCommand) -> Result<(), String> {
    match command {
        MasterKeyCommand::Generate => println!("{}", provisioning::domain::sealed::generate_key().expose_secret()),
        MasterKeyCommand::Rotate => {
            let (current, changed) = provisioning::startup::rotate_master_key(&settings).await?;
            println!("Resealed {changed} value(s) under master key {current}.");
            println!(
                "Restart every instance with this key first (MASTER_KEY=<new>,<old>, or the key file); drop the old \
                 key once they all run with the new one."
            );
        }
    }
    Ok(())
}

async fn manage_keys(settings: Settings, command: KeysCommand) -> Result<(), String> {
    match command {
        KeysCommand::Rotate => {
            let rotation = provisioning::startup::rotate_signing_key(&settings).await?;
            println!("Signing with key {} from now on (every instance within a second).", rotation.new_kid);
            for (kid, until) in &rotation.retired {
                println!("Retired key {kid}: its tokens verify, and it stays in the JWKS, until {until} UTC.");
            }
            if rotation.deleted > 0 {
                println!("Deleted {} key(s) retired earlier whose tokens have all expired.", rotation.deleted);
            }
        }
    }
    Ok(())
}

/// glibc's allocator keeps what it frees, and raises the size it keeps as blocks come and go: a
/// burst of 1 MiB request bodies left the process at 160 MiB long after (argon2's 19 MiB blocks
/// on many threads once left GiBs). Blocks of 128 KiB and more now come from the kernel and go
/// back to it when freed, and two arenas serve every thread (`make bench-scale` measures it).
fn give_freed_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before any request is served.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
