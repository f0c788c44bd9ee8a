//! `/api/api_resources` and `/api/api_scopes`: their writes; and the scopes granted to API
//! credentials, at `/api/api_credentials/:id/relationships/api_scopes`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde_json::Value;

use crate::auth::Caller;
use crate::db::access_rows as rows;
use crate::db::apis::{self, ApiResource, ApiResources, ApiScope, ApiScopes};
use crate::db::credentials;
use crate::db::schema::{api_resources, api_scopes};
use crate::db::AnyConnection;
use crate::domain::access::{authorize, Action};
use crate::domain::apis::{
    check_ttl, parse_description, parse_identifier, parse_resource_name, parse_scope_name, DEFAULT_ACCESS_TOKEN_TTL,
};
use crate::domain::{now, Common, Reader};
use crate::error::{ApiError, Invalid};
use crate::http::access::audit;
use crate::http::auth::RequestContext;
use crate::http::{linked_id, load_for, reply, routes, with_includes, State};
use crate::jsonapi::document::{Given, Linkage, Mode, ResourceDocument};
use crate::jsonapi::media::Body;
use crate::jsonapi::query::{Allowed, Query};
use crate::views::apis::{render_resource, render_scope, API_RESOURCES, API_SCOPES};
use crate::views::credentials::API_CREDENTIALS;
use crate::views::{identifier, respond, Renderer};

pub fn configure(cfg: &mut web::ServiceConfig) {
    routes(cfg, &ApiResources, "GET, POST", "GET, PATCH, DELETE", |c, m| {
        (
            c.route(web::post().to(create_resource)),
            m.route(web::patch().to(update_resource)).route(web::delete().to(delete_resource)),
        )
    });
    routes(cfg, &ApiScopes, "GET, POST", "GET, PATCH, DELETE", |c, m| {
        (
            c.route(web::post().to(create_scope)),
            m.route(web::patch().to(update_scope)).route(web::delete().to(delete_scope)),
        )
    });
}

/// Registered before the generic relationship routes of `api_credentials`, which it extends
/// with writes (JSON:API 1.1 §9.3: POST adds, DELETE removes, PATCH replaces).
pub fn configure_grants(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::http::resource("/api_credentials/{id}/relationships/api_scopes", "GET, POST, PATCH, DELETE")
            .route(web::get().to(|state: State, caller: Caller, id: web::Path<String>| {
                crate::http::linkage(
                    state,
                    caller,
                    &crate::db::credentials::ApiCredentials,
                    id.into_inner(),
                    "api_scopes".into(),
                )
            }))
            .route(web::post().to(|s: State, c: Caller, x: RequestContext, id: web::Path<String>, b: Body| {
                change_grants(s, c, x, id.into_inner(), b, Change::Add)
            }))
            .route(web::patch().to(|s: State, c: Caller, x: RequestContext, id: web::Path<String>, b: Body| {
                change_grants(s, c, x, id.into_inner(), b, Change::Replace)
            }))
            .route(web::delete().to(|s: State, c: Caller, x: RequestContext, id: web::Path<String>, b: Body| {
                change_grants(s, c, x, id.into_inner(), b, Change::Remove)
            })),
    );
}

fn identifier_taken() -> ApiError {
    ApiError::invalid(Invalid::attribute(
        "identifier",
        "Another API resource of this organization has this identifier.",
    ))
}

/// The organization's credential that serves an API must be of the same organization.
fn application_in(conn: &mut AnyConnection, id: &str, organization_id: &str) -> Result<(), ApiError> {
    match credentials::find(conn, id)? {
        Some(c) if c.organization_id == organization_id => Ok(()),
        _ => Err(ApiError::invalid(Invalid::relationship(
            "application",
            "application must be one of this organization's API credentials.",
        ))),
    }
}

/// At most one default resource per organization: setting one clears the others.
fn clear_other_defaults(conn: &mut AnyConnection, organization_id: &str, keep: &str) -> QueryResult<usize> {
    diesel::update(
        api_resources::table
            .filter(api_resources::organization_id.eq(organization_id))
            .filter(api_resources::id.ne(keep)),
    )
    .set(api_resources::is_default.eq(false))
    .execute(conn)
}

