//! HTTP: the app state, the routes, and the handlers every resource type shares (list, show,
//! related, relationship linkage). Type modules add their writes.

pub mod access;
pub mod apis;
pub mod auth;
pub mod credentials;
pub mod oauth;
pub mod organizations;
pub mod users;

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::auth::keys::KeySet;
use crate::auth::Caller;
use crate::db::resources::{self as shared, ResourceType};
use crate::db::sql::Sql;
use crate::db::{AnyConnection, Database};
use crate::domain::access::{authorize, scope, Action};
use crate::error::ApiError;
use crate::jsonapi::query::{Allowed, Query};
use crate::jsonapi::spec::{Cardinality, Tenancy};
use crate::resources;
use crate::views::{identifier, respond, Renderer, ResourceObject};

pub struct AppState {
    pub db: Database,
    /// `<PUBLIC_URL>/api`: the base of every link we render.
    pub api_base: String,
    /// `<PUBLIC_URL>`: the `iss` of every token.
    pub issuer: String,
    pub keys: Arc<KeySet>,
    /// Recently verified client secrets, so repeat grants skip argon2.
    pub secrets: crate::auth::secret_cache::SecretCache,
    /// Access tokens whose signature was checked already.
    pub verified: crate::auth::verified::VerifiedTokens,
    /// Organizations' domains are `<slug>.<domain_suffix>`.
    pub domain_suffix: String,
}

pub type State = web::Data<AppState>;

/// Mounts every resource type under `/api`.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.configure(users::configure)
        .configure(organizations::configure)
        .configure(access::configure)
        // Before the credentials' generic routes: it adds writes to one relationship endpoint.
        .configure(apis::configure_grants)
        .configure(credentials::configure)
        .configure(apis::configure);
}

/// A `web::Resource` that answers 405 with an `Allow` header for methods it does not route.
pub fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        let mut response = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed);
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static(allow));
        response
    }))
}

/// The collection, member, related and relationship routes every type has for reading.
/// `writes` adds the type's own create, update and delete routes.
pub fn routes(
    cfg: &mut web::ServiceConfig,
    resource_type: &'static dyn ResourceType,
    collection_allow: &'static str,
    member_allow: &'static str,
    writes: impl FnOnce(actix_web::Resource, actix_web::Resource) -> (actix_web::Resource, actix_web::Resource),
) {
    let name = resource_type.spec().type_name;
    let collection = resource(&format!("/{name}"), collection_allow).route(
        web::get()
            .to(move |state: State, request: HttpRequest, caller: Caller| list(state, request, caller, resource_type)),
    );
    let member = resource(&format!("/{name}/{{id}}"), member_allow).route(web::get().to(
        move |state: State, request: HttpRequest, caller: Caller, id: web::Path<String>| {
            show(state, request, caller, resource_type, id.into_inner())
        },
    ));
    let (collection, member) = writes(collection, member);
    cfg.service(collection).service(member);
    cfg.service(resource(&format!("/{name}/{{id}}/relationships/{{relationship}}"), "GET").route(web::get().to(
        move |state: State, caller: Caller, path: web::Path<(String, String)>| {
            let (id, relationship) = path.into_inner();
            linkage(state, caller, resource_type, id, relationship)
        },
    )));
    cfg.service(resource(&format!("/{name}/{{id}}/{{relationship}}"), "GET").route(web::get().to(
        move |state: State, request: HttpRequest, caller: Caller, path: web::Path<(String, String)>| {
            let (id, relationship) = path.into_inner();
            related(state, request, caller, resource_type, id, relationship)
        },
    )));
}

async fn list(
    state: State,
    request: HttpRequest,
    caller: Caller,
    resource_type: &'static dyn ResourceType,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(resource_type.spec(), request.query_string(), Allowed::List)?;
    let path = format!("/{}", resource_type.spec().type_name);
    page(&state, caller, query, path, resource_type, Vec::new()).await
}

