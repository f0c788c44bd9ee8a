//! `make bench-scale`: the service at the size its users reach, on PostgreSQL. Two databases
//! are made in the same run: one with 1,000 API credentials and one with 1,000,000
//! (`BENCH_SCALE_ROWS`), each spread over ten organizations with their roles, an API resource,
//! a scope and a grant per credential; the organizations go through the API, the credentials
//! and grants are bulk-loaded with `INSERT … SELECT generate_series`. The same requests run
//! against both (interleaved rounds, median), and each large figure is reported as a ratio of
//! the small one.
//!
//! Then several instances of the release binary on the large database, behind HAProxy:
//! throughput of GET one with 1, 2 and 3 instances, a revocation seen by every instance at
//! once, rate limits shared through Redis (`RATE_LIMIT_URL`) and, without it, counted per
//! instance. Last, the memory of one instance: idle, under 64 concurrent wrong-secret grants,
//! under a hostile mix, and after.
//!
//! Needs PostgreSQL (`POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres), wrk,
//! haproxy and, for the shared limits, Redis at 127.0.0.1:6379. Settings: BENCH_SECONDS per
//! round (default 5), BENCH_ROUNDS (3), BENCH_SCALE_ROWS (1000000).

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use provisioning::cli::Settings;
use provisioning::spec::query::{total_order, Cursor};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

const ORGANIZATIONS: usize = 10;
const BINARY: &str = env!("CARGO_BIN_EXE_provisioning");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A database URL on the server of `admin`, named `name`.
fn database_url(admin: &str, name: &str) -> String {
    let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
    format!("{base}/{name}")
}

/// wrk's requests per second for `url`, with a Lua `script` (headers, method, body).
fn wrk(url: &str, seconds: u64, connections: u64, script: &std::path::Path) -> (f64, bool) {
    let output = Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s"), "-s"])
        .arg(script)
        .arg(url)
        .output()
        .expect("wrk runs (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    let rate = text
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"));
    (rate, !text.contains("Non-2xx"))
}

/// A wrk script: these headers, and a method and body when given.
fn script(dir: &std::path::Path, name: &str, headers: &[(&str, &str)], post: Option<&str>) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.lua"));
    let mut lua = String::new();
    for (header, value) in headers {
        lua.push_str(&format!("wrk.headers[{header:?}] = {value:?}\n"));
    }
    if let Some(body) = post {
        lua.push_str(&format!("wrk.method = \"POST\"\nwrk.body = {body:?}\n"));
    }
    std::fs::write(&path, lua).unwrap();
    path
}

/// One instance of the release binary.
/// The master key of the bench's deployment (base64 of 32 bytes).
const BENCH_MASTER_KEY: &str = "cHJvdmlzaW9uaW5nIGJlbmNoOiBtYXN0ZXIga2V5ISE=";

struct Instance {
    child: Child,
    port: u16,
}

