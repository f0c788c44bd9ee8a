//! DNS TXT lookups for identity providers' domain checks: through the server `DNS_RESOLVER`
//! names, or the system's (`/etc/resolv.conf`). Nothing is cached between checks, so a record
//! published a moment ago is seen by the next `_verify`.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, Resolver};

/// How long one query may take, how often it is tried, and how long a whole check (every
/// domain, asked side by side) may take.
const TIMEOUT: Duration = Duration::from_secs(2);
const ATTEMPTS: usize = 2;
const DEADLINE: Duration = Duration::from_secs(5);

pub struct Dns {
    /// The servers to ask, or why the system's could not be read (said at each check, so a
    /// machine without DNS still runs everything else).
    config: Result<ResolverConfig, String>,
    options: ResolverOpts,
}

impl Dns {
    /// `server` (DNS_RESOLVER), or the system's resolvers.
    pub fn new(server: Option<SocketAddr>) -> Dns {
        let (config, mut options) = match server {
            Some(address) => {
                let mut config = ResolverConfig::new();
                config.add_name_server(NameServerConfig::new(address, Protocol::Udp));
                config.add_name_server(NameServerConfig::new(address, Protocol::Tcp));
                (Ok(config), ResolverOpts::default())
            }
            None => match hickory_resolver::system_conf::read_system_conf() {
                Ok((config, options)) => (Ok(config), options),
                Err(e) => (Err(format!("the system's DNS resolvers could not be read: {e}")), ResolverOpts::default()),
            },
        };
        options.timeout = TIMEOUT;
        options.attempts = ATTEMPTS;
        options.cache_size = 0;
        Dns { config, options }
    }

    /// Whether every domain publishes `expected` as one of its TXT records; otherwise which
    /// did not and what it publishes.
    pub async fn publish(&self, domains: &[String], expected: &str) -> Result<(), String> {
        let config = self.config.clone()?;
        let resolver = Resolver::builder_with_config(config, TokioConnectionProvider::default())
            .with_options(self.options.clone())
            .build();
        let lookups = futures_util::future::join_all(domains.iter().map(|d| txt_records(&resolver, d)));
        let found = tokio::time::timeout(DEADLINE, lookups)
            .await
            .map_err(|_| format!("the TXT lookups took longer than {} seconds", DEADLINE.as_secs()))?;
        let mut problems = Vec::new();
        for (domain, found) in domains.iter().zip(found) {
            match found {
                Ok(found) if found.iter().any(|r| r == expected) => {}
                Ok(found) if found.is_empty() => problems.push(format!("{domain} publishes no TXT record")),
                Ok(found) => problems
                    .push(format!("{domain} publishes no TXT record {expected} (it publishes {})", shown(&found))),
                Err(why) => problems.push(format!("{domain}: {why}")),
            }
        }
        match problems.is_empty() {
            true => Ok(()),
            false => Err(problems.join("; ")),
        }
    }
}

/// The TXT records of `domain`, each one's strings joined (RFC 7208 §3.3); none when the name
/// or the records do not exist.
async fn txt_records(resolver: &Resolver<TokioConnectionProvider>, domain: &str) -> Result<Vec<String>, String> {
    // Fully qualified: never tried under the machine's search domains.
    match resolver.txt_lookup(format!("{domain}.")).await {
        Ok(lookup) => Ok(lookup
            .iter()
            .map(|txt| txt.txt_data().iter().map(|part| String::from_utf8_lossy(part)).collect::<String>())
            .map(|record| record.trim().to_string())
            .collect()),
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
        Err(e) => Err(lookup_failed(&e)),
    }
}

fn lookup_failed(error: &ResolveError) -> String {
    format!("the TXT lookup failed ({error})")
}

/// At most three records, each cut to 100 characters: what a person needs to see the mistake.
fn shown(records: &[String]) -> String {
    let mut shown: Vec<String> = records
        .iter()
        .take(3)
        .map(|r| match r.char_indices().nth(100) {
            Some((at, _)) => format!("{:?}…", &r[..at]),
            None => format!("{r:?}"),
        })
        .collect();
    if records.len() > 3 {
        shown.push(format!("and {} more", records.len() - 3));
    }
    shown.join(", ")
}
