//! Builds the application: database, migrations, signing keys, the bootstrap user, routes,
//! listener. Binding port 0 works, so tests and benchmarks run the real server on a free port.

use std::net::TcpListener;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Compress};
use actix_web::{web, App, HttpServer};

use crate::auth::hashing::HashingPool;
use crate::auth::keys::KeySet;
use crate::cli::Settings;
use crate::db::{self, Database};
use crate::domain::sealed::{generate_key, MasterKeys};
use crate::http;
use crate::http::limits::{RateLimits, SharedWindows};
use crate::http::state::AppState;
use crate::mail::Mailer;
use crate::resources::users::{self, Credentials};
use crate::upstream::dns::Dns;
use crate::upstream::Upstream;

pub struct Application {
    port: u16,
    admin_address: Option<std::net::SocketAddr>,
    public_url: String,
    bootstrap: Option<Credentials>,
    server: Server,
}

/// Opens the pool and applies pending migrations.
pub async fn open_database(settings: &Settings) -> Result<Database, String> {
    let database = Database::connect(&settings.database_url, settings.pool_size)?;
    let handle = database.clone();
    let applied = web::block(move || {
        let mut conn = handle.get().map_err(|e| format!("connecting to the database: {e}"))?;
        db::migrate(&mut conn)
    })
    .await
    .map_err(|e| e.to_string())??;
    if applied > 0 {
        tracing::info!(applied, "applied migrations");
    }
    Ok(database)
}

/// The master keys: MASTER_KEY, MASTER_KEY_FILE, or on SQLite the key file beside the
/// database, made (readable by its owner only) on first start.
pub fn master_keys(settings: &Settings) -> Result<MasterKeys, String> {
    if let Some(keys) = &settings.master_key {
        return Ok(keys.clone());
    }
    let file = match (&settings.master_key_file, settings.default_master_key_file()) {
        (Some(file), _) => file.clone(),
        (None, Some(file)) => {
            if make_key_file(&file, &generate_key())? {
                tracing::warn!(
                    file = %file.display(),
                    "generated the master key that seals the secrets in the database; keep it, and back it up \
                     with the database: without it they cannot be read"
                );
            }
            file
        }
        (None, None) => {
            return Err("PostgreSQL needs MASTER_KEY or MASTER_KEY_FILE: every instance must seal and open secrets \
                 with the same key (`provisioning master-key generate` makes one)"
                .into())
        }
    };
    let text =
        std::fs::read_to_string(&file).map_err(|e| format!("reading the master key file {}: {e}", file.display()))?;
    text.parse().map_err(|e| format!("the master key file {}: {e}", file.display()))
}

/// Writes `key` to a new file only its owner can read; false when the file was there already.
pub fn make_key_file(file: &std::path::Path, key: &SecretString) -> Result<bool, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file);
    match created {
        Ok(mut out) => {
            writeln!(out, "{}", key.expose_secret())
                .and_then(|()| out.sync_all())
                .map_err(|e| format!("writing the master key file {}: {e}", file.display()))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(format!("creating the master key file {}: {e}", file.display())),
    }
}