impl Instance {
    fn start(database_url: &str, public_url: &str, extra: &[(&str, &str)]) -> Instance {
        let port = free_port();
        let mut command = Command::new(BINARY);
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            // Instances on one PostgreSQL share the master key (any key: this database is the bench's).
            .env("MASTER_KEY", BENCH_MASTER_KEY)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("PUBLIC_URL", public_url)
            .env("WORKERS", "1")
            .env("POOL_SIZE", "8")
            .env("RUST_LOG", "warn")
            .env("RATE_LIMIT_TOKEN", "off")
            .env("RATE_LIMIT_READS", "off")
            .env("RATE_LIMIT_WRITES", "off")
            .env("CLIENT_FAILURE_LIMIT", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in extra {
            command.env(name, value);
        }
        let child = command.spawn().expect("starting the binary");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "the instance on {port} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Instance { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Resident memory now and at its peak, in MiB (`VmRSS`, `VmHWM`).
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(f64::NAN, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HAProxy on `port`, round robin over `backends`.
struct Balancer {
    child: Child,
}

impl Balancer {
    fn start(dir: &std::path::Path, port: u16, backends: &[&Instance]) -> Balancer {
        let mut config = format!(
            "global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n\
             frontend api\n  bind 127.0.0.1:{port}\n  default_backend instances\nbackend instances\n  balance roundrobin\n  option http-server-close\n"
        );
        for (i, instance) in backends.iter().enumerate() {
            config.push_str(&format!("  server i{i} 127.0.0.1:{}\n", instance.port));
        }
        let path = dir.join(format!("haproxy-{port}.cfg"));
        std::fs::write(&path, config).unwrap();
        let child = Command::new("haproxy")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy runs (apt-get install haproxy)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "haproxy did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Balancer { child }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Client(awc::Client);

impl Client {
    async fn call(&self, method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut request = self.0.request(method.parse().unwrap(), url);
        if let Some(token) = token {
            request = request.insert_header(("authorization", format!("Bearer {token}")));
        }
        let mut response = match body {
            Some(body) => {
                let content_type =
                    if url.contains("/oauth/") { "application/json" } else { "application/vnd.api+json" };
                request.insert_header(("content-type", content_type)).send_body(body.to_string()).await
            }
            None => request.send().await,
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let bytes = response.body().limit(16 << 20).await.unwrap();
        (response.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn created(&self, url: &str, token: &str, body: Value) -> Value {
        let (status, document) = self.call("POST", url, Some(token), Some(body)).await;
        assert_eq!(status, 201, "{url}: {document}");
        document["data"].clone()
    }

    async fn token(&self, base: &str, client_id: &str, secret: &str) -> String {
        let body = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret});
        let (status, document) = self.call("POST", &format!("{base}/oauth/token"), None, Some(body)).await;
        assert_eq!(status, 200, "{document}");
        document["access_token"].as_str().unwrap().to_string()
    }
}

/// A scenario's path on one database.
type PathOf = Box<dyn Fn(&Loaded) -> String>;

/// A database with `rows` API credentials, and what the requests need of it.
struct Loaded {
    url: String,
    /// The bootstrap user's credentials and a token for them.
    user_client_id: String,
    user_secret: String,
    token: String,
    /// The credential made through the API, whose secret is known.
    client_id: String,
    client_secret: String,
    one: String,
    cursor: String,
    recent: String,
    rows: usize,
}

async fn load(admin: &str, name: &str, rows: usize, public: &str, client: &Client) -> Loaded {
    let url = database_url(admin, name);
    {
        let mut conn = PgConnection::establish(admin).expect("PostgreSQL is reachable at POSTGRES_URL");
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
        conn.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    }
    let settings = Settings::local(&url);
    let database = provisioning::startup::open_database(&settings).await.unwrap();
    let credentials =
        provisioning::startup::bootstrap_user(&database, "admin@localhost").await.unwrap().expect("a new database");
    let instance = Instance::start(&url, public, &[]);
    let base = instance.url();
    let token = client.token(&base, &credentials.client_id, credentials.client_secret.expose_secret()).await;
    let mut template = None;
    for i in 0..ORGANIZATIONS {
        let org = client
            .created(
                &format!("{base}/api/organizations"),
                &token,
                json!({"data": {"type": "organizations", "attributes": {"name": format!("Company {i}")}}}),
            )
            .await;
        let organization = json!({"data": {"type": "organizations", "id": org["id"]}});
        let api = client
            .created(
                &format!("{base}/api/api_resources"),
                &token,
                json!({"data": {"type": "api_resources",
                "attributes": {"name": "Orders", "identifier": format!("https://orders{i}.example.com")},
                "relationships": {"organization": organization}}}),
            )
            .await;
        client
            .created(
                &format!("{base}/api/api_scopes"),
                &token,
                json!({"data": {"type": "api_scopes", "attributes": {"name": "orders:read"},
                "relationships": {"api_resource": {"data": {"type": "api_resources", "id": api["id"]}}}}}),
            )
            .await;
        if i == 0 {
            let (_, roles) = client
                .call(
                    "GET",
                    &format!(
                        "{base}/api/roles?filter[q][organization_id_eq]={}&filter[q][kind_eq]=admin",
                        org["id"].as_str().unwrap()
                    ),
                    Some(&token),
                    None,
                )
                .await;
            let credential = client
                .created(&format!("{base}/api/api_credentials"), &token, json!({"data": {"type": "api_credentials",
                    "attributes": {"name": "Template", "kind": "integration"},
                    "relationships": {"organization": organization, "role": {"data": {"type": "roles", "id": roles["data"][0]["id"]}}}}}))
                .await;
            template = Some(credential);
        }
    }
    let template = template.unwrap();
    let started = Instant::now();
    // Credential i belongs to organization i mod 10 (with its admin role), was made i seconds
    // after 2025-01-01, and is granted its organization's scope.
    let bulk = format!(
        "CREATE TEMP TABLE bench_orgs AS
           SELECT (row_number() OVER (ORDER BY o.created_at, o.id) - 1) AS n, o.id AS org, r.id AS role
           FROM organizations o JOIN roles r ON r.organization_id = o.id AND r.kind = 'admin';
         INSERT INTO api_credentials (id, organization_id, role_id, name, kind, redirect_uri, expires_in, mode, custom,
             auth_method, public_key, confidential, scopes, client_id, client_secret_hash, secret_version,
             reference, reference_origin, metadata, created_at, updated_at)
           SELECT 'bench' || lpad(i::text, 8, '0'), b.org, b.role, 'Service ' || i, t.kind, t.redirect_uri, t.expires_in,
             t.mode, t.custom, t.auth_method, t.public_key, t.confidential, t.scopes, 'bench-client-' || i,
             t.client_secret_hash, 1, 'ref-' || (i % 100), NULL, '{{\"batch\": ' || (i % 7) || '}}',
             timestamp '2025-01-01' + i * interval '1 second', timestamp '2025-01-01' + i * interval '1 second'
           FROM generate_series(1, {rows}) AS i
           JOIN bench_orgs b ON b.n = i % {ORGANIZATIONS}
           CROSS JOIN (SELECT * FROM api_credentials WHERE id = '{template_id}') t;
         INSERT INTO api_credential_scopes (api_credential_id, api_scope_id, created_at)
           SELECT c.id, s.id, c.created_at FROM api_credentials c JOIN api_scopes s ON s.organization_id = c.organization_id
           WHERE c.id LIKE 'bench%';
",
        template_id = template["id"].as_str().unwrap()
    );
    let mut conn = PgConnection::establish(&url).unwrap();
    conn.batch_execute(&bulk).expect("bulk loading");
    conn.batch_execute("VACUUM ANALYZE").expect("analyzing");
    println!("  {name}: {rows} credentials loaded in {:.1}s", started.elapsed().as_secs_f64());
    drop(instance);
    // The middle row, as a cursor: the page after it is deep in the list.
    let middle = rows / 2;
    let time = |second: usize| {
        chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
            + chrono::Duration::seconds(second as i64)
    };
    let cursor = Cursor::at(
        &total_order(&[]),
        &[Some(serde_json::to_value(time(middle)).unwrap()), Some(json!(format!("bench{middle:08}")))],
    );
    Loaded {
        url,
        user_client_id: credentials.client_id.clone(),
        user_secret: credentials.client_secret.expose_secret().to_string(),
        token,
        client_id: template["attributes"]["client_id"].as_str().unwrap().to_string(),
        client_secret: template["attributes"]["client_secret"].as_str().unwrap().to_string(),
        one: format!("bench{:08}", rows / 3),
        cursor,
        recent: time(rows - rows / 10).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        rows,
    }
}

fn main() {
    actix_web::rt::System::new().block_on(run());
}

async fn run() {
    let seconds = env_or("BENCH_SECONDS", 5);
    let rounds = env_or("BENCH_ROUNDS", 3);
    let rows = env_or("BENCH_SCALE_ROWS", 1_000_000) as usize;
    let admin = std::env::var("POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let dir = std::env::temp_dir().join(format!("provisioning-bench-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let client = Client(awc::Client::builder().timeout(Duration::from_secs(60)).finish());

    println!("provisioning bench-scale: PostgreSQL, 1,000 vs {rows} API credentials, {rounds} rounds x {seconds}s, 16 connections, 1 worker an instance");
    // Every instance has the balancer's address as its public URL (the tokens' issuer).
    let lb_port = free_port();
    let public = format!("http://127.0.0.1:{lb_port}");
    let small = load(&admin, "provisioning_bench_small", 1_000, &public, &client).await;
    let large = load(&admin, "provisioning_bench_large", rows, &public, &client).await;

    // The same requests on both databases, one instance each.
    let instances = [Instance::start(&small.url, &public, &[]), Instance::start(&large.url, &public, &[])];
    let scenarios: Vec<(&str, PathOf, bool)> = vec![
        ("first page (25)", Box::new(|_| "/api/api_credentials?page[size]=25".into()), false),
        (
            "a page deep in the list (cursor)",
            Box::new(|l| format!("/api/api_credentials?page[size]=25&page[after]={}", l.cursor)),
            false,
        ),
        (
            "filtered: name_cont=templ (1 row in each)",
            Box::new(|_| "/api/api_credentials?page[size]=25&filter[q][name_cont]=templ".into()),
            false,
        ),
        (
            "filtered: name_cont=4242 (0 rows vs 299)",
            Box::new(|_| "/api/api_credentials?page[size]=25&filter[q][name_cont]=4242".into()),
            false,
        ),
        (
            "filtered: created_at_gt (last tenth)",
            Box::new(|l| format!("/api/api_credentials?page[size]=25&filter[q][created_at_gt]={}", l.recent)),
            false,
        ),
        ("GET one", Box::new(|l| format!("/api/api_credentials/{}", l.one)), false),
        ("warm token grant", Box::new(|_| "/oauth/token".into()), true),
    ];
    let mut table = Vec::new();
    for (name, path, grant) in &scenarios {
        let mut figures: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..rounds {
            for (i, (loaded, instance)) in [&small, &large].into_iter().zip(&instances).enumerate() {
                let url = format!("{}{}", instance.url(), path(loaded));
                let lua = if *grant {
                    let body = format!(
                        "grant_type=client_credentials&client_id={}&client_secret={}",
                        loaded.client_id, loaded.client_secret
                    );
                    // Warm: this instance has verified the secret once.
                    client.token(&instance.url(), &loaded.client_id, &loaded.client_secret).await;
                    script(&dir, "grant", &[("Content-Type", "application/x-www-form-urlencoded")], Some(&body))
                } else {
                    script(&dir, "read", &[("Authorization", &format!("Bearer {}", loaded.token))], None)
                };
                let (rate, ok) = wrk(&url, seconds, 16, &lua);
                assert!(ok, "{name} on {} rows answered non-2xx", loaded.rows);
                figures[i].push(rate);
            }
        }
        let (small_rate, large_rate) = (median(figures[0].clone()), median(figures[1].clone()));
        table.push(format!("| {name} | {small_rate:.0} | {large_rate:.0} | {:.2} |", small_rate / large_rate));
    }
    drop(instances);
    println!("\n| request | 1,000 rows (req/s) | {rows} rows (req/s) | slower by (small / large; target ≤ 2) |\n| --- | ---: | ---: | ---: |");
    for line in &table {
        println!("{line}");
    }

    // Several instances on the large database behind HAProxy.
    println!("\n### Several instances on the {rows}-row database, behind HAProxy");
    let fleet: Vec<Instance> = (0..3).map(|_| Instance::start(&large.url, &public, &[])).collect();
    let one_path = format!("/api/api_credentials/{}", large.one);
    let read = script(&dir, "read", &[("Authorization", &format!("Bearer {}", large.token))], None);
    println!("\n| instances | GET one through HAProxy (req/s) |\n| --- | ---: |");
    for count in 1..=3 {
        let members: Vec<&Instance> = fleet.iter().take(count).collect();
        let balancer = Balancer::start(&dir, lb_port, &members);
        let figures: Vec<f64> =
            (0..rounds).map(|_| wrk(&format!("{public}{one_path}"), seconds, 32, &read).0).collect();
        println!("| {count} | {:.0} |", median(figures));
        drop(balancer);
    }
    // A token revoked at one instance is refused by every instance at once.
    let revoked = client.token(&fleet[1].url(), &large.user_client_id, &large.user_secret).await;
    let before = statuses(&client, &fleet, &one_path, &revoked).await;
    let (status, _) = client
        .call(
            "POST",
            &format!("{}/oauth/revoke", fleet[0].url()),
            None,
            Some(json!({"token": revoked, "client_id": large.user_client_id, "client_secret": large.user_secret})),
        )
        .await;
    assert_eq!(status, 200);
    let after = statuses(&client, &fleet, &one_path, &revoked).await;
    println!("\nRevocation: a user token answered {before:?} on the three instances; revoked at the first, the very next requests answered {after:?}.");
    drop(fleet);

    // Rate limits: 100 reads a minute per client address, 150 reads through HAProxy.
    let redis_up = std::net::TcpStream::connect("127.0.0.1:6379").is_ok();
    let mut limits = Vec::new();
    for shared in [false, true] {
        if shared && !redis_up {
            limits.push("| shared through Redis | (no Redis at 127.0.0.1:6379: not measured) |".to_string());
            continue;
        }
        let prefix = format!("bench-scale:{}", uuid::Uuid::new_v4());
        let mut extra = vec![("RATE_LIMIT_READS", "100/60")];
        if shared {
            extra.push(("RATE_LIMIT_URL", "redis://127.0.0.1:6379/0"));
            extra.push(("RATE_LIMIT_PREFIX", &prefix));
        }
        let pair: Vec<Instance> = (0..2).map(|_| Instance::start(&large.url, &public, &extra)).collect();
        let balancer = Balancer::start(&dir, lb_port, &pair.iter().collect::<Vec<_>>());
        // A client of its own: the pooled connections went to the balancer before this one.
        let client = Client(awc::Client::builder().timeout(Duration::from_secs(60)).finish());
        let mut allowed = 0;
        for _ in 0..150 {
            if client.call("GET", &format!("{public}{one_path}"), Some(&large.token), None).await.0 != 429 {
                allowed += 1;
            }
        }
        limits.push(format!(
            "| {} | {allowed} of 150 reads allowed (limit 100/60 per client address) |",
            if shared { "shared through Redis (`RATE_LIMIT_URL`)" } else { "counted per instance" }
        ));
        drop(balancer);
        drop(pair);
    }
    println!("\n| two instances behind HAProxy | rate limit |\n| --- | --- |");
    for line in &limits {
        println!("{line}");
    }

    // Memory of one instance.
    let instance = Instance::start(&large.url, &public, &[]);
    let idle = instance.memory().0;
    let wrong = format!("grant_type=client_credentials&client_id={}&client_secret=wrong", large.client_id);
    let burst = script(&dir, "wrong", &[("Content-Type", "application/x-www-form-urlencoded")], Some(&wrong));
    let _ = wrk(&format!("{}/oauth/token", instance.url()), seconds, 64, &burst);
    let (_, burst_peak) = instance.memory();
    let hostile_body = format!(
        "{{\"data\": {{\"type\": \"organizations\", \"attributes\": {{\"name\": \"{}\"}}}}}}",
        "a".repeat(900_000)
    );
    let hostile = script(
        &dir,
        "hostile",
        &[("Authorization", &format!("Bearer {}", large.token)), ("Content-Type", "application/vnd.api+json")],
        Some(&hostile_body),
    );
    let _ = wrk(
        &format!(
            "{}/api/api_credentials?include=organization,role,api_scopes&fields[api_credentials]=name",
            instance.url()
        ),
        seconds,
        64,
        &hostile,
    );
    let (_, hostile_peak) = instance.memory();
    std::thread::sleep(Duration::from_secs(3));
    let (after, _) = instance.memory();
    println!("\n| one instance | resident memory (MiB) |\n| --- | ---: |");
    println!("| idle, after start | {idle:.0} |");
    println!("| peak under 64 concurrent wrong-secret grants ({seconds}s) | {burst_peak:.0} |");
    println!("| peak after 64 connections posting 900 kB documents ({seconds}s) | {hostile_peak:.0} |");
    println!("| 3 s after the load | {after:.0} |");
    let _ = std::io::stdout().flush();
    let _ = std::fs::remove_dir_all(&dir);
}

/// What each instance answers to GET `path` with `token`, asked one after the other.
async fn statuses(client: &Client, fleet: &[Instance], path: &str, token: &str) -> Vec<u16> {
    let mut answers = Vec::new();
    for instance in fleet {
        answers.push(client.call("GET", &format!("{}{path}", instance.url()), Some(token), None).await.0);
    }
    answers
}
