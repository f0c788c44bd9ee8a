//! `/api/api_credentials` and `/api/application_memberships`: their writes. A new or rotated
//! secret is returned once, in the response that made it; only its argon2id hash is kept.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde_json::Value;

use crate::auth::Caller;
use crate::db::access_rows::{self as rows};
use crate::db::credentials::{self, ApiCredential, ApiCredentials, ApplicationMembership, ApplicationMemberships};
use crate::db::schema::{api_credentials, application_memberships};
use crate::domain::access::{authorize, Action};
use crate::domain::credentials::{
    check_expires_in, parse_name, parse_redirect_uri, read_new, DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS,
};
use crate::domain::secrets::{generate_client_id, generate_client_secret, hash_secret};
use crate::domain::{now, Common, Reader};
use crate::error::{ApiError, Invalid};
use crate::http::access::audit;
use crate::http::apis::{apply_grants, Change};
use crate::http::auth::RequestContext;
use crate::http::{linked_id, load_for, reply, routes, with_includes, State};
use crate::jsonapi::document::{Given, Mode, ResourceDocument};
use crate::jsonapi::media::Body;
use crate::jsonapi::query::{Allowed, Query};
use crate::views::credentials::{
    render_application_membership, render_credential, API_CREDENTIALS, APPLICATION_MEMBERSHIPS,
};
use crate::views::ResourceObject;

pub fn configure(cfg: &mut web::ServiceConfig) {
    routes(cfg, &ApiCredentials, "GET, POST", "GET, PATCH, DELETE", |c, m| {
        (
            c.route(web::post().to(create_credential)),
            m.route(web::patch().to(update_credential)).route(web::delete().to(delete_credential)),
        )
    });
    routes(cfg, &ApplicationMemberships, "GET, POST", "GET, PATCH, DELETE", |c, m| {
        (
            c.route(web::post().to(create_application_membership)),
            m.route(web::patch().to(update_application_membership))
                .route(web::delete().to(delete_application_membership)),
        )
    });
}

/// The role a credential or application membership names must be one of its organization's.
fn role_of_organization(
    conn: &mut crate::db::AnyConnection,
    role_id: &str,
    organization_id: &str,
) -> Result<(), ApiError> {
    match rows::find_role(conn, role_id)? {
        Some(role) if role.organization_id == organization_id => Ok(()),
        _ => Err(ApiError::invalid(Invalid::relationship("role", "role must be one of this organization's roles."))),
    }
}

/// Shows a secret in the one response that made it.
fn with_secret(mut object: ResourceObject, secret: Option<String>) -> ResourceObject {
    if let Some(secret) = secret {
        object.attributes.insert("client_secret".into(), Value::String(secret));
    }
    object
}

async fn create_credential(
    state: State,
    request: HttpRequest,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(&API_CREDENTIALS, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &API_CREDENTIALS, Mode::Create)?;
    let role_id = linked_id(&document, "role").flatten();
    let scopes = crate::http::apis::linked_scopes(&document);
    let mut reader = Reader::new(&document);
    let values = read_new(&mut reader, role_id.is_some());
    let common = Common::read(&mut reader);
    reader.finish()?;
    let values = values.expect("a document without errors has every value");
    let organization_id =
        linked_id(&document, "organization").flatten().expect("required relationships are checked when decoded");
    let audit = audit(&caller, &context);
    // The secret is made and hashed (argon2id, slow) on the blocking pool, outside the
    // transaction and the SQLite writer's turn.
    let secret = (values.auth_method.starts_with("client_secret")).then(generate_client_secret);
    let hash = match secret.clone() {
        Some(secret) => Some(web::block(move || hash_secret(&secret)).await?),
        None => None,
    };
    state
        .db
        .transaction(move |conn| {
            let missing = || ApiError::not_found("organizations", &organization_id);
            authorize(conn, &caller, &organization_id, "api_credentials", Action::Create, missing)?;
            if let Some(role_id) = &role_id {
                role_of_organization(conn, role_id, &organization_id)?;
            }
            let now = now();
            let credential = ApiCredential {
                id: crate::domain::new_id(),
                organization_id,
                role_id,
                name: values.name,
                kind: values.kind,
                redirect_uri: values.redirect_uri,
                expires_in: values.expires_in,
                mode: values.mode,
                custom: values.custom,
                auth_method: values.auth_method,
                public_key: values.public_key,
                confidential: values.confidential,
                scopes: String::new(),
                client_id: generate_client_id(),
                client_secret_hash: hash,
                secret_version: 1,
                client_secret_expires_at: None,
                previous_secret_hash: None,
                client_secret_previous_expires_at: None,
                reference: common.reference.value(),
                reference_origin: common.reference_origin.value(),
                metadata: common.metadata.unwrap_or_else(|| "{}".into()),
                created_at: now,
                updated_at: now,
            };
            credentials::insert(conn, &credential)?;
            let id = credential.id.clone();
            if let Some(scopes) = scopes {
                let pointer = "/data/relationships/api_scopes";
                apply_grants(conn, &id, &credential.organization_id, &scopes, Change::Replace, pointer)?;
            }
            let object =
                credentials::find(conn, &id)?.map(render_credential).ok_or_else(|| ApiError::internal("vanished"))?;
            rows::record(conn, &audit, "create", None, Some(&object))?;
            with_includes(conn, &caller, with_secret(object, secret), query)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::CREATED, rendered))
}

