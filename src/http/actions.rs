//! Custom actions, small functions on the shared pieces: `transfer_ownership`, `resend`, the
//! writable `api_scopes` relationship of API credentials, and the refusal of relationship
//! updates nothing supports.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde_json::Value;

use crate::db::grants;
use crate::db::schema::memberships as membership_rows;
use crate::domain::policy::{Action, RoleKind};
use crate::domain::{now, parse_email};
use crate::error::{ApiError, Invalid, Source};
use crate::http::state::{Reading, Writing};
use crate::jsonapi::document::{Mode, ResourceDocument};
use crate::jsonapi::media::Document;
use crate::resources::api_credentials::{change_grants, ApiCredentials, Change};
use crate::resources::memberships::{self, Memberships};
use crate::resources::organizations::Organizations;
use crate::resources::roles;
use crate::resources::users;
use crate::resources::write::forbid;
use crate::spec::{Attribute, Kind, ResourceSpec, Tenancy, REQUIRED, UPDATE};
use crate::views::{self, respond};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::http::endpoint::resource("/organizations/{id}/transfer_ownership", "PATCH".into())
            .route(web::patch().to(transfer_ownership)),
    )
    .service(crate::http::endpoint::resource("/memberships/{id}/resend", "POST".into()).route(web::post().to(resend)))
    .service(
        crate::http::endpoint::resource(
            "/api_credentials/{id}/relationships/api_scopes",
            "GET, POST, PATCH, DELETE".into(),
        )
        .route(web::get().to(|reading: Reading, id: web::Path<String>| {
            let path = web::Path::from((id.into_inner(), "api_scopes".to_string()));
            crate::http::read::linkage::<ApiCredentials>(reading, path)
        }))
        .route(
            web::post()
                .to(|w: Writing, id: web::Path<String>, b: Document| grant_scopes(w, id.into_inner(), b, Change::Add)),
        )
        .route(
            web::patch().to(|w: Writing, id: web::Path<String>, b: Document| {
                grant_scopes(w, id.into_inner(), b, Change::Replace)
            }),
        )
        .route(
            web::delete().to(|w: Writing, id: web::Path<String>, b: Document| {
                grant_scopes(w, id.into_inner(), b, Change::Remove)
            }),
        ),
    );
}

/// JSON:API 1.1 §9.3: a relationship update the server does not support is forbidden.
pub async fn unsupported_relationship_update(path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (_, name) = path.into_inner();
    Err(ApiError::Forbidden {
        detail: format!("The relationship {name} cannot be changed here."),
        location: Source::None,
    })
}

/// What `transfer_ownership` accepts: one attribute, on the organization's own document.
pub static TRANSFER: ResourceSpec = ResourceSpec {
    type_name: "organizations",
    attributes: &[Attribute::new("new_owner_email", Kind::String, REQUIRED | UPDATE)],
    relationships: &[],
    tenancy: Tenancy::Organization,
};

fn new_owner(body: &[u8], id: &str) -> Result<String, ApiError> {
    let document = ResourceDocument::decode(body, &TRANSFER, Mode::Singleton { id })?;
    let mut errors = Vec::new();
    let email = document.string("new_owner_email", &mut errors).value();
    match email.as_deref().map(parse_email) {
        Some(Ok(email)) => Ok(email),
        _ if !errors.is_empty() => Err(ApiError::Validation(errors)),
        _ => Err(ApiError::invalid(Invalid::attribute("new_owner_email", "new_owner_email must be an email address."))),
    }
}