async fn create_resource(
    state: State,
    request: HttpRequest,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(&API_RESOURCES, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &API_RESOURCES, Mode::Create)?;
    let mut reader = Reader::new(&document);
    let name = reader.string("name", parse_resource_name);
    let name = reader.not_null("name", name);
    let identifier = reader.string("identifier", parse_identifier);
    let identifier = reader.not_null("identifier", identifier);
    let description = reader.string("description", parse_description).value();
    let ttl = match document.integer("access_token_ttl", &mut reader.errors) {
        Given::Value(v) => check_ttl(v).unwrap_or_else(|why| {
            reader.errors.push(Invalid::attribute("access_token_ttl", format!("access_token_ttl {why}.")));
            v
        }),
        Given::Null => {
            reader.errors.push(Invalid::attribute("access_token_ttl", "access_token_ttl cannot be null."));
            0
        }
        Given::Absent => DEFAULT_ACCESS_TOKEN_TTL,
    };
    let prefix = reader.boolean("prefix").value().unwrap_or(false);
    let is_default = reader.boolean("is_default").value().unwrap_or(false);
    let common = Common::read(&mut reader);
    reader.finish()?;
    let organization_id = linked_id(&document, "organization").flatten().unwrap_or_default();
    let application_id = linked_id(&document, "application").flatten();
    let audit = audit(&caller, &context);
    state
        .db
        .transaction(move |conn| {
            let missing = || ApiError::not_found("organizations", &organization_id);
            authorize(conn, &caller, &organization_id, "api_resources", Action::Create, missing)?;
            if let Some(application_id) = &application_id {
                application_in(conn, application_id, &organization_id)?;
            }
            let identifier = identifier.unwrap_or_default();
            if apis::resources_of(conn, &organization_id)?.iter().any(|r| r.identifier == identifier) {
                return Err(identifier_taken());
            }
            let now = now();
            let resource = ApiResource {
                id: crate::domain::new_id(),
                organization_id: organization_id.clone(),
                application_id,
                name: name.unwrap_or_default(),
                identifier,
                description,
                access_token_ttl: ttl,
                prefix,
                is_default,
                reference: common.reference.value(),
                reference_origin: common.reference_origin.value(),
                metadata: common.metadata.unwrap_or_else(|| "{}".into()),
                created_at: now,
                updated_at: now,
            };
            diesel::insert_into(api_resources::table).values(&resource).execute(conn).map_err(|e| match e {
                diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                    identifier_taken()
                }
                other => other.into(),
            })?;
            if is_default {
                clear_other_defaults(conn, &organization_id, &resource.id)?;
            }
            let object = render_resource(resource);
            rows::record(conn, &audit, "create", None, Some(&object))?;
            with_includes(conn, &caller, object, query)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::CREATED, rendered))
}

async fn update_resource(
    state: State,
    request: HttpRequest,
    id: web::Path<String>,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let query = Query::parse(&API_RESOURCES, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &API_RESOURCES, Mode::Update { id: &id })?;
    let mut reader = Reader::new(&document);
    let name = reader.string("name", parse_resource_name);
    let name = reader.not_null("name", name);
    let description = reader.string("description", parse_description).into_change();
    let ttl = match document.integer("access_token_ttl", &mut reader.errors) {
        Given::Value(v) => match check_ttl(v) {
            Ok(v) => Some(v),
            Err(why) => {
                reader.errors.push(Invalid::attribute("access_token_ttl", format!("access_token_ttl {why}.")));
                None
            }
        },
        Given::Null => {
            reader.errors.push(Invalid::attribute("access_token_ttl", "access_token_ttl cannot be null."));
            None
        }
        Given::Absent => None,
    };
    let prefix = reader.boolean("prefix");
    let prefix = reader.not_null("prefix", prefix);
    let is_default = reader.boolean("is_default");
    let is_default = reader.not_null("is_default", is_default);
    let common = Common::read(&mut reader);
    reader.finish()?;
    let application = linked_id(&document, "application");
    let audit = audit(&caller, &context);
    state
        .db
        .transaction(move |conn| {
            let before = load_for(conn, &caller, &ApiResources, &id, Action::Update)?;
            let resource = apis::find_resource(conn, &id)?.ok_or_else(|| ApiError::not_found("api_resources", &id))?;
            if let Some(Some(application_id)) = &application {
                application_in(conn, application_id, &resource.organization_id)?;
            }
            diesel::update(api_resources::table.find(&id))
                .set((
                    name.map(|v| api_resources::name.eq(v)),
                    description.map(|v| api_resources::description.eq(v)),
                    ttl.map(|v| api_resources::access_token_ttl.eq(v)),
                    prefix.map(|v| api_resources::prefix.eq(v)),
                    is_default.map(|v| api_resources::is_default.eq(v)),
                    application.map(|v| api_resources::application_id.eq(v)),
                    crate::common_changes!(api_resources, common, now()),
                ))
                .execute(conn)?;
            if is_default == Some(true) {
                clear_other_defaults(conn, &resource.organization_id, &id)?;
            }
            let after =
                apis::find_resource(conn, &id)?.map(render_resource).ok_or_else(|| ApiError::internal("vanished"))?;
            if !rows::changes(Some(&before), Some(&after)).is_empty() {
                rows::record(conn, &audit, "update", Some(&before), Some(&after))?;
            }
            with_includes(conn, &caller, after, query)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::OK, rendered))
}

