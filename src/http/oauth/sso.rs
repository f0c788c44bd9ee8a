//! Single sign-on through an organization's identity provider: the OpenID Connect
//! authorization-code flow with PKCE, upstream and here.
//!
//! 1. `GET /oauth/authorize` from a client with a `redirect_uri` (a webapp credential), with its
//!    own PKCE challenge and `login_hint` (an email, or a domain): the organization's verified,
//!    enabled provider serving that domain; the browser goes there with our `state`, a `nonce`
//!    and our own PKCE challenge.
//! 2. `GET /oauth/callback` from the provider: the code is exchanged, the ID token verified, its
//!    email's domain must be one of the provider's verified domains; the user with that email
//!    is found or made; the browser goes back to the client with a code of ours.
//! 3. `POST /oauth/token` with `grant_type=authorization_code` and the client's verifier
//!    (`grant.rs`): the user's provisioning token.
//!
//! Until the client and its `redirect_uri` are known, a refusal is a 400 here; after, it goes
//! to the client's `redirect_uri` (RFC 6749 §4.1.2.1).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use diesel::prelude::*;

use crate::auth::logins::{self, Login};
use crate::db::schema::identity_providers;
use crate::domain::secrets::generate_client_secret;
use crate::error::ApiError;
use crate::http::oauth::error::OAuthError;
use crate::http::state::State;
use crate::resources::api_credentials::find_by_client_id;
use crate::resources::identity_providers::{secret_place, IdentityProvider, IdentityProviders};
use crate::resources::model::Resource;
use crate::resources::users;
use crate::upstream::oidc::{self, Provider};

/// The query's parameters, each at most once (RFC 6749 §3.1).
fn parameters(request: &HttpRequest) -> Result<Vec<(String, String)>, OAuthError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(request.query_string().as_bytes()) {
        if pairs.iter().any(|(n, _)| *n == name) {
            return Err(OAuthError::invalid_request(format!("{name} is given more than once.")));
        }
        if value.chars().any(char::is_control) || value.len() > 2048 {
            return Err(OAuthError::invalid_request(format!("{name} must be text of at most 2048 characters.")));
        }
        pairs.push((name.into_owned(), value.into_owned()));
    }
    Ok(pairs)
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// A 302 to `uri` with `parameters` added to its query.
fn redirect(uri: &str, parameters: &[(&str, &str)]) -> HttpResponse {
    let mut url = match url::Url::parse(uri) {
        Ok(url) => url,
        Err(_) => return OAuthError::invalid_request("The redirect URI is not a URL.").response(),
    };
    url.query_pairs_mut().extend_pairs(parameters);
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// An error for the client at its `redirect_uri`, with its `state`.
fn refuse(uri: &str, state: Option<&str>, error: &str, description: &str) -> HttpResponse {
    let mut parameters = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        parameters.push(("state", state));
    }
    redirect(uri, &parameters)
}

/// The domain a `login_hint` names: an email's, or the hint itself.
fn hinted_domain(hint: &str) -> Option<String> {
    let domain = hint.rsplit_once('@').map_or(hint, |(_, domain)| domain);
    crate::resources::identity_providers::parse_domains(domain).ok().filter(|d| !d.contains(','))
}

