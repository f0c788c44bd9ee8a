//! The upstream credential a token for an API resource carries when the resource names a
//! credential provider (`upstream_access_token`, `upstream_expires_in`): a kept one while it
//! lives, otherwise one obtained from the provider after the grant's database work, and kept.

use actix_web::http::StatusCode;

use crate::db::AnyConnection;
use crate::domain::sealed::MasterKeys;
use crate::error::ApiError;
use crate::http::oauth::error::OAuthError;
use crate::http::state::State;
use crate::resources::credential_providers::{secret_place, CredentialProvider, CredentialProviders};
use crate::resources::model::Resource;
use crate::upstream::credentials::{self, Ask, Credential};

/// What the grant found in the database for the upstream credential.
pub struct Plan {
    provider: CredentialProvider,
    secret: Option<String>,
    key: String,
    scope: Option<String>,
    kept: Option<Credential>,
}

/// Reads the provider and a kept credential. The scope asked upstream is the client's granted
/// scopes that the provider lists in `scopes_supported`, joined by its separator (none when
/// none of them is listed).
pub fn plan(
    conn: &mut AnyConnection,
    master: &MasterKeys,
    provider_id: &str,
    credential_id: &str,
    granted: &str,
) -> Result<Plan, ApiError> {
    let provider = CredentialProviders::find(conn, provider_id)?
        .ok_or_else(|| ApiError::internal("an API resource names a credential provider that does not exist"))?;
    let supported = provider.scopes();
    let scopes: Vec<&str> = granted.split(' ').filter(|s| supported.iter().any(|x| x == s)).collect();
    let scope = (!scopes.is_empty()).then(|| scopes.join(&provider.scope_separator));
    let key = credentials::key(&provider, credential_id, scope.as_deref());
    let kept = credentials::kept(conn, master, &key)?;
    let secret = match (&kept, &provider.client_secret_sealed) {
        (None, Some(sealed)) => {
            let opened = master.open(&secret_place(&provider.id), sealed).map_err(|e| ApiError::Internal {
                context: "opening a credential provider's client secret",
                source: Some(Box::new(e)),
            })?;
            Some(String::from_utf8(opened).map_err(|_| ApiError::internal("a sealed client secret is not text"))?)
        }
        _ => None,
    };
    Ok(Plan { provider, secret, key, scope, kept })
}

/// The kept credential, or one the provider issues now (then kept). A provider that refuses,
/// fails or does not answer in time: `temporarily_unavailable`, saying what it answered.
pub async fn credential(state: &State, plan: Plan, token: &str, credential_id: &str) -> Result<Credential, OAuthError> {
    if let Some(kept) = plan.kept {
        metrics::counter!("upstream_credentials_total", "outcome" => "kept").increment(1);
        return Ok(kept);
    }
    let ask = Ask { provider: &plan.provider, secret: plan.secret, subject_token: token, scope: plan.scope };
    let obtained = credentials::obtain(&state.upstream.http, ask).await;
    let outcome = if obtained.is_ok() { "obtained" } else { "failed" };
    metrics::counter!("upstream_credentials_total", "outcome" => outcome).increment(1);
    let credential = obtained.map_err(|why| {
        tracing::warn!(provider = %plan.provider.id, credential = %credential_id, "upstream credential refused: {why}");
        OAuthError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            format!("The resource's credential provider {:?} issued no credential: {why}.", plan.provider.identifier),
        )
    })?;
    let (master, kept, provider_id, key) =
        (state.master.clone(), credential.clone(), plan.provider.id.clone(), plan.key.clone());
    // Keeping it is a saving, not a condition: the credential is good whether or not it is kept.
    if let Err(e) = state.db.run(move |conn| credentials::keep(conn, &master, &provider_id, &key, &kept)).await {
        tracing::warn!(provider = %plan.provider.id, "keeping an upstream credential failed: {e}");
    }
    Ok(credential)
}
