//! Command line and settings: flags, each with an environment variable.

use clap::{Args, Parser, Subcommand};

use crate::domain::sealed::MasterKeys;
use crate::http::limits::{RateLimit, TrustedProxies};

#[derive(Debug, Parser)]
#[command(
    name = "provisioning",
    version,
    about = "Organizations, members, roles and API credentials over JSON:API, with the OAuth server that issues their tokens."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the API (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage users and their personal provisioning credentials.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The master key that seals the secrets kept in the database.
    MasterKey {
        #[command(subcommand)]
        command: MasterKeyCommand,
    },
    /// The keys that sign the tokens this server issues.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key the one every instance signs with (within a second). The old key
    /// stays in the JWKS, and its tokens verify, until the longest of them has expired.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Print a new master key (base64 of 32 random bytes), for MASTER_KEY or a key file.
    Generate,
    /// Reseal every sealed value under the first configured key (MASTER_KEY=<new>,<old>). With
    /// the default key file beside a SQLite database, a new key is made first, at its top.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user; prints its client id and secret once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
    },
    /// Replace a user's client secret; prints the new one once. The old one stops working.
    RotateSecret {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Where data lives: sqlite://<file> (embedded, the default) or postgres://user@host/db.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://provisioning.db", global = true)]
    pub database_url: String,

    /// The address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: String,

    /// The base URL clients reach this service at; every rendered link starts with it.
    /// Defaults to http://<BIND>.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Database connections kept open (the most queries running at once).
    #[arg(long, env = "POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub pool_size: u32,

    /// HTTP worker threads; defaults to the number of cores.
    #[arg(long, env = "WORKERS", global = true)]
    pub workers: Option<usize>,

    /// The user created, with credentials printed once, when the service first starts on an
    /// empty database.
    #[arg(long, env = "BOOTSTRAP_EMAIL", default_value = "admin@localhost", global = true)]
    pub bootstrap_email: String,

    /// Organizations' domains are <slug>.<ORGANIZATION_DOMAIN>.
    #[arg(long, env = "ORGANIZATION_DOMAIN", default_value = "localhost", global = true)]
    pub organization_domain: String,

    /// Where mail goes: smtp://[user:pass@]host[:port][?tls=required], smtps://…, or
    /// file://<dir>, an outbox of .eml files. Defaults to file://<the SQLite file's folder>/outbox
    /// (./outbox on PostgreSQL).
    #[arg(long, env = "MAIL_URL", global = true)]
    pub mail_url: Option<String>,

    /// Requests to the token endpoint (and revocation, introspection) per client address:
    /// <requests>/<seconds>, or off.
    #[arg(long, env = "RATE_LIMIT_TOKEN", default_value = "30/60", global = true)]
    pub rate_limit_token: RateLimit,

    /// API reads (GET) per client address.
    #[arg(long, env = "RATE_LIMIT_READS", default_value = "1000/60", global = true)]
    pub rate_limit_reads: RateLimit,

    /// API writes (POST, PATCH, DELETE) per client address.
    #[arg(long, env = "RATE_LIMIT_WRITES", default_value = "200/60", global = true)]
    pub rate_limit_writes: RateLimit,

    /// Failed client authentications per client id; past it, the client id is refused (429)
    /// without checking the secret, except a secret this instance verified recently.
    #[arg(long, env = "CLIENT_FAILURE_LIMIT", default_value = "10/60", global = true)]
    pub client_failure_limit: RateLimit,

    /// A Redis server (`redis://127.0.0.1:6379/0`) where every instance counts the rate limits
    /// above, so they hold across instances; unset, each instance counts its own.
    #[arg(long, env = "RATE_LIMIT_URL", global = true)]
    pub rate_limit_url: Option<String>,

    /// What the counters' keys in RATE_LIMIT_URL start with (deployments sharing a Redis tell
    /// theirs apart).
    #[arg(long, env = "RATE_LIMIT_PREFIX", default_value = "provisioning:limits", global = true)]
    pub rate_limit_prefix: String,

    /// Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges, comma-separated);
    /// the client's address is otherwise the peer's.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", global = true)]
    pub trusted_proxies: TrustedProxies,

    /// Threads that hash and verify secrets with argon2; defaults to the number of cores less
    /// one (at least one), so reads always have a core.
    #[arg(long, env = "HASH_THREADS", global = true)]
    pub hash_threads: Option<usize>,

    /// argon2 jobs that may wait for a thread; past it, a grant answers 503 at once. Defaults to
    /// four a core.
    #[arg(long, env = "HASH_QUEUE", global = true)]
    pub hash_queue: Option<usize>,

    /// The sender of every mail.
    #[arg(long, env = "MAIL_FROM", default_value = "Provisioning <provisioning@localhost>", global = true)]
    pub mail_from: String,

    /// Origins whose browser pages may call /api and /oauth (CORS), comma-separated, such as
    /// https://admin.example.com; none by default.
    #[arg(long, env = "CORS_ORIGINS", default_value = "", global = true)]
    pub cors_origins: CorsOrigins,

    /// Where /health, /ready and /metrics are served instead of BIND (an address and port);
    /// unset, BIND serves them.
    #[arg(long, env = "ADMIN_BIND", global = true)]
    pub admin_bind: Option<String>,

    /// The master key that seals secrets kept in the database (the token signing keys): base64
    /// of 32 bytes. Several, comma-separated: the first seals, every one opens (rotation).
    /// Unset on SQLite: a key file `master.key` beside the database, made on first start.
    /// PostgreSQL needs it or MASTER_KEY_FILE: every instance must share the key.
    #[arg(long, env = "MASTER_KEY", global = true, hide_env_values = true)]
    pub master_key: Option<MasterKeys>,

    /// A file holding the master key(s), one a line, the first sealing.
    #[arg(long, env = "MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<std::path::PathBuf>,

    /// The DNS server that identity providers' domain checks ask (`address` or `address:port`);
    /// the system's resolvers (/etc/resolv.conf) by default.
    #[arg(long, env = "DNS_RESOLVER", global = true)]
    pub dns_resolver: Option<DnsServer>,

    /// Seconds a credential provider's token endpoint has to answer; past it the token request
    /// answers temporarily_unavailable.
    #[arg(long, env = "UPSTREAM_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    pub upstream_timeout: u64,

    /// Megabytes of rendered reads kept while the database does not change (SQLite only; 0:
    /// none): a repeated GET is answered without reading or rendering again.
    #[arg(long, env = "READ_CACHE_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(0..=65536), global = true)]
    pub read_cache_mb: u64,

    /// Log lines as `text` (colored only on a terminal) or `json` (one object a line).
    #[arg(long, env = "LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    pub log_format: String,
}

