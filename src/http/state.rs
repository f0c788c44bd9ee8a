//! What every handler shares: the database, the registry, keys and caches, and the one hop in
//! which a request authenticates and does its database work.

use std::sync::Arc;

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use crate::auth::hashing::HashingPool;
use crate::auth::keys::KeySet;
use crate::auth::tokens::{key_id, verify, Claims, TokenError};
use crate::db::{AnyConnection, Database};
use crate::domain::policy::{Caller, GrantsCache, Session};
use crate::domain::sealed::MasterKeys;
use crate::error::ApiError;
use crate::http::answers::{target, Asked};
use crate::http::context::{audit, Author};
use crate::http::limits::RateLimits;
use crate::mail::Mailer;
use crate::resources::write::Tx;
use crate::resources::Registry;
use crate::views::Links;

pub struct AppState {
    pub db: Database,
    pub registry: &'static Registry,
    /// `<PUBLIC_URL>/api`: the base of every link we render.
    pub api_base: String,
    /// `<PUBLIC_URL>`: the `iss` of every token.
    pub issuer: String,
    pub keys: Arc<KeySet>,
    /// Seals and opens the secrets kept in the database.
    pub master: Arc<MasterKeys>,
    /// Recently verified client secrets, so repeat grants skip argon2.
    pub secrets: crate::auth::secret_cache::SecretCache,
    /// Each user's grants, while their version holds.
    pub grants: Arc<GrantsCache>,
    /// Access tokens whose signature was checked already.
    pub verified: crate::auth::verified::VerifiedTokens,
    /// Organizations' domains are `<slug>.<domain_suffix>`.
    pub domain_suffix: String,
    pub mailer: Arc<Mailer>,
    /// argon2, apart from everything else.
    pub hashing: Arc<HashingPool>,
    pub limits: Arc<RateLimits>,
    /// `ADMIN_BIND`'s address, when health and metrics are served there.
    pub admin_address: Option<std::net::SocketAddr>,
    /// DNS (and the other systems a request may need answers from).
    pub upstream: Arc<crate::upstream::Upstream>,
    /// `GET /openapi.json`, rendered on first request.
    pub openapi: std::sync::OnceLock<Vec<u8>>,
    /// Reads kept as answered while the database does not change.
    pub answers: crate::http::answers::Answers,
}

impl AppState {
    pub fn links(&self) -> Links<'_> {
        Links { base: &self.api_base }
    }

    /// Checks a token's signature, issuer and expiry. One naming a key this instance does not
    /// know makes it read the keys again: another instance may have rotated them.
    pub async fn verify_token(&self, token: &str) -> Result<Result<Claims, TokenError>, ApiError> {
        match verify(&self.keys, token, &self.issuer) {
            Err(TokenError::UnknownKey) => {
                let kid = key_id(token).unwrap_or_default();
                let (keys, issuer, token) = (self.keys.clone(), self.issuer.clone(), token.to_string());
                self.db
                    .run(move |conn| {
                        keys.refresh_for(conn, &kid)?;
                        Ok(verify(&keys, &token, &issuer))
                    })
                    .await
            }
            checked => Ok(checked),
        }
    }

    /// Runs `work` with the caller authenticated on the same pooled connection, in one read
    /// (`Database::read`: in place on SQLite, one hop to the blocking pool on PostgreSQL).
    pub async fn as_caller<T, F>(&self, session: Session, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection, &mut Caller) -> Result<T, ApiError> + Send + 'static,
    {
        let grants = self.grants.clone();
        self.db
            .read(move |conn| {
                let mut caller = Caller::authenticate(conn, &session, &grants)?;
                work(conn, &mut caller)
            })
            .await
    }

    /// A write: like `as_caller`, inside one transaction, with what the audit trail records
    /// of the request. The mails the write asks for go out after it commits; one that cannot
    /// be delivered answers 503, saying what was saved.
    pub async fn write<T, F>(&self, author: Author, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx) -> Result<T, ApiError> + Send + 'static,
    {
        let (registry, domain_suffix, grants) = (self.registry, self.domain_suffix.clone(), self.grants.clone());
        let master = self.master.clone();
        let (value, letters) = self
            .db
            .transaction(move |conn| {
                let mut caller = Caller::authenticate(conn, &author.session, &grants)?;
                let audit = audit(&caller, &author.context);
                let mut tx = Tx {
                    conn,
                    caller: &mut caller,
                    audit: &audit,
                    registry,
                    domain_suffix: &domain_suffix,
                    master: &master,
                    letters: Vec::new(),
                };
                let value = work(&mut tx)?;
                Ok((value, tx.letters))
            })
            .await?;
        for letter in &letters {
            self.mailer.send(letter).await.map_err(|e| ApiError::MailNotSent(Box::new(e)))?;
        }
        Ok(value)
    }
}

pub type State = web::Data<AppState>;

/// What a read needs: the app, the request's query string and the caller's verified token;
/// and, where answers are kept, whom and what its answer is kept for and the route it came by.
pub struct Reading {
    pub state: State,
    pub query: String,
    pub session: Session,
    pub keep: Option<(Asked, std::sync::Arc<str>)>,
}

/// What a write needs: the app, the query string, who writes and from where.
pub struct Writing {
    pub state: State,
    pub query: String,
    pub author: Author,
}

fn app(request: &HttpRequest) -> Result<State, ApiError> {
    request.app_data::<State>().cloned().ok_or(ApiError::internal("the app state is not configured"))
}

impl FromRequest for Reading {
    type Error = ApiError;
    type Future = Ready<Result<Reading, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let reading = app(request).and_then(|state| {
            let session = Session::from_request(request, payload).into_inner()?;
            // Where nothing is kept (PostgreSQL, READ_CACHE_MB=0), nothing is named: the route
            // is found by matching the path against every route again.
            let keep = (state.answers.keeps() && state.db.stamp().is_some()).then(|| {
                let asked = Asked::new(&session, target(request.path(), request.query_string()));
                (asked, request.match_pattern().unwrap_or_default().into())
            });
            Ok(Reading { state, query: request.query_string().into(), session, keep })
        });
        ready(reading)
    }
}

impl FromRequest for Writing {
    type Error = ApiError;
    type Future = Ready<Result<Writing, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let author = Author::from_request(request, payload).into_inner();
        ready(
            app(request).and_then(|state| Ok(Writing { state, query: request.query_string().into(), author: author? })),
        )
    }
}
