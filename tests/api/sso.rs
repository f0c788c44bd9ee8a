//! Single sign-on (issue 10, item 3) against a real, certified OpenID provider: panva's
//! `oidc-provider`, started on loopback by `tests/sso/provider.mjs` with a client registered for
//! us. The whole round trip: `/oauth/authorize` → the provider (its login and consent answered
//! by `login_hint`) → `/oauth/callback` → the client's `redirect_uri` with our code →
//! `/oauth/token` with the PKCE verifier → the user's provisioning token. And the refusals: a
//! forged ID token, a wrong nonce, an unverified domain, a disabled provider.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use awc::http::Method;
use base64::Engine;
use serde_json::{json, Value};
use sha2::Digest;

use crate::apis::{created, id, linkage};
use crate::helpers::{spawn_app_with, TestApp};

const CLIENT_ID: &str = "provisioning-sso";
const CLIENT_SECRET: &str = "oidc-client-secret-Zt5";
const APP_REDIRECT: &str = "https://app.acme.test/callback";

/// The provider process, killed with the test.
struct OpenIdProvider {
    child: Child,
    issuer: String,
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sso_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sso")
}

/// Starts the provider with our callback as its client's redirect URI; `None` when its npm
/// packages are not installed (`make test` installs them; CI must have them).
fn start_provider(callback: &str) -> Option<OpenIdProvider> {
    if !sso_folder().join("node_modules/oidc-provider").exists() {
        assert!(std::env::var("CI").is_err(), "CI runs the single sign-on tests: npm install in tests/sso first");
        eprintln!("SKIPPED: tests/sso/node_modules is missing (make test installs it; needs Node and npm)");
        return None;
    }
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(sso_folder())
        .env("PORT", "0")
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .env("REDIRECT_URI", callback)
        .env("EXIT_ON_STDIN_EOF", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting node tests/sso/provider.mjs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("the provider's first line");
    let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    Some(OpenIdProvider { child, issuer: started["issuer"].as_str().unwrap().to_string() })
}

fn verifier_and_challenge() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A client that shows redirects rather than following them, and keeps cookies by host.
struct Browser {
    client: awc::Client,
    cookies: HashMap<String, Vec<String>>,
}

impl Browser {
    fn new() -> Browser {
        Browser { client: awc::Client::builder().disable_redirects().finish(), cookies: HashMap::new() }
    }

    /// GET `url`: its status and `Location`.
    async fn get(&mut self, url: &str) -> (u16, Option<String>, String) {
        let parsed = url::Url::parse(url).unwrap();
        let host = format!("{}:{}", parsed.host_str().unwrap(), parsed.port_or_known_default().unwrap());
        let mut request = self.client.get(url);
        if let Some(jar) = self.cookies.get(&host) {
            request = request.insert_header(("cookie", jar.join("; ")));
        }
        let mut response = request.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap().to_string();
            let name = pair.split('=').next().unwrap().to_string();
            let jar = self.cookies.entry(host.clone()).or_default();
            jar.retain(|c| !c.starts_with(&format!("{name}=")));
            jar.push(pair);
        }
        let location = response.headers().get("location").map(|l| {
            let l = l.to_str().unwrap();
            parsed.join(l).unwrap().to_string()
        });
        let body = response.body().await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        (response.status().as_u16(), location, body)
    }

    /// Follows redirects from `url` until one leaves for the client's redirect URI: that URL.
    async fn sign_in(&mut self, url: &str) -> url::Url {
        let mut next = url.to_string();
        for _ in 0..12 {
            if next.starts_with(APP_REDIRECT) {
                return url::Url::parse(&next).unwrap();
            }
            let (status, location, body) = self.get(&next).await;
            assert!((300..400).contains(&status), "GET {next}: {status} {body}");
            next = location.expect("a redirect has a Location");
        }
        panic!("no way back to the client after 12 redirects: {next}");
    }
}

