//! Builds the application: database, migrations, routes, listener. Binding port 0 works, so
//! tests and benchmarks run the real server on a free port.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::cli::Settings;
use crate::db::{self, Database};
use crate::http::{self, AppState};
use crate::jsonapi::media;

pub struct Application {
    port: u16,
    public_url: String,
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

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, String> {
        let database = open_database(&settings).await?;
        let listener = TcpListener::bind(&settings.bind).map_err(|e| format!("binding {}: {e}", settings.bind))?;
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
            domain_suffix: settings.organization_domain.clone(),
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .service(web::scope("/api").wrap(from_fn(media::negotiate)).configure(http::configure_api))
                .default_service(web::to(http::not_found))
        })
        .listen(listener)
        .map_err(|e| e.to_string())?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Application { port: address.port(), public_url, server: server.run() })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn server(self) -> Server {
        self.server
    }
}
