//! The reads every type shares: a list, one record, the records behind a relationship, and a
//! relationship's linkage. Each parses its query, then does one hop: authenticate, load
//! through the policy, include; the document is rendered on the async worker. A bad request
//! from a caller whose token no longer counts answers 401, so the query's verdict waits for
//! the authentication.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::domain::policy::{Action, Session};
use crate::error::ApiError;
use crate::http::state::State;
use crate::jsonapi::query::{parse, Allowed};
use crate::resources::model::{record, Resource};
use crate::resources::read::{self, included, linked_ids, related_condition};
use crate::spec::query::Query;
use crate::spec::{Cardinality, Relationship, ResourceSpec};
use crate::views::{self, respond, Record};

pub async fn list<T: Resource>(state: State, request: HttpRequest, session: Session) -> Result<HttpResponse, ApiError> {
    let registry = state.registry;
    let query = parse(registry, T::SPEC, request.query_string(), Allowed::List);
    let target = registry.find(T::SPEC.type_name).ok_or(ApiError::RouteNotFound)?;
    let (records, included, count, query) = state
        .as_caller(session, move |conn, caller| {
            let query = query?;
            let (mut records, count) = read::page(conn, caller, target, &query, Vec::new())?;
            let included = included(conn, caller, registry, &mut records, &query)?;
            Ok((records, included, count, query))
        })
        .await?;
    let path = format!("/{}", T::SPEC.type_name);
    Ok(respond(StatusCode::OK, views::page(state.links(), &path, &query, &records, included.as_deref(), count)))
}

pub async fn show<T: Resource>(
    state: State,
    request: HttpRequest,
    session: Session,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let registry = state.registry;
    let query = parse(registry, T::SPEC, request.query_string(), Allowed::Single);
    let (record, included, query) = state
        .as_caller(session, move |conn, caller| {
            let query = query?;
            let row = read::find::<T>(conn, caller, &id, Action::Read)?.into_inner();
            let mut records = [record::<T>(row)];
            let included = included(conn, caller, registry, &mut records, &query)?;
            let [record] = records;
            Ok((record, included, query))
        })
        .await?;
    Ok(single(&state, StatusCode::OK, &record, included.as_deref(), &query))
}

/// One resource with its includes: 200 for reads and updates, 201 with `Location` for creates.
pub fn single(
    state: &State,
    status: StatusCode,
    record: &Record,
    included: Option<&[Record]>,
    query: &Query,
) -> HttpResponse {
    let mut response = respond(status, views::single(state.links(), record, included, query));
    if status == StatusCode::CREATED {
        if let Ok(value) =
            actix_web::http::header::HeaderValue::from_str(&state.links().resource(record.spec, record.id()))
        {
            response.headers_mut().insert(actix_web::http::header::LOCATION, value);
        }
    }
    response
}

fn relationship_of(spec: &'static ResourceSpec, name: &str) -> Result<&'static Relationship, ApiError> {
    spec.relationship(name)
        .ok_or_else(|| ApiError::NotFound(format!("{} has no relationship named {name:?}.", spec.type_name)))
}

/// `GET /<type>/<id>/<relationship>`: the related records, with the same query support as a
/// list (or a single resource, for a to-one).
pub async fn related<T: Resource>(
    state: State,
    request: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let relationship = relationship_of(T::SPEC, &name)?;
    let registry = state.registry;
    let target = registry.find(relationship.target).ok_or(ApiError::RouteNotFound)?;
    let to_one = matches!(relationship.cardinality, Cardinality::ToOne { .. });
    let allowed = if to_one { Allowed::Single } else { Allowed::List };
    let query = parse(registry, target.spec(), request.query_string(), allowed);
    let source_id = id.clone();
    let (records, included, count, query) = state
        .as_caller(session, move |conn, caller| {
            let query = query?;
            let source = record::<T>(read::find::<T>(conn, caller, &source_id, Action::Read)?.into_inner());
            let condition = related_condition(&source, relationship);
            let (mut records, count) = read::page(conn, caller, target, &query, vec![condition])?;
            let included = included(conn, caller, registry, &mut records, &query)?;
            Ok((records, included, count, query))
        })
        .await?;
    let path = format!("/{}/{id}/{}", T::SPEC.type_name, relationship.name);
    if to_one {
        return Ok(match records.first() {
            Some(record) => single(&state, StatusCode::OK, record, included.as_deref(), &query),
            None => respond(StatusCode::OK, views::null(format!("{}{path}", state.api_base))),
        });
    }
    Ok(respond(StatusCode::OK, views::page(state.links(), &path, &query, &records, included.as_deref(), count)))
}

/// `GET /<type>/<id>/relationships/<relationship>`: the linkage alone.
pub async fn linkage<T: Resource>(
    state: State,
    request: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let relationship = relationship_of(T::SPEC, &name)?;
    let registry = state.registry;
    let query = parse(registry, T::SPEC, request.query_string(), Allowed::Linkage);
    let source_id = id.clone();
    let ids = state
        .as_caller(session, move |conn, caller| {
            query?;
            let source = record::<T>(read::find::<T>(conn, caller, &source_id, Action::Read)?.into_inner());
            Ok(linked_ids(conn, caller, registry, &source, relationship)?)
        })
        .await?;
    let to_many = !matches!(relationship.cardinality, Cardinality::ToOne { .. });
    Ok(respond(
        StatusCode::OK,
        views::linkage(state.links(), T::SPEC, &id, relationship.name, relationship.target, to_many, &ids),
    ))
}