/// `provisioning master-key rotate`. With the default key file (SQLite, no setting), a new key
/// goes first in it, the old ones stay below; then every sealed value is resealed under the
/// first key. Each value is resealed on its own, so a rotation cut short leaves values under
/// keys that still open them, and running it again finishes it. The sealing key's id and how
/// many values changed.
pub async fn rotate_master_key(settings: &Settings) -> Result<(String, usize), String> {
    if let (None, None, Some(file)) =
        (&settings.master_key, &settings.master_key_file, settings.default_master_key_file())
    {
        let old = std::fs::read_to_string(&file)
            .map_err(|e| format!("reading the master key file {}: {e}", file.display()))?;
        let next = file.with_extension("key.next");
        let _ = std::fs::remove_file(&next);
        make_key_file(&next, &SecretString::from(format!("{}\n{}", generate_key().expose_secret(), old.trim())))?;
        std::fs::rename(&next, &file).map_err(|e| format!("replacing the master key file {}: {e}", file.display()))?;
    }
    let master = master_keys(settings)?;
    let database = open_database(settings).await?;
    let current = master.current().to_string();
    let changed = web::block(move || {
        let mut conn = database.get().map_err(|e| e.to_string())?;
        let keys = crate::auth::keys::seal_all(&mut conn, &master)?;
        Ok::<_, String>(keys + crate::resources::sealed::reseal_all(&mut conn, &master)?)
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok((current, changed))
}

/// `provisioning keys rotate`: a new signing key, the old ones published until their tokens
/// have expired.
pub async fn rotate_signing_key(settings: &Settings) -> Result<crate::auth::keys::Rotation, String> {
    let master = master_keys(settings)?;
    let database = open_database(settings).await?;
    web::block(move || {
        let mut conn = database.get().map_err(|e| e.to_string())?;
        // The keys first: a database from before sealing is sealed as on any start.
        KeySet::load_or_create(&mut conn, &master)?;
        let lifetime = crate::auth::tokens::longest_lifetime(&mut conn).map_err(|e| e.to_string())?;
        crate::auth::keys::rotate(&mut conn, &master, lifetime)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// On an empty database, the first user, whose credentials the caller shows once.
pub async fn bootstrap_user(database: &Database, email: &str) -> Result<Option<Credentials>, String> {
    let shown = email.to_string();
    let email = email.to_string();
    database
        .run(move |conn| {
            if users::count(conn)? > 0 {
                return Ok(None);
            }
            match users::create(conn, &email, "Admin", "User") {
                Ok((_, credentials)) => Ok(Some(credentials)),
                // Another instance bootstrapped first.
                Err(crate::error::ApiError::Conflict { .. }) if users::count(conn)? > 0 => Ok(None),
                Err(other) => Err(other),
            }
        })
        .await
        .map_err(|e| format!("creating the bootstrap user {shown}: {e}"))
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, String> {
        // Bind first: a start whose port is taken must fail before it makes a bootstrap user
        // whose secret it could never show.
        let listener = TcpListener::bind(&settings.bind).map_err(|e| format!("binding {}: {e}", settings.bind))?;
        let admin_listener = match &settings.admin_bind {
            Some(bind) => Some(TcpListener::bind(bind).map_err(|e| format!("binding ADMIN_BIND {bind}: {e}"))?),
            None => None,
        };
        let admin_address = match &admin_listener {
            Some(listener) => Some(listener.local_addr().map_err(|e| e.to_string())?),
            None => None,
        };
        // The metrics recorder, before anything counts.
        http::observe::metrics();
        let database = open_database(&settings).await?;
        // After the database: a SQLite URL that names no usable file is refused first.
        let master = master_keys(&settings)?;
        let handle = database.clone();
        let sealing = master.clone();
        let keys = web::block(move || {
            let mut conn = handle.get().map_err(|e| e.to_string())?;
            KeySet::load_or_create(&mut conn, &sealing)
        })
        .await
        .map_err(|e| e.to_string())??;
        let mailer = Mailer::new(&settings.mail_url(), &settings.mail_from)?;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        // One core is left to everything else: measured on a 2-core machine, a busy loop on
        // every core, even in SCHED_IDLE, multiplies the p99 of reads by 5; on all but one, by
        // about 1 (`make bench`).
        let threads = settings.hash_threads.unwrap_or(cores.saturating_sub(1)).max(1);
        let hashing = HashingPool::new(threads, settings.hash_queue.unwrap_or(cores * 4));
        // The stand-in hash an unknown client id is checked against, made now so the first one
        // costs what every other does.
        web::block(crate::domain::secrets::decoy_hash).await.map_err(|e| e.to_string())?;
        let mut limits = RateLimits::new(
            settings.rate_limit_token,
            settings.rate_limit_reads,
            settings.rate_limit_writes,
            settings.client_failure_limit,
            settings.trusted_proxies.0.clone(),
        );
        if let Some(url) = &settings.rate_limit_url {
            limits = limits.shared(SharedWindows::connect(url, &settings.rate_limit_prefix).await?);
            tracing::info!("rate limits are counted in Redis, with every instance that shares it");
        }
        let bootstrap = bootstrap_user(&database, &settings.bootstrap_email).await?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"))
            .trim_end_matches('/')
            .to_string();
        let state = web::Data::new(AppState {
            db: database,
            api_base: format!("{public_url}/api"),
            issuer: public_url.clone(),
            keys: Arc::new(keys),
            master: Arc::new(master),
            secrets: Default::default(),
            verified: Default::default(),
            grants: Default::default(),
            domain_suffix: settings.organization_domain.clone(),
            registry: &http::REGISTRY,
            mailer: Arc::new(mailer),
            hashing: Arc::new(hashing),
            limits: Arc::new(limits),
            admin_address,
            upstream: Arc::new(Upstream {
                dns: Dns::new(settings.dns_resolver.map(|r| r.0)),
                http: crate::upstream::credentials::client(std::time::Duration::from_secs(settings.upstream_timeout)),
            }),
            openapi: Default::default(),
            answers: http::answers::Answers::new((settings.read_cache_mb as usize) << 20),
        });
        let cors_origins = settings.cors_origins.0.clone();
        let mut server = HttpServer::new(move || {
            // The last wrapped runs first: observe sees every answer; preflights are answered
            // before the gate (rate limit, authentication); ETags hash the uncompressed body.
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(http::gate::gate))
                .wrap(Compress::default())
                .wrap(http::cors::layer(&cors_origins))
                .wrap(from_fn(http::observe::observe))
                .configure(http::oauth::configure)
                .configure(http::operate::configure)
                .service(
                    http::endpoint::resource("/openapi.json", "GET".into()).route(web::get().to(http::openapi::serve)),
                )
                // Its token and media type are checked at the gate.
                .service(web::scope("/api").configure(http::configure_api))
                .default_service(web::to(http::endpoint::not_found))
        })
        .listen(listener)
        .map_err(|e| e.to_string())?;
        if let Some(admin) = admin_listener {
            server = server.listen(admin).map_err(|e| e.to_string())?;
        }
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Application { port: address.port(), admin_address, public_url, bootstrap, server: server.run() })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where `/health`, `/ready` and `/metrics` are served, when `ADMIN_BIND` moved them.
    pub fn admin_address(&self) -> Option<std::net::SocketAddr> {
        self.admin_address
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The bootstrap user's credentials, when this start created it.
    pub fn bootstrap_credentials(&self) -> Option<&Credentials> {
        self.bootstrap.as_ref()
    }

    pub fn server(self) -> Server {
        self.server
    }
}