fn query(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

struct Setup {
    app: TestApp,
    provider: OpenIdProvider,
    zone: crate::dns::Zone,
    organization: String,
    identity_provider: String,
    client_id: String,
    client_secret: String,
}

/// Our service (its DNS on a loopback zone), the OpenID provider, an organization with an
/// identity provider for acme.test (verified), and a webapp client.
async fn setup() -> Option<Setup> {
    let zone = crate::dns::Zone::start().await;
    let resolver = provisioning::cli::DnsServer(zone.address);
    let app = spawn_app_with(|s| s.dns_resolver = Some(resolver)).await;
    let provider = start_provider(&format!("{}/oauth/callback", app.base))?;
    let organization = id(&app.create_organization(json!({"name": "Acme"})).await);
    let issuer = &provider.issuer;
    let discovery: Value = awc::Client::default()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let made = created(
        app.post(
            "/api/identity_providers",
            &json!({"data": {"type": "identity_providers", "attributes": {
                "name": "Acme OIDC", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "issuer": issuer,
                "domains": "acme.test", "authorize_url": discovery["authorization_endpoint"],
                "token_url": discovery["token_endpoint"], "jwks_url": discovery["jwks_uri"],
                "organization": organization}}}),
        )
        .await,
    )
    .await;
    let identity_provider = id(&made);
    zone.publish("acme.test", made["attributes"]["txt_record"].as_str().unwrap()).await;
    let verify =
        json!({"data": {"type": "identity_providers", "id": identity_provider, "attributes": {"_verify": true}}});
    let verified = app.patch(&format!("/api/identity_providers/{identity_provider}"), &verify).await;
    assert_eq!(verified.json()["data"]["attributes"]["status"], "verified", "{}", verified.text);
    let webapp = created(
        app.post(
            "/api/api_credentials",
            &json!({"data": {"type": "api_credentials",
                "attributes": {"name": "Acme console", "kind": "webapp", "redirect_uri": APP_REDIRECT, "auth_method": "client_secret_post"},
                "relationships": {"organization": linkage("organizations", &organization)}}}),
        )
        .await,
    )
    .await;
    let client_id = webapp["attributes"]["client_id"].as_str().unwrap().to_string();
    let client_secret = webapp["attributes"]["client_secret"].as_str().unwrap().to_string();
    Some(Setup { app, provider, zone, organization, identity_provider, client_id, client_secret })
}

impl Setup {
    fn authorize(&self, login_hint: &str, challenge: &str) -> String {
        format!(
            "{}/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&state=client-state-1&code_challenge={challenge}&code_challenge_method=S256&login_hint={}",
            self.app.base,
            self.client_id,
            crate::helpers::encode(APP_REDIRECT),
            crate::helpers::encode(login_hint)
        )
    }

    async fn token(&self, code: &str, verifier: &str) -> crate::helpers::TestResponse {
        let body = format!(
            "grant_type=authorization_code&code={code}&code_verifier={verifier}&client_id={}&client_secret={}&redirect_uri={}",
            self.client_id,
            self.client_secret,
            crate::helpers::encode(APP_REDIRECT)
        );
        let request = self
            .app
            .anonymous(Method::POST, "/oauth/token")
            .insert_header(("content-type", "application/x-www-form-urlencoded"));
        self.app.send(request, Some(body)).await
    }

    async fn patch_provider(&self, attributes: Value) {
        let document =
            json!({"data": {"type": "identity_providers", "id": self.identity_provider, "attributes": attributes}});
        let response = self.app.patch(&format!("/api/identity_providers/{}", self.identity_provider), &document).await;
        assert_eq!(response.status, 200, "{}", response.text);
    }
}

#[actix_rt::test]
async fn a_user_signs_in_through_the_organizations_identity_provider() {
    let Some(s) = setup().await else { return };
    // Someone already invited by email becomes a member on their first sign-in.
    let roles = s
        .app
        .get(&format!("/api/roles?filter[q][organization_id_eq]={}&filter[q][kind_eq]=read_only", s.organization))
        .await
        .json();
    let invite = json!({"data": {"type": "memberships", "attributes": {"user_email": "ada@acme.test"},
        "relationships": {"organization": linkage("organizations", &s.organization), "role": linkage("roles", &id(&roles["data"][0]))}}});
    assert_eq!(s.app.post("/api/memberships", &invite).await.status, 201);

    let (verifier, challenge) = verifier_and_challenge();
    let mut browser = Browser::new();
    let (status, location, body) = browser.get(&s.authorize("ada@acme.test", &challenge)).await;
    assert_eq!(status, 302, "{body}");
    let upstream = url::Url::parse(location.as_deref().unwrap()).unwrap();
    assert!(upstream.as_str().starts_with(&s.provider.issuer), "{upstream}");
    let asked = query(&upstream);
    assert_eq!(asked["client_id"], CLIENT_ID);
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["redirect_uri"], format!("{}/oauth/callback", s.app.base));
    assert!(asked.contains_key("nonce") && asked.contains_key("state") && asked["state"] != "client-state-1");

    let back = browser.sign_in(upstream.as_str()).await;
    let answer = query(&back);
    assert_eq!(answer.get("state").map(String::as_str), Some("client-state-1"), "{back}");
    assert_eq!(answer["iss"], s.app.base);
    let code = answer.get("code").unwrap_or_else(|| panic!("no code: {back}")).clone();

    // The code, with the wrong verifier: refused, and used up.
    let (wrong, _) = verifier_and_challenge();
    let refused = s.token(&code, &wrong).await;
    assert_eq!((refused.status, refused.json()["error"].clone()), (400, json!("invalid_grant")), "{}", refused.text);
    assert_eq!(s.token(&code, &verifier).await.json()["error"], "invalid_grant", "a code is good once");

    // Again, properly: the user's provisioning token.
    let mut browser = Browser::new();
    let (_, location, _) = browser.get(&s.authorize("ada@acme.test", &challenge)).await;
    let back = browser.sign_in(&location.unwrap()).await;
    let code = query(&back)["code"].clone();
    let token = s.token(&code, &verifier).await;
    assert_eq!(token.status, 200, "{}", token.text);
    let token = token.json()["access_token"].as_str().unwrap().to_string();
    let me = s.app.get_as(&token, "/api/user").await;
    assert_eq!(me.json()["data"]["attributes"]["email"], "ada@acme.test", "{}", me.text);
    let memberships = s.app.get_as(&token, "/api/memberships").await.json();
    assert_eq!(memberships["data"][0]["attributes"]["status"], "active", "{memberships}");
    // The same person again is the same user.
    let mut browser = Browser::new();
    let (_, location, _) = browser.get(&s.authorize("ada@acme.test", &challenge)).await;
    let code = query(&browser.sign_in(&location.unwrap()).await)["code"].clone();
    let again = s.token(&code, &verifier).await.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(s.app.get_as(&again, "/api/user").await.json()["data"]["id"], me.json()["data"]["id"]);
}