/// Renders one page of `resource_type` under `conditions`, limited to what the caller may read.
async fn page(
    state: &State,
    caller: Caller,
    query: Query,
    path: String,
    resource_type: &'static dyn ResourceType,
    mut conditions: Vec<Sql>,
) -> Result<HttpResponse, ApiError> {
    conditions.push(scope(resource_type.spec(), &caller, Some(Action::Read)));
    let (objects, included, count, query) = state
        .db
        .run(move |conn| {
            let (mut objects, count) = shared::list(conn, resource_type, &query, conditions)?;
            let included = included(conn, &caller, &mut objects, &query)?;
            Ok((objects, included, count, query))
        })
        .await?;
    let renderer = Renderer { base: &state.api_base, fields: &query.fields };
    Ok(respond(StatusCode::OK, &renderer.page(&path, &query, &objects, included.as_deref(), count)))
}

/// The included resources when `include` was asked for (an empty list when none matched).
pub fn included(
    conn: &mut AnyConnection,
    caller: &Caller,
    objects: &mut [ResourceObject],
    query: &Query,
) -> Result<Option<Vec<ResourceObject>>, ApiError> {
    if query.include.is_empty() {
        return Ok(None);
    }
    Ok(Some(shared::include(conn, caller, objects, &query.include)?))
}

/// The organization a record belongs to.
pub fn organization_of(object: &ResourceObject) -> Option<&str> {
    match object.spec.tenancy {
        Tenancy::Organization => Some(&object.id),
        Tenancy::OrganizationColumn(column) => object.foreign_key_value(column),
        Tenancy::Caller => None,
    }
}

/// Loads one record for `action`: 404 unless it exists in an organization the caller belongs
/// to, 403 unless their role allows the action on its type.
pub fn load_for(
    conn: &mut AnyConnection,
    caller: &Caller,
    resource_type: &dyn ResourceType,
    id: &str,
    action: Action,
) -> Result<ResourceObject, ApiError> {
    let spec = resource_type.spec();
    let missing = || ApiError::not_found(spec.type_name, id);
    let object = shared::find(conn, resource_type, id, vec![scope(spec, caller, None)])?.ok_or_else(missing)?;
    if let Some(organization_id) = organization_of(&object) {
        authorize(conn, caller, organization_id, spec.type_name, action, missing)?;
    }
    Ok(object)
}

