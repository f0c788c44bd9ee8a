//! The OAuth endpoints: `POST /oauth/token` (client credentials, RFC 6749 §4.4, and the
//! authorization code of a single sign-on), `GET /oauth/authorize` and `/oauth/callback` (single
//! sign-on through an identity provider, `sso.rs`),
//! `POST /oauth/revoke` (RFC 7009), `POST /oauth/introspect` (RFC 7662), and discovery:
//! `GET /.well-known/oauth-authorization-server` (RFC 8414), `GET /.well-known/jwks.json`.

pub mod client;
pub mod discovery;
pub mod error;
pub mod grant;
pub mod introspect;
pub mod parameters;
pub mod revoke;
pub mod sso;
pub mod upstream;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(crate::http::endpoint::resource("/oauth/token", "POST".into()).route(web::post().to(grant::token)))
        .service(crate::http::endpoint::resource("/oauth/authorize", "GET".into()).route(web::get().to(sso::authorize)))
        .service(crate::http::endpoint::resource("/oauth/callback", "GET".into()).route(web::get().to(sso::callback)))
        .service(crate::http::endpoint::resource("/oauth/revoke", "POST".into()).route(web::post().to(revoke::revoke)))
        .service(
            crate::http::endpoint::resource("/oauth/introspect", "POST".into())
                .route(web::post().to(introspect::introspect)),
        )
        .service(
            crate::http::endpoint::resource("/.well-known/oauth-authorization-server", "GET".into())
                .route(web::get().to(discovery::metadata)),
        )
        .service(
            crate::http::endpoint::resource("/.well-known/jwks.json", "GET".into())
                .route(web::get().to(discovery::jwks)),
        );
}