async fn update_credential(
    state: State,
    request: HttpRequest,
    id: web::Path<String>,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let query = Query::parse(&API_CREDENTIALS, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &API_CREDENTIALS, Mode::Update { id: &id })?;
    let mut reader = Reader::new(&document);
    let name = reader.string("name", parse_name);
    let name = reader.not_null("name", name);
    let redirect_uri = reader.string("redirect_uri", parse_redirect_uri);
    let expires_in = match document.integer("expires_in", &mut reader.errors) {
        Given::Value(v) => Some(check_expires_in(&mut reader, v)),
        Given::Null => {
            reader.errors.push(Invalid::attribute("expires_in", "expires_in cannot be null."));
            None
        }
        Given::Absent => None,
    };
    let rotate = document.trigger("_rotate_secret", &mut reader.errors);
    let grace = match document.integer("_rotate_secret_grace_seconds", &mut reader.errors) {
        Given::Value(v) if (0..=MAX_GRACE_SECONDS).contains(&v) => v,
        Given::Value(_) | Given::Null => {
            reader.errors.push(Invalid::attribute(
                "_rotate_secret_grace_seconds",
                format!("_rotate_secret_grace_seconds must be from 0 to {MAX_GRACE_SECONDS}."),
            ));
            0
        }
        Given::Absent => DEFAULT_GRACE_SECONDS,
    };
    if document.attributes.contains_key("_rotate_secret_grace_seconds") && !rotate {
        reader.errors.push(Invalid::attribute(
            "_rotate_secret_grace_seconds",
            "_rotate_secret_grace_seconds goes with _rotate_secret: true.",
        ));
    }
    let common = Common::read(&mut reader);
    reader.finish()?;
    let role = linked_id(&document, "role");
    let scopes = crate::http::apis::linked_scopes(&document);
    let audit = audit(&caller, &context);
    // Decide the new secret before the transaction: hashing is slow.
    let secret = if rotate { Some(generate_client_secret()) } else { None };
    let hash = match secret.clone() {
        Some(secret) => Some(web::block(move || hash_secret(&secret)).await?),
        None => None,
    };
    let cache_state = state.clone();
    state
        .db
        .transaction(move |conn| {
            let before = load_for(conn, &caller, &ApiCredentials, &id, Action::Update)?;
            let credential =
                credentials::find(conn, &id)?.ok_or_else(|| ApiError::not_found("api_credentials", &id))?;
            let role_id = match role {
                Some(Some(role_id)) if credential.kind == "integration" => {
                    role_of_organization(conn, &role_id, &credential.organization_id)?;
                    Some(Some(role_id))
                }
                Some(None) if credential.kind == "integration" => {
                    return Err(ApiError::invalid(Invalid::relationship("role", "An integration needs a role.")))
                }
                Some(_) => {
                    return Err(ApiError::invalid(Invalid::relationship(
                        "role",
                        format!("A {} takes no role.", credential.kind),
                    )))
                }
                None => None,
            };
            if credential.kind == "webapp" && matches!(redirect_uri, Given::Null) {
                return Err(ApiError::invalid(Invalid::attribute("redirect_uri", "A webapp needs a redirect_uri.")));
            }
            if hash.is_some() && credential.client_secret_hash.is_none() {
                return Err(ApiError::invalid(Invalid::attribute(
                    "_rotate_secret",
                    format!("This client has no secret to rotate (auth_method {}).", credential.auth_method),
                )));
            }
            let now = now();
            let rotation = hash.map(|hash| {
                (
                    api_credentials::client_secret_hash.eq(Some(hash)),
                    api_credentials::secret_version.eq(credential.secret_version + 1),
                    api_credentials::previous_secret_hash.eq(credential.client_secret_hash.clone()),
                    api_credentials::client_secret_previous_expires_at.eq(Some(now + chrono::Duration::seconds(grace))),
                )
            });
            diesel::update(api_credentials::table.find(&id))
                .set((
                    name.map(|v| api_credentials::name.eq(v)),
                    redirect_uri.into_change().map(|v| api_credentials::redirect_uri.eq(v)),
                    expires_in.map(|v| api_credentials::expires_in.eq(v)),
                    role_id.map(|v| api_credentials::role_id.eq(v)),
                    crate::common_changes!(api_credentials, common, now),
                ))
                .execute(conn)?;
            if let Some(scopes) = scopes {
                let pointer = "/data/relationships/api_scopes";
                apply_grants(conn, &id, &credential.organization_id, &scopes, Change::Replace, pointer)?;
            }
            if let Some(rotation) = rotation {
                diesel::update(api_credentials::table.find(&id)).set(rotation).execute(conn)?;
                cache_state.secrets.forget(&credential.client_id);
            }
            let after = credentials::find(conn, &id)?
                .map(render_credential)
                .ok_or_else(|| ApiError::internal("credential vanished"))?;
            if !rows::changes(Some(&before), Some(&after)).is_empty() || secret.is_some() {
                rows::record(
                    conn,
                    &audit,
                    if secret.is_some() { "rotate_secret" } else { "update" },
                    Some(&before),
                    Some(&after),
                )?;
            }
            with_includes(conn, &caller, with_secret(after, secret), query)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::OK, rendered))
}

