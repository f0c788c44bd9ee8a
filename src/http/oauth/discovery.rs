//! RFC 8414 metadata and the JWK Set (RFC 7517) that verifies our tokens.

use actix_web::http::header;
use actix_web::HttpResponse;
use serde_json::json;

use crate::auth::keys::PUBLISHED_CHECK_SECONDS;
use crate::http::state::State;

/// RFC 8414: what this authorization server is and does.
pub async fn metadata(state: State) -> HttpResponse {
    let issuer = &state.issuer;
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=300")).json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials", "authorization_code"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "access_token_signing_alg_values_supported": ["RS512"],
        "scopes_supported": [crate::auth::tokens::PROVISIONING_SCOPE],
    }))
}

/// Read from the table again when this instance last did it more than half a minute ago: a
/// rotation elsewhere adds a key, and retired keys leave once their tokens have expired.
pub async fn jwks(state: State) -> HttpResponse {
    if state.keys.age_seconds() >= PUBLISHED_CHECK_SECONDS {
        let keys = state.keys.clone();
        if let Err(error) = state.db.run(move |conn| Ok(keys.refresh(conn)?)).await {
            // What this instance knows is still right for every key it signed with.
            tracing::warn!(%error, "reading the signing keys for the JWKS");
        }
    }
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=300")).json(state.keys.jwks())
}