/// One resource with its includes, as a response with `status` (200 for reads and updates,
/// 201 with `Location` for creates).
pub fn single_response(
    state: &AppState,
    status: StatusCode,
    object: &ResourceObject,
    included: Option<&[ResourceObject]>,
    query: &Query,
) -> HttpResponse {
    let renderer = Renderer { base: &state.api_base, fields: &query.fields };
    let mut response = respond(status, &renderer.single(object, included));
    if status == StatusCode::CREATED {
        let location = renderer.self_link(object.type_name(), &object.id);
        if let Ok(value) = header::HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
    response
}

/// A written record with its includes, rendered after its transaction: responses are built on
/// the async worker, never on the blocking pool.
pub type Rendered = (ResourceObject, Option<Vec<ResourceObject>>, Query);

pub fn reply(state: &AppState, status: StatusCode, (object, included, query): Rendered) -> HttpResponse {
    single_response(state, status, &object, included.as_deref(), &query)
}

/// Renders `object` with the includes `query` asks for.
pub fn with_includes(
    conn: &mut AnyConnection,
    caller: &Caller,
    object: ResourceObject,
    query: Query,
) -> Result<(ResourceObject, Option<Vec<ResourceObject>>, Query), ApiError> {
    let mut objects = [object];
    let included = included(conn, caller, &mut objects, &query)?;
    let [object] = objects;
    Ok((object, included, query))
}

async fn show(
    state: State,
    request: HttpRequest,
    caller: Caller,
    resource_type: &'static dyn ResourceType,
    id: String,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(resource_type.spec(), request.query_string(), Allowed::Single)?;
    let (object, included, query) = state
        .db
        .run(move |conn| {
            let object = load_for(conn, &caller, resource_type, &id, Action::Read)?;
            with_includes(conn, &caller, object, query)
        })
        .await?;
    Ok(single_response(&state, StatusCode::OK, &object, included.as_deref(), &query))
}

fn unknown_relationship(resource_type: &dyn ResourceType, name: &str) -> ApiError {
    ApiError::NotFound(format!("{} has no relationship named {name:?}.", resource_type.spec().type_name))
}

/// `GET /<type>/<id>/<relationship>`: the related records, with the same query support as a list.
async fn related(
    state: State,
    request: HttpRequest,
    caller: Caller,
    resource_type: &'static dyn ResourceType,
    id: String,
    name: String,
) -> Result<HttpResponse, ApiError> {
    let relationship =
        resource_type.spec().relationship(&name).ok_or_else(|| unknown_relationship(resource_type, &name))?;
    let source = {
        let (id, caller) = (id.clone(), caller.clone());
        state.db.run(move |conn| load_for(conn, &caller, resource_type, &id, Action::Read)).await?
    };
    let path = format!("/{}/{}/{}", resource_type.spec().type_name, id, relationship.name);
    let target = resources::find(relationship.target);
    match (relationship.cardinality, target) {
        (Cardinality::ToOne { .. }, Some(target)) => {
            let query = Query::parse(target.spec(), request.query_string(), Allowed::Single)?;
            let mut conditions: Vec<_> = shared::related_condition(&source, relationship).into_iter().collect();
            conditions.push(scope(target.spec(), &caller, Some(Action::Read)));
            let found = state
                .db
                .run(move |conn| {
                    let mut select = crate::db::sql::Select::from(target.spec().type_name);
                    select.conditions = conditions;
                    match target.load(conn, &select)?.into_iter().next() {
                        Some(object) => with_includes(conn, &caller, object, query).map(Some),
                        None => Ok(None),
                    }
                })
                .await?;
            match found {
                Some((object, included, query)) => {
                    Ok(single_response(&state, StatusCode::OK, &object, included.as_deref(), &query))
                }
                None => Ok(respond(
                    StatusCode::OK,
                    &serde_json::json!({
                        "data": null,
                        "links": { "self": format!("{}{}", state.api_base, path) },
                        "jsonapi": crate::jsonapi::version_object(),
                    }),
                )),
            }
        }
        (_, Some(target)) => {
            let query = Query::parse(target.spec(), request.query_string(), Allowed::List)?;
            let condition = shared::related_condition(&source, relationship).into_iter().collect();
            page(&state, caller, query, path, target, condition).await
        }
        // The target type is not served yet, so there is nothing behind the relationship.
        (_, None) => {
            let query = Query::default();
            let renderer = Renderer { base: &state.api_base, fields: &query.fields };
            Ok(respond(StatusCode::OK, &renderer.page(&path, &query, &[], None, 0)))
        }
    }
}

/// `GET /<type>/<id>/relationships/<relationship>`: the linkage alone.
async fn linkage(
    state: State,
    caller: Caller,
    resource_type: &'static dyn ResourceType,
    id: String,
    name: String,
) -> Result<HttpResponse, ApiError> {
    let relationship =
        resource_type.spec().relationship(&name).ok_or_else(|| unknown_relationship(resource_type, &name))?;
    let type_name = resource_type.spec().type_name;
    let data = {
        let id = id.clone();
        state
            .db
            .run(move |conn| {
                let source = load_for(conn, &caller, resource_type, &id, Action::Read)?;
                Ok(match relationship.cardinality {
                    Cardinality::ToOne { column } => source
                        .foreign_key_value(column)
                        .map(|target_id| identifier(relationship.target, target_id))
                        .unwrap_or(Value::Null),
                    _ => Value::Array(
                        shared::to_many_ids(conn, &caller, &source, relationship)?
                            .iter()
                            .map(|target_id| identifier(relationship.target, target_id))
                            .collect(),
                    ),
                })
            })
            .await?
    };
    let fields = Default::default();
    let renderer = Renderer { base: &state.api_base, fields: &fields };
    Ok(respond(StatusCode::OK, &renderer.linkage(type_name, &id, relationship.name, data)))
}

/// The id a to-one relationship of the document points at, if it was given.
pub fn linked_id(document: &crate::jsonapi::document::ResourceDocument, name: &str) -> Option<Option<String>> {
    match document.relationship(name) {
        Some(crate::jsonapi::document::Linkage::One(id)) => Some(id.clone()),
        _ => None,
    }
}

/// Unknown paths anywhere: a 404 errors document.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}
