//! HTTP: the app state, the routes, and the handlers every resource type shares (list, show,
//! related, relationship linkage). Type modules add only create and update.

pub mod organizations;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::db::resources::{self as shared, ResourceType};
use crate::db::Database;
use crate::error::ApiError;
use crate::jsonapi::query::{Allowed, Query};
use crate::jsonapi::spec::Cardinality;
use crate::resources;
use crate::views::{identifier, respond, Renderer, ResourceObject};

pub struct AppState {
    pub db: Database,
    /// `<PUBLIC_URL>/api`: the base of every link we render.
    pub api_base: String,
    /// Organizations' domains are `<slug>.<domain_suffix>`.
    pub domain_suffix: String,
}

pub type State = web::Data<AppState>;

/// Mounts every resource type under `/api`.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.configure(organizations::configure);
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
/// `writes` adds the type's own create and update routes.
pub fn routes(
    cfg: &mut web::ServiceConfig,
    resource_type: &'static dyn ResourceType,
    collection_allow: &'static str,
    member_allow: &'static str,
    writes: impl FnOnce(actix_web::Resource, actix_web::Resource) -> (actix_web::Resource, actix_web::Resource),
) {
    let name = resource_type.spec().type_name;
    let collection = resource(&format!("/{name}"), collection_allow)
        .route(web::get().to(move |state: State, request: HttpRequest| list(state, request, resource_type)));
    let member = resource(&format!("/{name}/{{id}}"), member_allow).route(web::get().to(
        move |state: State, request: HttpRequest, id: web::Path<String>| {
            show(state, request, resource_type, id.into_inner())
        },
    ));
    let (collection, member) = writes(collection, member);
    cfg.service(collection).service(member);
    cfg.service(resource(&format!("/{name}/{{id}}/relationships/{{relationship}}"), "GET").route(web::get().to(
        move |state: State, path: web::Path<(String, String)>| {
            let (id, relationship) = path.into_inner();
            linkage(state, resource_type, id, relationship)
        },
    )));
    cfg.service(resource(&format!("/{name}/{{id}}/{{relationship}}"), "GET").route(web::get().to(
        move |state: State, request: HttpRequest, path: web::Path<(String, String)>| {
            let (id, relationship) = path.into_inner();
            related(state, request, resource_type, id, relationship)
        },
    )));
}

async fn list(
    state: State,
    request: HttpRequest,
    resource_type: &'static dyn ResourceType,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(resource_type.spec(), request.query_string(), Allowed::List)?;
    let path = format!("/{}", resource_type.spec().type_name);
    page(&state, query, path, resource_type, Vec::new()).await
}

/// Renders one page of `resource_type` under `conditions`, with includes.
async fn page(
    state: &State,
    query: Query,
    path: String,
    resource_type: &'static dyn ResourceType,
    conditions: Vec<crate::db::sql::Sql>,
) -> Result<HttpResponse, ApiError> {
    let (objects, included, count, query) = state
        .db
        .run(move |conn| {
            let (mut objects, count) = shared::list(conn, resource_type, &query, conditions)?;
            let included = included(conn, &mut objects, &query)?;
            Ok((objects, included, count, query))
        })
        .await?;
    let renderer = Renderer { base: &state.api_base, fields: &query.fields };
    Ok(respond(StatusCode::OK, &renderer.page(&path, &query, &objects, included.as_deref(), count)))
}

/// The included resources when `include` was asked for (an empty list when none matched).
pub fn included(
    conn: &mut crate::db::AnyConnection,
    objects: &mut [ResourceObject],
    query: &Query,
) -> Result<Option<Vec<ResourceObject>>, ApiError> {
    if query.include.is_empty() {
        return Ok(None);
    }
    Ok(Some(shared::include(conn, objects, &query.include)?))
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

async fn show(
    state: State,
    request: HttpRequest,
    resource_type: &'static dyn ResourceType,
    id: String,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(resource_type.spec(), request.query_string(), Allowed::Single)?;
    let (object, included, query) = state
        .db
        .run(move |conn| {
            let object = shared::find(conn, resource_type, &id, Vec::new())?
                .ok_or_else(|| ApiError::not_found(resource_type.spec().type_name, &id))?;
            let mut objects = [object];
            let included = included(conn, &mut objects, &query)?;
            let [object] = objects;
            Ok((object, included, query))
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
    resource_type: &'static dyn ResourceType,
    id: String,
    name: String,
) -> Result<HttpResponse, ApiError> {
    let relationship =
        resource_type.spec().relationship(&name).ok_or_else(|| unknown_relationship(resource_type, &name))?;
    let source = {
        let id = id.clone();
        state
            .db
            .run(move |conn| {
                shared::find(conn, resource_type, &id, Vec::new())?
                    .ok_or_else(|| ApiError::not_found(resource_type.spec().type_name, &id))
            })
            .await?
    };
    let path = format!("/{}/{}/{}", resource_type.spec().type_name, id, relationship.name);
    let target = resources::find(relationship.target);
    match (relationship.cardinality, target) {
        (Cardinality::ToMany { .. }, Some(target)) => {
            let query = Query::parse(target.spec(), request.query_string(), Allowed::List)?;
            let condition = shared::related_condition(&source, relationship).into_iter().collect();
            page(&state, query, path, target, condition).await
        }
        (Cardinality::ToOne { .. }, Some(target)) => {
            let query = Query::parse(target.spec(), request.query_string(), Allowed::Single)?;
            let condition: Vec<_> = shared::related_condition(&source, relationship).into_iter().collect();
            let (object, included, query) = state
                .db
                .run(move |conn| {
                    let mut select = crate::db::sql::Select::from(target.spec().type_name);
                    select.conditions = condition;
                    let mut objects = target.load(conn, &select)?;
                    let included = included(conn, &mut objects, &query)?;
                    Ok((objects.into_iter().next(), included, query))
                })
                .await?;
            match object {
                Some(object) => Ok(single_response(&state, StatusCode::OK, &object, included.as_deref(), &query)),
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
        // The target type is not served yet, so there is nothing behind the relationship.
        (_, None) => {
            let query = Query::parse(resource_type.spec(), "", Allowed::List)?;
            let renderer = Renderer { base: &state.api_base, fields: &query.fields };
            Ok(respond(StatusCode::OK, &renderer.page(&path, &query, &[], None, 0)))
        }
    }
}

/// `GET /<type>/<id>/relationships/<relationship>`: the linkage alone.
async fn linkage(
    state: State,
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
                let source = shared::find(conn, resource_type, &id, Vec::new())?
                    .ok_or_else(|| ApiError::not_found(type_name, &id))?;
                Ok(match relationship.cardinality {
                    Cardinality::ToOne { column } => source
                        .foreign_key_value(column)
                        .map(|target_id| identifier(relationship.target, target_id))
                        .unwrap_or(Value::Null),
                    Cardinality::ToMany { .. } => Value::Array(
                        shared::to_many_ids(conn, relationship, &id)?
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

/// Unknown paths anywhere: a 404 errors document.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}