pub async fn authorize(state: State, request: HttpRequest) -> HttpResponse {
    match begin(&state, &request).await {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

async fn begin(state: &State, request: &HttpRequest) -> Result<HttpResponse, OAuthError> {
    let pairs = parameters(request)?;
    let client_id = get(&pairs, "client_id").ok_or_else(|| OAuthError::invalid_request("client_id is required."))?;
    let client_id = client_id.to_string();
    let credential = state.db.run(move |conn| Ok(find_by_client_id(conn, &client_id)?)).await?;
    let Some(credential) = credential else {
        return Err(OAuthError::invalid_request("No client has this client_id."));
    };
    let Some(registered) = credential.redirect_uri.clone() else {
        return Err(OAuthError::invalid_request("This client has no redirect_uri: only webapp clients sign users in."));
    };
    if get(&pairs, "redirect_uri").is_some_and(|given| given != registered) {
        return Err(OAuthError::invalid_request("redirect_uri is not the one registered for this client."));
    }
    // From here on, the client hears of any refusal at its redirect_uri.
    let client_state = get(&pairs, "state");
    let refused = |error: &str, description: &str| Ok(refuse(&registered, client_state, error, description));
    if get(&pairs, "response_type") != Some("code") {
        return refused("unsupported_response_type", "response_type must be code.");
    }
    let Some(challenge) = get(&pairs, "code_challenge") else {
        return refused("invalid_request", "code_challenge is required (PKCE, RFC 7636).");
    };
    if get(&pairs, "code_challenge_method") != Some("S256") || challenge.len() != 43 {
        return refused(
            "invalid_request",
            "code_challenge must be an S256 challenge, with code_challenge_method S256.",
        );
    }
    let Some(domain) = get(&pairs, "login_hint").and_then(hinted_domain) else {
        return refused("invalid_request", "login_hint must name who signs in: an email or a domain.");
    };
    let organization = credential.organization_id.clone();
    let serving = domain.clone();
    let provider = state
        .db
        .run(move |conn| {
            let providers: Vec<IdentityProvider> = identity_providers::table
                .filter(identity_providers::organization.eq(&organization))
                .order(identity_providers::created_at)
                .select(IdentityProvider::as_select())
                .load(conn)?;
            Ok(providers.into_iter().find(|p| serves(p, &serving)))
        })
        .await?;
    let Some(provider) = provider else {
        let why = format!("No verified, enabled identity provider of this organization serves {domain}.");
        return refused("access_denied", &why);
    };
    let verifier = generate_client_secret();
    let now = crate::domain::now();
    let mut login = Login {
        id: generate_client_secret(),
        identity_provider_id: provider.id.clone(),
        api_credential_id: credential.id.clone(),
        redirect_uri: registered.clone(),
        client_state: client_state.map(String::from),
        code_challenge: challenge.to_string(),
        nonce: generate_client_secret(),
        upstream_verifier_sealed: String::new(),
        created_at: now,
        expires_at: logins::expiry(),
        returned_at: None,
        user_id: None,
        code_hash: None,
        code_expires_at: None,
        code_used_at: None,
    };
    login.upstream_verifier_sealed = state.master.seal(&logins::verifier_place(&login.id), verifier.as_bytes());
    let stored = login.clone();
    state.db.run(move |conn| Ok(logins::start(conn, &stored)?)).await?;
    let hint = get(&pairs, "login_hint").unwrap_or_default();
    let callback = format!("{}/oauth/callback", state.issuer);
    Ok(redirect(
        &provider.authorize_url,
        &[
            ("response_type", "code"),
            ("client_id", &provider.client_id),
            ("redirect_uri", &callback),
            ("scope", "openid email profile"),
            ("state", &login.id),
            ("nonce", &login.nonce),
            ("code_challenge", &logins::challenge(&verifier)),
            ("code_challenge_method", "S256"),
            ("login_hint", hint),
        ],
    ))
}

/// Whether the provider may sign in people of `domain`: verified, enabled, and serving it.
fn serves(provider: &IdentityProvider, domain: &str) -> bool {
    provider.status == "verified" && provider.disabled_at.is_none() && provider.domains.split(',').any(|d| d == domain)
}

pub async fn callback(state: State, request: HttpRequest) -> HttpResponse {
    match finish(&state, &request).await {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

async fn finish(state: &State, request: &HttpRequest) -> Result<HttpResponse, OAuthError> {
    let pairs = parameters(request)?;
    let Some(returned) = get(&pairs, "state").map(String::from) else {
        return Err(OAuthError::invalid_request("state is required."));
    };
    let found = state
        .db
        .run(move |conn| {
            let Some(login) = logins::returned(conn, &returned)? else { return Ok(None) };
            let provider = IdentityProviders::find(conn, &login.identity_provider_id)?;
            Ok(Some((login, provider)))
        })
        .await?;
    let Some((login, provider)) = found else {
        return Err(OAuthError::invalid_request("This sign-in is unknown, over, or older than ten minutes."));
    };
    let client_state = login.client_state.as_deref();
    let refused = |error: &str, description: &str| Ok(refuse(&login.redirect_uri, client_state, error, description));
    let Some(provider) = provider else {
        return refused("access_denied", "The identity provider of this sign-in was deleted.");
    };
    if let Some(error) = get(&pairs, "error") {
        let said = get(&pairs, "error_description").map(|d| format!(" ({d})")).unwrap_or_default();
        return refused("access_denied", &format!("The identity provider answered {error}{said}."));
    }
    let Some(code) = get(&pairs, "code") else {
        return refused("access_denied", "The identity provider sent no code.");
    };
    // What may have changed since the sign-in began.
    if provider.status != "verified" || provider.disabled_at.is_some() {
        return refused("access_denied", "The identity provider is no longer verified and enabled.");
    }
    let open = |place: &str, sealed: &str| {
        state
            .master
            .open(place, sealed)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| OAuthError::from(ApiError::internal("a sealed sign-in secret does not open")))
    };
    let secret = open(&secret_place(&provider.id), &provider.client_secret_sealed)?;
    let verifier = open(&logins::verifier_place(&login.id), &login.upstream_verifier_sealed)?;
    let upstream = Provider {
        issuer: &provider.issuer,
        client_id: &provider.client_id,
        client_secret: &secret,
        token_url: &provider.token_url,
        jwks_url: &provider.jwks_url,
    };
    let callback = format!("{}/oauth/callback", state.issuer);
    let identity = match oidc::exchange(&state.upstream.http, &upstream, code, &callback, &verifier).await {
        Ok(id_token) => oidc::verify(&state.upstream.http, &upstream, &id_token, &login.nonce).await,
        Err(why) => return refused("temporarily_unavailable", &format!("Signing in failed: {why}.")),
    };
    let identity = match identity {
        Ok(identity) => identity,
        Err(why) => {
            tracing::warn!(provider = %provider.id, "an ID token was refused: {why}");
            return refused("access_denied", &format!("Signing in failed: {why}."));
        }
    };
    let Some(email) = identity.email.as_deref().and_then(|e| crate::domain::parse_email(e).ok()) else {
        return refused("access_denied", "The ID token has no email.");
    };
    if identity.email_unverified() {
        return refused("access_denied", "The identity provider has not verified this email.");
    }
    let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
    if !serves(&provider, &domain) {
        return refused("access_denied", &format!("{domain} is not a verified domain of this identity provider."));
    }
    let local = email.split('@').next().unwrap_or("user").to_string();
    let first = identity.given_name.clone().unwrap_or(local);
    let last = identity.family_name.clone().unwrap_or_else(|| "User".into());
    let code = generate_client_secret();
    let (ours, id) = (code.clone(), login.id.clone());
    let signed_in = state
        .db
        .run(move |conn| {
            let user = match users::find_by_email(conn, &email)? {
                Some(user) => user,
                None => match users::create(conn, &email, &first, &last) {
                    // Its own client credentials are never shown: the user signs in here.
                    Ok((user, _)) => user,
                    // Another sign-in made it first.
                    Err(ApiError::Conflict { .. }) => users::find_by_email(conn, &email)?
                        .ok_or(ApiError::internal("a user made by another sign-in vanished"))?,
                    Err(other) => return Err(other),
                },
            };
            users::activate_memberships(conn, &user)?;
            logins::signed_in(conn, &id, &user.id, &ours)?;
            Ok(user.id)
        })
        .await;
    if let Err(error) = signed_in {
        tracing::warn!(provider = %provider.id, "a sign-in could not be completed: {error}");
        return refused("server_error", "The sign-in could not be completed.");
    }
    let mut parameters = vec![("code", code.as_str()), ("iss", state.issuer.as_str())];
    if let Some(client_state) = client_state {
        parameters.push(("state", client_state));
    }
    Ok(redirect(&login.redirect_uri, &parameters))
}