#[actix_rt::test]
async fn sign_ins_are_refused_for_unverified_domains_disabled_providers_and_bad_requests() {
    let Some(s) = setup().await else { return };
    let (_, challenge) = verifier_and_challenge();
    let mut browser = Browser::new();
    let refusal = |location: Option<String>| {
        let back = url::Url::parse(&location.expect("a redirect")).unwrap();
        assert!(back.as_str().starts_with(APP_REDIRECT), "{back}");
        query(&back)
    };

    // A domain the provider does not serve (or has not verified).
    let (status, location, _) = browser.get(&s.authorize("bob@other.test", &challenge)).await;
    assert_eq!(status, 302);
    let answer = refusal(location);
    assert_eq!(answer["error"], "access_denied");
    assert!(answer["error_description"].contains("other.test"), "{answer:?}");
    assert_eq!(answer["state"], "client-state-1");

    // Changing the domains makes the provider pending: no sign-in until verified again.
    s.patch_provider(json!({"domains": "acme.test,staff.acme.test"})).await;
    let (_, location, _) = browser.get(&s.authorize("ada@acme.test", &challenge)).await;
    assert_eq!(refusal(location)["error"], "access_denied");
    s.zone.publish("staff.acme.test", &txt_record(&s).await).await;
    s.patch_provider(json!({"_verify": true})).await;

    // A disabled provider, even in the middle of a sign-in.
    let (_, location, _) = browser.get(&s.authorize("ada@acme.test", &challenge)).await;
    let upstream = location.unwrap();
    s.patch_provider(json!({"_disable": true})).await;
    let back = Browser::new().sign_in(&upstream).await;
    assert_eq!(query(&back)["error"], "access_denied", "{back}");
    let (_, location, _) = browser.get(&s.authorize("ada@acme.test", &challenge)).await;
    assert_eq!(refusal(location)["error"], "access_denied");
    s.patch_provider(json!({"_enable": true})).await;

    // A wrong nonce: the browser swaps the one we sent for its own.
    let (_, location, _) = browser.get(&s.authorize("ada@acme.test", &challenge)).await;
    let mut tampered = url::Url::parse(&location.unwrap()).unwrap();
    let pairs: Vec<(String, String)> = tampered
        .query_pairs()
        .into_owned()
        .map(|(n, v)| if n == "nonce" { (n, "chosen-by-the-browser".into()) } else { (n, v) })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);
    let answer = query(&Browser::new().sign_in(tampered.as_str()).await);
    assert_eq!(answer["error"], "access_denied");
    assert!(answer["error_description"].contains("nonce"), "{answer:?}");

    // An ID token not signed by the keys we trust for the provider (its jwks_url now names
    // other keys: ours), and one from another issuer than the provider's.
    s.patch_provider(json!({"jwks_url": format!("{}/.well-known/jwks.json", s.app.base)})).await;
    let (_, location, _) = browser.get(&s.authorize("ada@acme.test", &challenge)).await;
    let answer = query(&Browser::new().sign_in(&location.unwrap()).await);
    assert_eq!(answer["error"], "access_denied", "{answer:?}");
    assert!(
        answer["error_description"].contains("key") || answer["error_description"].contains("verify"),
        "{answer:?}"
    );
    let discovery_jwks = format!("{}/jwks", s.provider.issuer);
    s.patch_provider(json!({"jwks_url": discovery_jwks, "issuer": "https://impostor.example"})).await;
    let (_, location, _) = browser.get(&s.authorize("ada@acme.test", &challenge)).await;
    let answer = query(&Browser::new().sign_in(&location.unwrap()).await);
    assert_eq!(answer["error"], "access_denied", "{answer:?}");
    assert!(answer["error_description"].contains("does not verify"), "{answer:?}");
    s.patch_provider(json!({"issuer": s.provider.issuer})).await;

    // Before the client is known, no redirect: 400 here.
    let mut bad = Browser::new();
    let (status, _, body) =
        bad.get(&format!("{}/oauth/authorize?client_id=nobody&response_type=code", s.app.base)).await;
    assert_eq!(status, 400, "{body}");
    let elsewhere = s
        .authorize("ada@acme.test", &challenge)
        .replace(&crate::helpers::encode(APP_REDIRECT), "https%3A%2F%2Fevil.example%2Fcb");
    let (status, _, body) = bad.get(&elsewhere).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()["error"].clone()),
        (400, json!("invalid_request"))
    );
    // No PKCE: refused at the client.
    let (_, location, _) = bad.get(&s.authorize("ada@acme.test", "").replace("&code_challenge=&", "&")).await;
    assert_eq!(refusal(location)["error"], "invalid_request");

    // A callback nobody started, or one already taken.
    let (status, _, _) = bad.get(&format!("{}/oauth/callback?state=forged&code=x", s.app.base)).await;
    assert_eq!(status, 400);
}

async fn txt_record(s: &Setup) -> String {
    let shown = s.app.get(&format!("/api/identity_providers/{}", s.identity_provider)).await.json();
    shown["data"]["attributes"]["txt_record"].as_str().unwrap().to_string()
}