/// DNS_RESOLVER: an address, with port 53 unless it names one.
#[derive(Debug, Clone, Copy)]
pub struct DnsServer(pub std::net::SocketAddr);

impl std::str::FromStr for DnsServer {
    type Err = String;

    fn from_str(value: &str) -> Result<DnsServer, String> {
        let value = value.trim();
        value
            .parse::<std::net::SocketAddr>()
            .or_else(|_| value.parse::<std::net::IpAddr>().map(|ip| std::net::SocketAddr::new(ip, 53)))
            .map(DnsServer)
            .map_err(|_| format!("{value:?} is not a DNS server's address, such as 192.0.2.53 or [2001:db8::53]:5353"))
    }
}

/// CORS_ORIGINS: each an origin as browsers send it (scheme, host, optional port; no path).
#[derive(Debug, Clone, Default)]
pub struct CorsOrigins(pub Vec<String>);

impl std::str::FromStr for CorsOrigins {
    type Err = String;

    fn from_str(value: &str) -> Result<CorsOrigins, String> {
        let mut origins = Vec::new();
        for origin in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let parsed = url::Url::parse(origin).map_err(|e| format!("{origin:?} is not an origin: {e}"))?;
            let serialized = parsed.origin().ascii_serialization();
            if !matches!(parsed.scheme(), "http" | "https") || serialized != origin.trim_end_matches('/') {
                return Err(format!(
                    "{origin:?} is not an origin: give a scheme, a host and an optional port, such as https://app.example.com"
                ));
            }
            origins.push(serialized);
        }
        Ok(CorsOrigins(origins))
    }
}

impl Settings {
    /// The folder of the SQLite file (`.` for a bare file name); none on PostgreSQL.
    pub fn sqlite_folder(&self) -> Option<std::path::PathBuf> {
        let url = Some(&self.database_url).filter(|url| url.starts_with("sqlite:"))?;
        let file = crate::db::sqlite_path(url);
        let file = std::path::Path::new(file.split('?').next().unwrap_or(file));
        Some(file.parent().filter(|folder| !folder.as_os_str().is_empty()).unwrap_or(std::path::Path::new(".")).into())
    }

    /// `MAIL_URL`, or the outbox folder beside the SQLite file (./outbox on PostgreSQL).
    pub fn mail_url(&self) -> String {
        if let Some(url) = &self.mail_url {
            return url.clone();
        }
        let folder = self.sqlite_folder().unwrap_or_else(|| ".".into());
        format!("file://{}", folder.join("outbox").display())
    }

    /// The default key file: `master.key` beside the SQLite file.
    pub fn default_master_key_file(&self) -> Option<std::path::PathBuf> {
        self.sqlite_folder().map(|folder| folder.join("master.key"))
    }

    /// Settings for a server on `database_url`, on a free port of 127.0.0.1.
    pub fn local(database_url: &str) -> Settings {
        Settings {
            database_url: database_url.to_string(),
            bind: "127.0.0.1:0".into(),
            public_url: None,
            pool_size: 4,
            workers: Some(1),
            organization_domain: "localhost".into(),
            bootstrap_email: "admin@localhost".into(),
            mail_url: None,
            mail_from: "Provisioning <provisioning@localhost>".into(),
            // Tests make many grants from one address; the limits' own tests set them low.
            rate_limit_token: RateLimit(None),
            rate_limit_reads: RateLimit(None),
            rate_limit_writes: RateLimit(None),
            client_failure_limit: RateLimit(None),
            rate_limit_url: None,
            rate_limit_prefix: "provisioning:limits".into(),
            trusted_proxies: TrustedProxies::default(),
            hash_threads: None,
            hash_queue: None,
            cors_origins: CorsOrigins::default(),
            admin_bind: None,
            master_key: None,
            master_key_file: None,
            log_format: "text".into(),
            dns_resolver: None,
            upstream_timeout: 10,
            read_cache_mb: 64,
        }
    }
}