/// Deleting a resource deletes its scopes and their grants.
async fn delete_resource(
    state: State,
    id: web::Path<String>,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = audit(&caller, &context);
    state
        .db
        .transaction(move |conn| {
            let before = load_for(conn, &caller, &ApiResources, &id, Action::Destroy)?;
            let scope_ids: Vec<String> =
                api_scopes::table.filter(api_scopes::api_resource_id.eq(&id)).select(api_scopes::id).load(conn)?;
            let holders = apis::grantees(conn, &scope_ids)?;
            apis::revoke_all(conn, &scope_ids)?;
            diesel::delete(api_scopes::table.filter(api_scopes::api_resource_id.eq(&id))).execute(conn)?;
            diesel::delete(api_resources::table.find(&id)).execute(conn)?;
            apis::refresh_credential_scopes(conn, &holders)?;
            rows::record(conn, &audit, "destroy", Some(&before), None)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn scope_name_taken() -> ApiError {
    ApiError::invalid(Invalid::attribute("name", "This API resource already has a scope with this name."))
}

async fn create_scope(
    state: State,
    request: HttpRequest,
    body: Body,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(&API_SCOPES, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &API_SCOPES, Mode::Create)?;
    let mut reader = Reader::new(&document);
    let name = reader.string("name", parse_scope_name);
    let name = reader.not_null("name", name);
    let description = reader.string("description", parse_description).value();
    let common = Common::read(&mut reader);
    reader.finish()?;
    let resource_id = linked_id(&document, "api_resource").flatten().unwrap_or_default();
    let organization = linked_id(&document, "organization");
    state
        .db
        .transaction(move |conn| {
            let missing = || ApiError::not_found("api_resources", &resource_id);
            let resource = apis::find_resource(conn, &resource_id)?.ok_or_else(missing)?;
            authorize(conn, &caller, &resource.organization_id, "api_scopes", Action::Create, missing)?;
            if organization.is_some_and(|o| o.as_deref() != Some(resource.organization_id.as_str())) {
                return Err(ApiError::invalid(Invalid::relationship(
                    "organization",
                    "organization must be the API resource's.",
                )));
            }
            let name = name.unwrap_or_default();
            let taken: i64 = api_scopes::table
                .filter(api_scopes::api_resource_id.eq(&resource.id))
                .filter(api_scopes::name.eq(&name))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Err(scope_name_taken());
            }
            let now = now();
            let scope = ApiScope {
                id: crate::domain::new_id(),
                organization_id: resource.organization_id,
                api_resource_id: resource.id,
                name,
                description,
                reference: common.reference.value(),
                reference_origin: common.reference_origin.value(),
                metadata: common.metadata.unwrap_or_else(|| "{}".into()),
                created_at: now,
                updated_at: now,
            };
            diesel::insert_into(api_scopes::table).values(&scope).execute(conn).map_err(|e| match e {
                diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                    scope_name_taken()
                }
                other => other.into(),
            })?;
            with_includes(conn, &caller, render_scope(scope), query)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::CREATED, rendered))
}

async fn update_scope(
    state: State,
    request: HttpRequest,
    id: web::Path<String>,
    body: Body,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let query = Query::parse(&API_SCOPES, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &API_SCOPES, Mode::Update { id: &id })?;
    let mut reader = Reader::new(&document);
    let name = reader.string("name", parse_scope_name);
    let name = reader.not_null("name", name);
    let description = reader.string("description", parse_description).into_change();
    let common = Common::read(&mut reader);
    reader.finish()?;
    state
        .db
        .transaction(move |conn| {
            load_for(conn, &caller, &ApiScopes, &id, Action::Update)?;
            let scope = apis::find_scope(conn, &id)?.ok_or_else(|| ApiError::not_found("api_scopes", &id))?;
            if let Some(name) = &name {
                let taken: i64 = api_scopes::table
                    .filter(api_scopes::api_resource_id.eq(&scope.api_resource_id))
                    .filter(api_scopes::name.eq(name))
                    .filter(api_scopes::id.ne(&id))
                    .count()
                    .get_result(conn)?;
                if taken > 0 {
                    return Err(scope_name_taken());
                }
            }
            diesel::update(api_scopes::table.find(&id))
                .set((
                    name.map(|v| api_scopes::name.eq(v)),
                    description.map(|v| api_scopes::description.eq(v)),
                    crate::common_changes!(api_scopes, common, now()),
                ))
                .execute(conn)?;
            let holders = apis::grantees(conn, std::slice::from_ref(&id))?;
            apis::refresh_credential_scopes(conn, &holders)?;
            let after = apis::find_scope(conn, &id)?.map(render_scope).ok_or_else(|| ApiError::internal("vanished"))?;
            with_includes(conn, &caller, after, query)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::OK, rendered))
}

async fn delete_scope(state: State, id: web::Path<String>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db
        .transaction(move |conn| {
            load_for(conn, &caller, &ApiScopes, &id, Action::Destroy)?;
            let holders = apis::grantees(conn, std::slice::from_ref(&id))?;
            apis::revoke_all(conn, std::slice::from_ref(&id))?;
            diesel::delete(api_scopes::table.find(&id)).execute(conn)?;
            apis::refresh_credential_scopes(conn, &holders)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Add,
    Remove,
    Replace,
}

/// Checks that every scope exists and belongs to the credential's organization (else 422 at
/// the relationship), and applies the change; refreshes the credential's `scopes` attribute.
pub fn apply_grants(
    conn: &mut AnyConnection,
    credential_id: &str,
    organization_id: &str,
    scope_ids: &[String],
    change: Change,
    pointer: &str,
) -> Result<bool, ApiError> {
    for scope_id in scope_ids {
        if apis::find_scope(conn, scope_id)?.is_none_or(|s| s.organization_id != organization_id) {
            return Err(ApiError::Validation(vec![Invalid {
                location: crate::error::Source::pointer(pointer),
                detail: format!("{scope_id} is not one of this organization's API scopes."),
            }]));
        }
    }
    let changed = match change {
        Change::Add => apis::grant(conn, credential_id, scope_ids)? > 0,
        Change::Remove => apis::revoke_grants(conn, credential_id, scope_ids)? > 0,
        Change::Replace => {
            let existing = apis::granted_scope_ids(conn, credential_id)?;
            let stale: Vec<String> = existing.iter().filter(|id| !scope_ids.contains(id)).cloned().collect();
            let removed = apis::revoke_grants(conn, credential_id, &stale)?;
            removed + apis::grant(conn, credential_id, scope_ids)? > 0
        }
    };
    apis::refresh_credential_scopes(conn, &[credential_id.to_string()])?;
    Ok(changed)
}

/// The scope ids of a to-many linkage document (`{"data": [{"type": "api_scopes", "id": …}]}`).
fn decode_scope_linkage(body: &[u8]) -> Result<Vec<String>, ApiError> {
    let document: Value = serde_json::from_slice(body).map_err(|e| ApiError::BadRequest {
        code: "INVALID_DOCUMENT",
        detail: format!("The request body is not valid JSON: {e}."),
        location: crate::error::Source::None,
    })?;
    let Some(Value::Array(items)) = document.get("data") else {
        return Err(ApiError::document(
            "/data",
            "A to-many relationship takes data: an array of resource identifiers.",
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match (item.get("type").and_then(Value::as_str), item.get("id").and_then(Value::as_str)) {
            (Some("api_scopes"), Some(id)) => Ok(id.to_string()),
            (Some(other), Some(_)) => {
                Err(ApiError::conflict(format!("/data/{i}/type"), format!("Expected api_scopes, not {other:?}.")))
            }
            _ => Err(ApiError::document(format!("/data/{i}"), "A resource identifier needs a type and an id.")),
        })
        .collect()
}

async fn change_grants(
    state: State,
    caller: Caller,
    context: RequestContext,
    id: String,
    body: Body,
    change: Change,
) -> Result<HttpResponse, ApiError> {
    let scope_ids = decode_scope_linkage(&body.0)?;
    let audit = audit(&caller, &context);
    let (credential_id, ids) = {
        let id = id.clone();
        state
            .db
            .transaction(move |conn| {
                let before = load_for(conn, &caller, &crate::db::credentials::ApiCredentials, &id, Action::Update)?;
                let organization_id = before.foreign_key_value("organization_id").unwrap_or_default().to_string();
                if apply_grants(conn, &id, &organization_id, &scope_ids, change, "/data")? {
                    let after = credentials::find(conn, &id)?.map(crate::views::credentials::render_credential);
                    rows::record(conn, &audit, "update", Some(&before), after.as_ref())?;
                }
                Ok((id.clone(), apis::granted_scope_ids(conn, &id)?))
            })
            .await?
    };
    let data = Value::Array(ids.iter().map(|scope| identifier("api_scopes", scope)).collect());
    let fields = Default::default();
    let renderer = Renderer { base: &state.api_base, fields: &fields };
    Ok(respond(StatusCode::OK, &renderer.linkage(API_CREDENTIALS.type_name, &credential_id, "api_scopes", data)))
}

/// The scope ids a credential document links under `api_scopes`, when it does.
pub fn linked_scopes(document: &ResourceDocument) -> Option<Vec<String>> {
    match document.relationship("api_scopes") {
        Some(Linkage::Many(ids)) => Some(ids.clone()),
        _ => None,
    }
}
