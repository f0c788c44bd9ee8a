//! The real server on a free port with its own database, and a real HTTP client.
//!
//! SQLite by default (a fresh file per test); PostgreSQL when `TEST_DATABASE_URL` is set, with a
//! database created for the test and dropped after it.

use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use provisioning::cli::Settings;
use provisioning::startup::Application;
use secrecy::ExposeSecret;
use serde_json::Value;

pub const MEDIA_TYPE: &str = "application/vnd.api+json";

pub enum TestDatabase {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, name: String },
}

/// Which database a test server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL when `TEST_DATABASE_URL` is set, SQLite otherwise.
    Default,
    /// SQLite, whatever `TEST_DATABASE_URL` says.
    Sqlite,
}

impl TestDatabase {
    fn create(backend: Backend) -> (TestDatabase, String) {
        let suffix: String = {
            use rand::Rng;
            rand::thread_rng()
                .sample_iter(&rand::distributions::Alphanumeric)
                .take(12)
                .map(|c| (c as char).to_ascii_lowercase())
                .collect()
        };
        let postgres = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
        match postgres.filter(|_| backend == Backend::Default) {
            Some(admin_url) => {
                let name = format!("provisioning_test_{suffix}");
                let mut conn = PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is not reachable: {e}"));
                conn.batch_execute(&format!("CREATE DATABASE {name}")).expect("creating the test database");
                let url = match admin_url.rfind('/') {
                    Some(i) if admin_url[..i].contains("//") && i > admin_url.find("//").unwrap() + 1 => {
                        format!("{}/{name}", &admin_url[..i])
                    }
                    _ => format!("{}/{name}", admin_url.trim_end_matches('/')),
                };
                (TestDatabase::Postgres { admin_url, name }, url)
            }
            None => {
                let dir = std::env::temp_dir().join(format!("provisioning-test-{suffix}"));
                std::fs::create_dir_all(&dir).expect("creating the test directory");
                let url = format!("sqlite://{}", dir.join("test.db").display());
                (TestDatabase::Sqlite { dir }, url)
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            TestDatabase::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDatabase::Postgres { admin_url, name } => {
                if let Ok(mut conn) = PgConnection::establish(admin_url) {
                    let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub database_url: String,
    /// The bootstrap user's credentials and a token for it.
    pub client_id: String,
    pub client_secret: String,
    pub token: String,
    /// The file outbox every mail of this server goes to (unless a test sets `MAIL_URL`).
    pub outbox: Outbox,
    /// `http://<ADMIN_BIND>`, when the test set it.
    pub admin_base: Option<String>,
    client: awc::Client,
    _database: TestDatabase,
}

/// A folder of `.eml` files, removed with the test.
pub struct Outbox(pub PathBuf);

impl Drop for Outbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One delivered mail, as far as tests read it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mail {
    /// Reads an RFC 5322 message: the headers tests need, and a 7bit or quoted-printable body.
    pub fn parse(raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            match (line.starts_with([' ', '\t']), headers.last_mut()) {
                (true, Some((_, value))) => value.push_str(line.trim_start()),
                _ => {
                    if let Some((name, value)) = line.split_once(':') {
                        headers.push((name.to_ascii_lowercase(), value.trim().to_string()))
                    }
                }
            }
        }
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let body = if header("content-transfer-encoding").eq_ignore_ascii_case("quoted-printable") {
            decode_quoted_printable(body)
        } else {
            body.to_string()
        };
        Mail { to: header("to"), subject: header("subject"), body }
    }

    /// The one-time code in an email confirmation mail: its own line, 10 characters.
    pub fn code(&self) -> String {
        self.body
            .lines()
            .map(str::trim)
            .find(|line| line.len() == 10 && line.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
            .unwrap_or_else(|| panic!("no code in {}", self.body))
            .to_string()
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every mail in a folder of `.eml` files (a file outbox, or a maildir's `new/`).
pub fn mails_in(folder: &std::path::Path) -> Vec<Mail> {
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok());
    files.iter().filter_map(|path| std::fs::read_to_string(path).ok()).map(|raw| Mail::parse(&raw)).collect()
}

pub struct TestResponse {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub text: String,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string())
    }

    /// The first error object, after checking the errors document's shape.
    pub fn error(&self) -> Value {
        let body = self.json();
        assert_eq!(self.header("content-type").as_deref(), Some(MEDIA_TYPE), "{}", self.text);
        let errors = body["errors"].as_array().unwrap_or_else(|| panic!("no errors array: {}", self.text));
        assert!(!errors.is_empty());
        let first = errors[0].clone();
        assert_eq!(first["status"], Value::String(self.status.to_string()), "status must be a string");
        assert!(first["code"].is_string() && first["title"].is_string() && first["detail"].is_string());
        first
    }
}

/// The master key of every test deployment on PostgreSQL, which requires one (on SQLite, each
/// test database gets its own key file beside it).
pub const TEST_MASTER_KEY: &str = "cHJvdmlzaW9uaW5nIHRlc3RzOiBtYXN0ZXIga2V5ISE=";

/// `Settings::local`, with the test master key on PostgreSQL.
pub fn settings(database_url: &str) -> Settings {
    let mut settings = Settings::local(database_url);
    if database_url.starts_with("postgres") {
        settings.master_key = Some(TEST_MASTER_KEY.parse().expect("the test master key"));
    }
    settings
}

/// The master keys a test deployment on `database_url` runs with.
pub fn master_keys(database_url: &str) -> provisioning::domain::sealed::MasterKeys {
    provisioning::startup::master_keys(&settings(database_url)).expect("the test master keys")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server whose settings `adjust` changes first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(Backend::Default, adjust).await
}

/// A server on `backend`, whose settings `adjust` changes first.
pub async fn spawn_app_on(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let (database, database_url) = TestDatabase::create(backend);
    let outbox = Outbox(std::env::temp_dir().join(format!("provisioning-outbox-{}", uuid::Uuid::new_v4())));
    let mut settings = settings(&database_url);
    settings.mail_url = Some(format!("file://{}", outbox.0.display()));
    adjust(&mut settings);
    let application = Application::build(settings).await.expect("building the app");
    let base = application.public_url().to_string();
    let credentials = application.bootstrap_credentials().expect("a new database bootstraps a user").clone();
    let admin_base = application.admin_address().map(|address| format!("http://{address}"));
    actix_rt::spawn(application.server());
    let mut app = connected(base, database, database_url, outbox, credentials).await;
    app.admin_base = admin_base;
    app
}

/// The app a test talks to at `base`, with a token for its bootstrap user.
async fn connected(
    base: String,
    database: TestDatabase,
    database_url: String,
    outbox: Outbox,
    credentials: provisioning::resources::users::Credentials,
) -> TestApp {
    let client = awc::Client::builder().timeout(std::time::Duration::from_secs(30)).finish();
    let mut app = TestApp {
        base,
        database_url,
        client_id: credentials.client_id,
        client_secret: credentials.client_secret.expose_secret().to_string(),
        token: String::new(),
        outbox,
        admin_base: None,
        client,
        _database: database,
    };
    app.token = app.token_for(&app.client_id.clone(), &app.client_secret.clone()).await;
    app
}

/// The service's own binary, run as a child process on a test database: for tests that
/// measure the process (its memory), not only its answers.
pub struct Binary {
    child: std::process::Child,
}

impl Binary {
    /// `VmRSS` and `VmHWM` (its peak), in KiB.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kb| kb.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary on a new database of `backend`, with the limits off, as `Settings::local` has
/// them; the database is made and its first user bootstrapped in this process.
pub async fn spawn_binary_on(backend: Backend) -> (TestApp, Binary) {
    let (database, database_url) = TestDatabase::create(backend);
    let outbox = Outbox(std::env::temp_dir().join(format!("provisioning-outbox-{}", uuid::Uuid::new_v4())));
    let settings = settings(&database_url);
    let pool = provisioning::startup::open_database(&settings).await.expect("migrating the test database");
    let credentials = provisioning::startup::bootstrap_user(&pool, &settings.bootstrap_email)
        .await
        .expect("bootstrapping")
        .expect("a new database bootstraps a user");
    drop(pool);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // Domain checks ask a DNS server of this test, which answers at once, never the machine's.
    let zone = crate::dns::Zone::start().await;
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_provisioning"))
        .arg("serve")
        .env("DATABASE_URL", &database_url)
        .env("MASTER_KEY", TEST_MASTER_KEY)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("WORKERS", "1")
        .env("POOL_SIZE", "4")
        .env("MAIL_URL", format!("file://{}", outbox.0.display()))
        .env("RUST_LOG", "error")
        .env("RATE_LIMIT_TOKEN", "off")
        .env("RATE_LIMIT_READS", "off")
        .env("RATE_LIMIT_WRITES", "off")
        .env("CLIENT_FAILURE_LIMIT", "off")
        .env("DNS_RESOLVER", zone.address.to_string())
        .env("UPSTREAM_TIMEOUT", "2")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("starting the binary");
    let binary = Binary { child };
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the binary did not start");
        actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    (connected(format!("http://127.0.0.1:{port}"), database, database_url, outbox, credentials).await, binary)
}

impl TestApp {
    /// Another instance of the server on this one's database and public URL, with settings
    /// `adjust` changed; the base URL it listens on.
    pub async fn another_instance(&self, adjust: impl FnOnce(&mut Settings)) -> String {
        let mut settings = settings(&self.database_url);
        settings.mail_url = Some(format!("file://{}", self.outbox.0.display()));
        // Instances of one deployment share its public URL (the tokens' issuer).
        settings.public_url = Some(self.base.clone());
        adjust(&mut settings);
        let application = Application::build(settings).await.expect("building another instance");
        let base = format!("http://127.0.0.1:{}", application.port());
        actix_rt::spawn(application.server());
        base
    }

    /// The HTTP client, for requests sent side by side.
    pub fn client(&self) -> awc::Client {
        self.client.clone()
    }

    /// The mails sent to `to`, oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<Mail> {
        mails_in(&self.outbox.0).into_iter().filter(|m| m.to.to_lowercase().contains(&to.to_lowercase())).collect()
    }

    /// Changes the email of the user of `token`: asks, reads the code mailed to the new address,
    /// sends it back.
    pub async fn change_email(&self, token: &str, email: &str) {
        let ask = serde_json::json!({"data": {"type": "users", "attributes": {"email": email}}});
        let response = self.write_as(token, awc::http::Method::PATCH, "/api/user", &ask).await;
        assert_eq!(response.status, 200, "{}", response.text);
        let code = self.last_mail_to(email).code();
        let confirm = serde_json::json!({"data": {"type": "users", "attributes": {"_confirm_email_code": code}}});
        let response = self.write_as(token, awc::http::Method::PATCH, "/api/user", &confirm).await;
        assert_eq!(response.status, 200, "{}", response.text);
        assert_eq!(response.json()["data"]["attributes"]["email"], email);
    }

    /// The last mail sent to `to`.
    pub fn last_mail_to(&self, to: &str) -> Mail {
        self.mails_to(to).pop().unwrap_or_else(|| panic!("no mail to {to} in {}", self.outbox.0.display()))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(&self, request: awc::ClientRequest, body: Option<String>) -> TestResponse {
        let result = match body {
            Some(body) => request.send_body(body).await,
            None => request.send().await,
        };
        let mut response = result.expect("the request reaches the server");
        let bytes = response.body().limit(16 << 20).await.expect("reading the body");
        TestResponse {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: String::from_utf8(bytes.to_vec()).expect("utf-8 body"),
        }
    }

    /// A token for a user credential, through `POST /oauth/token`.
    pub async fn token_for(&self, client_id: &str, client_secret: &str) -> String {
        let body = serde_json::json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret});
        let request = self.client.post(self.url("/oauth/token")).insert_header(("content-type", "application/json"));
        let response = self.send(request, Some(body.to_string())).await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.json()["access_token"].as_str().unwrap().to_string()
    }

    /// A request with no token.
    pub fn anonymous(&self, method: awc::http::Method, path: &str) -> awc::ClientRequest {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.get_as(&self.token, path).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> TestResponse {
        self.send(self.request_as(token, awc::http::Method::GET, path), None).await
    }

    pub fn request(&self, method: awc::http::Method, path: &str) -> awc::ClientRequest {
        self.request_as(&self.token, method, path)
    }

    pub fn request_as(&self, token: &str, method: awc::http::Method, path: &str) -> awc::ClientRequest {
        self.client.request(method, self.url(path)).insert_header(("authorization", format!("Bearer {token}")))
    }

    pub async fn post(&self, path: &str, body: &Value) -> TestResponse {
        self.write_as(&self.token, awc::http::Method::POST, path, body).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> TestResponse {
        self.write_as(&self.token, awc::http::Method::PATCH, path, body).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(self.request(awc::http::Method::DELETE, path), None).await
    }

    pub async fn write_as(&self, token: &str, method: awc::http::Method, path: &str, body: &Value) -> TestResponse {
        let request = self.request_as(token, method, path).insert_header(("content-type", MEDIA_TYPE));
        self.send(request, Some(body.to_string())).await
    }

    pub async fn raw(
        &self,
        method: awc::http::Method,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> TestResponse {
        let mut request = self.request(method, path);
        if let Some(content_type) = content_type {
            request = request.insert_header(("content-type", content_type));
        }
        self.send(request, Some(body.to_string())).await
    }

    /// Creates an organization and returns its resource object.
    pub async fn create_organization(&self, attributes: Value) -> Value {
        let response = self
            .post(
                "/api/organizations",
                &serde_json::json!({
                    "data": { "type": "organizations", "attributes": attributes }
                }),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.json()["data"].clone()
    }

    pub async fn organization_count(&self) -> i64 {
        let response = self.get("/api/organizations").await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.json()["meta"]["record_count"].as_i64().unwrap()
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A direct connection to the test's database, for what only the operator can do (the CLI's
/// user commands call the same functions).
pub fn connect(database_url: &str) -> provisioning::db::AnyConnection {
    use r2d2::ManageConnection;
    provisioning::db::ConnectionManager::new(database_url).unwrap().connect().expect("connecting to the test database")
}

impl TestApp {
    /// A new user with a token: what `provisioning users create` does, then a grant.
    pub async fn user(&self, email: &str) -> (String, String) {
        let (id, client_id, client_secret) = self.user_credentials(email).await;
        (id, self.token_for(&client_id, &client_secret).await)
    }

    /// A new user's id, client id and secret.
    pub async fn user_credentials(&self, email: &str) -> (String, String, String) {
        let url = self.database_url.clone();
        let email = email.to_string();
        let (user, credentials) = actix_web::rt::task::spawn_blocking(move || {
            provisioning::resources::users::create(&mut connect(&url), &email, "Test", "User").expect("creating a user")
        })
        .await
        .unwrap();
        (user.id, credentials.client_id, credentials.client_secret.expose_secret().to_string())
    }
}

/// The service's binary on its own SQLite file in a folder of its own, its stderr (the log) in
/// `server.log` there, with `env` set: for tests that read what it logs.
pub struct LoggedBinary {
    child: std::process::Child,
    pub base: String,
    pub client_id: String,
    pub client_secret: String,
    pub dir: PathBuf,
}

impl LoggedBinary {
    pub fn start(env: &[(&str, &str)]) -> LoggedBinary {
        use std::io::BufRead;
        let dir = std::env::temp_dir().join(format!("provisioning-logs-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_provisioning"));
        command
            .arg("serve")
            .env("DATABASE_URL", format!("sqlite://{}", dir.join("db.sqlite").display()))
            .env("BIND", "127.0.0.1:0")
            .env("MAIL_URL", format!("file://{}", dir.join("outbox").display()))
            .env("WORKERS", "1")
            .env_remove("RUST_LOG")
            .env_remove("LOG_FORMAT");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.stdout(std::process::Stdio::piped()).stderr(log).spawn().expect("starting the binary");
        // Stdout shows the bootstrap secret once (to the operator) and then the address.
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut client_id, mut client_secret) = (String::new(), String::new());
        let base = loop {
            let line = lines.next().expect("the server prints its address").unwrap();
            if let Some(v) = line.trim().strip_prefix("client_id:") {
                client_id = v.trim().to_string();
            } else if let Some(v) = line.trim().strip_prefix("client_secret:") {
                client_secret = v.trim().to_string();
            } else if let Some(url) = line.strip_prefix("Listening on ") {
                break url.trim().to_string();
            }
        };
        LoggedBinary { child, base, client_id, client_secret, dir }
    }

    /// The log so far. The server buffers its lines (up to 50 ms): this asks for `/health`
    /// with an id of its own and waits until that request's line is in the file, so every line
    /// logged before it is there too.
    pub fn log(&self) -> String {
        use std::io::{Read, Write};
        let marker = format!("log-marker-{}", uuid::Uuid::new_v4());
        let address = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).expect("the server answers");
        write!(
            stream,
            "GET /health HTTP/1.1\r\nHost: {address}\r\nX-Request-Id: {marker}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let _ = stream.read_to_end(&mut Vec::new());
        let started = std::time::Instant::now();
        loop {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap();
            if log.contains(&marker) {
                return log;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "the marker never reached the log:\n{log}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Drop for LoggedBinary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