async fn delete_credential(
    state: State,
    id: web::Path<String>,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = audit(&caller, &context);
    let client_id = state
        .db
        .transaction(move |conn| {
            let before = load_for(conn, &caller, &ApiCredentials, &id, Action::Destroy)?;
            diesel::delete(application_memberships::table.filter(application_memberships::api_credential_id.eq(&id)))
                .execute(conn)?;
            diesel::delete(api_credentials::table.find(&id)).execute(conn)?;
            rows::record(conn, &audit, "destroy", Some(&before), None)?;
            Ok(before.attributes.get("client_id").and_then(Value::as_str).unwrap_or_default().to_string())
        })
        .await?;
    state.secrets.forget(&client_id);
    Ok(HttpResponse::NoContent().finish())
}

// Application memberships

/// Every related record of an application membership belongs to its organization.
fn check_application_membership(
    conn: &mut crate::db::AnyConnection,
    organization_id: &str,
    credential_id: Option<&str>,
    role_id: Option<&str>,
    membership_id: Option<&str>,
    profile_id: Option<&str>,
) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    if let Some(id) = credential_id {
        if credentials::find(conn, id)?.is_none_or(|c| c.organization_id != organization_id) {
            problems.push(Invalid::relationship("api_credential", "api_credential must belong to the organization."));
        }
    }
    if let Some(id) = role_id {
        if rows::find_role(conn, id)?.is_none_or(|r| r.organization_id != organization_id) {
            problems.push(Invalid::relationship("role", "role must belong to the organization."));
        }
    }
    if let Some(id) = membership_id {
        if rows::find_membership(conn, id)?.is_none_or(|m| m.organization_id != organization_id) {
            problems.push(Invalid::relationship("membership", "membership must belong to the organization."));
        }
    }
    if let Some(id) = profile_id {
        if rows::find_profile(conn, id)?.is_none_or(|p| p.organization_id != organization_id) {
            problems.push(Invalid::relationship(
                "membership_profile",
                "membership_profile must belong to the organization.",
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(problems))
    }
}

async fn create_application_membership(
    state: State,
    request: HttpRequest,
    body: Body,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(&APPLICATION_MEMBERSHIPS, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &APPLICATION_MEMBERSHIPS, Mode::Create)?;
    let mut reader = Reader::new(&document);
    let filters = reader.object("filters").value();
    let common = Common::read(&mut reader);
    reader.finish()?;
    let link = |name: &str| linked_id(&document, name).flatten();
    let (organization_id, credential_id, role_id) = (
        link("organization").unwrap_or_default(),
        link("api_credential").unwrap_or_default(),
        link("role").unwrap_or_default(),
    );
    let (membership_id, profile_id) = (link("membership"), link("membership_profile"));
    state
        .db
        .transaction(move |conn| {
            let missing = || ApiError::not_found("organizations", &organization_id);
            authorize(conn, &caller, &organization_id, "application_memberships", Action::Create, missing)?;
            check_application_membership(
                conn,
                &organization_id,
                Some(&credential_id),
                Some(&role_id),
                membership_id.as_deref(),
                profile_id.as_deref(),
            )?;
            let now = now();
            let row = ApplicationMembership {
                id: crate::domain::new_id(),
                organization_id,
                api_credential_id: credential_id,
                role_id,
                membership_id,
                membership_profile_id: profile_id,
                filters: filters.unwrap_or_else(|| "{}".into()),
                reference: common.reference.value(),
                reference_origin: common.reference_origin.value(),
                metadata: common.metadata.unwrap_or_else(|| "{}".into()),
                created_at: now,
                updated_at: now,
            };
            diesel::insert_into(application_memberships::table).values(&row).execute(conn)?;
            with_includes(conn, &caller, render_application_membership(row), query)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::CREATED, rendered))
}

async fn update_application_membership(
    state: State,
    request: HttpRequest,
    id: web::Path<String>,
    body: Body,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let query = Query::parse(&APPLICATION_MEMBERSHIPS, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &APPLICATION_MEMBERSHIPS, Mode::Update { id: &id })?;
    let mut reader = Reader::new(&document);
    let filters = reader.object("filters").into_change().map(|f| f.unwrap_or_else(|| "{}".into()));
    let common = Common::read(&mut reader);
    reader.finish()?;
    let role = linked_id(&document, "role");
    if role == Some(None) {
        return Err(ApiError::invalid(Invalid::relationship("role", "role cannot be null.")));
    }
    let (membership, profile) = (linked_id(&document, "membership"), linked_id(&document, "membership_profile"));
    state
        .db
        .transaction(move |conn| {
            load_for(conn, &caller, &ApplicationMemberships, &id, Action::Update)?;
            let row = credentials::find_application_membership(conn, &id)?
                .ok_or_else(|| ApiError::not_found("application_memberships", &id))?;
            let role_id = role.flatten();
            check_application_membership(
                conn,
                &row.organization_id,
                None,
                role_id.as_deref(),
                membership.clone().flatten().as_deref(),
                profile.clone().flatten().as_deref(),
            )?;
            diesel::update(application_memberships::table.find(&id))
                .set((
                    role_id.map(|v| application_memberships::role_id.eq(v)),
                    membership.map(|v| application_memberships::membership_id.eq(v)),
                    profile.map(|v| application_memberships::membership_profile_id.eq(v)),
                    filters.map(|v| application_memberships::filters.eq(v)),
                    crate::common_changes!(application_memberships, common, now()),
                ))
                .execute(conn)?;
            let after = credentials::find_application_membership(conn, &id)?
                .map(render_application_membership)
                .ok_or_else(|| ApiError::internal("vanished"))?;
            with_includes(conn, &caller, after, query)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::OK, rendered))
}

async fn delete_application_membership(
    state: State,
    id: web::Path<String>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db
        .transaction(move |conn| {
            load_for(conn, &caller, &ApplicationMemberships, &id, Action::Destroy)?;
            diesel::delete(application_memberships::table.find(&id)).execute(conn)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