/// `PATCH /organizations/:id/transfer_ownership`: the owner hands the organization to another
/// active member, who becomes owner with the admin role. 202.
async fn transfer_ownership(writing: Writing, id: web::Path<String>, body: Document) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let email = new_owner(&body.0, &id);
    writing
        .state
        .write(writing.author, move |tx| {
            let email = email?;
            tx.find::<Organizations>(&id, Action::Read)?;
            // Who is who goes by user id: an email can change hands, a user id cannot.
            let current = memberships::of_user(tx.conn, &id, &tx.caller.user_id)?.filter(|m| m.owner);
            let Some(current) = current else {
                return Err(forbid("Only the organization's owner can transfer its ownership."));
            };
            let next = match users::find_by_email(tx.conn, &email)? {
                Some(user) => memberships::of_user(tx.conn, &id, &user.id)?.filter(|m| m.status == "active"),
                None => None,
            };
            let Some(next) = next else {
                return Err(ApiError::invalid(Invalid::attribute(
                    "new_owner_email",
                    "The new owner must be an active member of the organization.",
                )));
            };
            if next.id == current.id {
                return Ok(());
            }
            let admin = roles::builtin(tx.conn, &id, RoleKind::Admin)?
                .ok_or_else(|| ApiError::internal("organization without admin role"))?;
            for (membership, owner) in [(&current, false), (&next, true)] {
                diesel::update(membership_rows::table.find(&membership.id))
                    .set((
                        membership_rows::owner.eq(owner),
                        membership_rows::role_id.eq(&admin.id),
                        membership_rows::updated_at.eq(now()),
                    ))
                    .execute(tx.conn)?;
                tx.updated::<Memberships>(membership, "transfer_ownership")?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// `POST /memberships/:id/resend`: the invitation of a pending membership is mailed again, and
/// its time recorded and versioned.
async fn resend(writing: Writing, id: web::Path<String>, body: Document) -> Result<HttpResponse, ApiError> {
    let Writing { state, author, .. } = writing;
    let id = id.into_inner();
    // No body, or a JSON object (`{"data": {}}` as clients send); nothing else.
    let checked = match body.0.is_empty() {
        true => Ok(()),
        false => match serde_json::from_slice::<Value>(&body.0) {
            Ok(Value::Object(document)) => match crate::jsonapi::text::nul_in(&Value::Object(document)) {
                Some(pointer) => Err(ApiError::document(pointer, "Text must not contain a NUL character.")),
                None => Ok(()),
            },
            Ok(_) => Err(ApiError::document("", "The body of resend is empty or a JSON object.")),
            Err(e) => Err(ApiError::BadRequest {
                code: "INVALID_DOCUMENT",
                detail: format!("The request body is not valid JSON: {e}."),
                location: Source::None,
            }),
        },
    };
    state
        .write(author, move |tx| {
            checked?;
            let membership = tx.find::<Memberships>(&id, Action::Update)?;
            if membership.status != "pending" {
                return Err(ApiError::invalid(Invalid {
                    location: Source::None,
                    detail: "Only a pending membership has an invitation to resend.".into(),
                }));
            }
            diesel::update(membership_rows::table.find(&id))
                .set(membership_rows::invited_at.eq(now()))
                .execute(tx.conn)?;
            let membership = tx.updated::<Memberships>(&membership, "resend")?;
            memberships::invite(tx, &membership)
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// The scope ids of a to-many linkage document (`{"data": [{"type": "api_scopes", "id": …}]}`),
/// each once.
fn decode_scope_linkage(body: &[u8]) -> Result<Vec<String>, ApiError> {
    let document: Value = serde_json::from_slice(body).map_err(|e| ApiError::BadRequest {
        code: "INVALID_DOCUMENT",
        detail: format!("The request body is not valid JSON: {e}."),
        location: Source::None,
    })?;
    if let Some(pointer) = crate::jsonapi::text::nul_in(&document) {
        return Err(ApiError::document(pointer, "Text must not contain a NUL character."));
    }
    let Some(Value::Array(items)) = document.get("data") else {
        return Err(ApiError::document(
            "/data",
            "A to-many relationship takes data: an array of resource identifiers.",
        ));
    };
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match (item.get("type").and_then(Value::as_str), item.get("id").and_then(Value::as_str)) {
            (Some("api_scopes"), Some(id)) if !ids.iter().any(|known| known == id) => ids.push(id.to_string()),
            (Some("api_scopes"), Some(_)) => {}
            (Some(other), Some(_)) => {
                return Err(ApiError::conflict(
                    format!("/data/{i}/type"),
                    format!("Expected api_scopes, not {other:?}."),
                ))
            }
            _ => return Err(ApiError::document(format!("/data/{i}"), "A resource identifier needs a type and an id.")),
        }
    }
    Ok(ids)
}

/// `POST|PATCH|DELETE /api_credentials/:id/relationships/api_scopes`.
async fn grant_scopes(writing: Writing, id: String, body: Document, change: Change) -> Result<HttpResponse, ApiError> {
    let Writing { state, author, .. } = writing;
    let scope_ids = decode_scope_linkage(&body.0);
    let credential_id = id.clone();
    let ids = state
        .write(author, move |tx| {
            let scope_ids = scope_ids?;
            let credential = tx.find::<ApiCredentials>(&credential_id, Action::Update)?;
            if change_grants(tx, &credential, &scope_ids, change, "/data")? {
                tx.updated::<ApiCredentials>(&credential, "update")?;
            }
            Ok(grants::granted_scope_ids(tx.conn, &credential_id)?)
        })
        .await?;
    Ok(respond(
        StatusCode::OK,
        views::linkage(
            state.links(),
            &crate::resources::api_credentials::SPEC,
            &id,
            "api_scopes",
            "api_scopes",
            true,
            &ids,
        ),
    ))
}
