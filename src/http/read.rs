//! The reads every type shares: a list, one record, the records behind a relationship, and a
//! relationship's linkage. Each parses its query, then does one hop: authenticate, load
//! through the policy, include; the document is rendered on the async worker. A bad request
//! from a caller whose token no longer counts answers 401, so the query's verdict waits for
//! the authentication.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};

use crate::domain::policy::Action;
use crate::error::ApiError;
use crate::http::answers::{self, Answer};
use crate::http::state::{Reading, State};
use crate::jsonapi::query::{parse, Allowed};
use crate::resources::model::{record, Resource};
use crate::resources::read::{self, included, linked_ids, related_condition};
use crate::spec::query::Query;
use crate::spec::{Cardinality, Relationship, ResourceSpec};
use crate::views::{self, respond, Record};

/// Answers a read with the body `read` renders, and keeps it for the same caller and target
/// while the database does not change (the gate answers it again: `answers`).
async fn kept<F, R>(mut reading: Reading, read: R) -> Result<HttpResponse, ApiError>
where
    R: FnOnce(Reading) -> F,
    F: std::future::Future<Output = Result<Vec<u8>, ApiError>>,
{
    let state = reading.state.clone();
    let read_at = state.db.stamp();
    let keep = reading.keep.take();
    let body = read(reading).await?;
    metrics::counter!("reads_answered_total", "from" => "database").increment(1);
    let Some(((asked, route), read_at)) = keep.zip(read_at) else {
        return Ok(answers::fresh(body));
    };
    let answer = Answer::new(body, route);
    state.answers.keep(read_at, state.db.stamp(), asked, &answer);
    Ok(answer.response())
}

pub async fn list<T: Resource>(reading: Reading) -> Result<HttpResponse, ApiError> {
    kept(reading, list_body::<T>).await
}

async fn list_body<T: Resource>(reading: Reading) -> Result<Vec<u8>, ApiError> {
    let Reading { state, query, session, .. } = reading;
    let registry = state.registry;
    let query = parse(registry, T::SPEC, &query, Allowed::List);
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
    Ok(views::page(state.links(), &path, &query, &records, included.as_deref(), count))
}

pub async fn show<T: Resource>(reading: Reading, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    show_at::<T>(reading, id.into_inner()).await
}

/// Record `id` with its includes.
pub async fn show_at<T: Resource>(reading: Reading, id: String) -> Result<HttpResponse, ApiError> {
    kept(reading, |reading| show_body::<T>(reading, id)).await
}

async fn show_body<T: Resource>(reading: Reading, id: String) -> Result<Vec<u8>, ApiError> {
    let Reading { state, query, session, .. } = reading;
    let registry = state.registry;
    let query = parse(registry, T::SPEC, &query, Allowed::Single);
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
    Ok(views::single(state.links(), &record, included.as_deref(), &query))
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
    if record.reveal.is_some() {
        // A secret shown once must not be kept by any cache (RFC 9111 §5.2.2.5).
        response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
        response.headers_mut().insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    }
    if status == StatusCode::CREATED {
        if let Ok(value) = header::HeaderValue::from_str(&state.links().resource(record.spec, record.id())) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
    response
}

/// A relationship the path names.
type Rel = &'static Relationship;

/// `/<type>/<id>/<relationship>` and `/<type>/<id>/relationships/<relationship>`.
pub type RelationshipPath = web::Path<(String, String)>;

/// The record's id and the relationship the path names.
fn relationship_path(
    spec: &'static ResourceSpec,
    path: RelationshipPath,
) -> Result<(String, &'static Relationship), ApiError> {
    let (id, name) = path.into_inner();
    let relationship = spec
        .relationship(&name)
        .ok_or_else(|| ApiError::NotFound(format!("{} has no relationship named {name:?}.", spec.type_name)))?;
    Ok((id, relationship))
}

/// `GET /<type>/<id>/<relationship>`: the related records, with the same query support as a
/// list (or a single resource, for a to-one).
pub async fn related<T: Resource>(reading: Reading, path: RelationshipPath) -> Result<HttpResponse, ApiError> {
    let (id, relationship) = relationship_path(T::SPEC, path)?;
    kept(reading, |reading| related_body::<T>(reading, id, relationship)).await
}

async fn related_body<T: Resource>(reading: Reading, id: String, relationship: Rel) -> Result<Vec<u8>, ApiError> {
    let Reading { state, query, session, .. } = reading;
    let registry = state.registry;
    let target = registry.find(relationship.target).ok_or(ApiError::RouteNotFound)?;
    let to_one = matches!(relationship.cardinality, Cardinality::ToOne { .. });
    let query = parse(registry, target.spec(), &query, if to_one { Allowed::Single } else { Allowed::List });
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
            Some(record) => views::single(state.links(), record, included.as_deref(), &query),
            None => views::null(format!("{}{path}", state.api_base)),
        });
    }
    Ok(views::page(state.links(), &path, &query, &records, included.as_deref(), count))
}

/// `GET /<type>/<id>/relationships/<relationship>`: the linkage alone.
pub async fn linkage<T: Resource>(reading: Reading, path: RelationshipPath) -> Result<HttpResponse, ApiError> {
    let (id, relationship) = relationship_path(T::SPEC, path)?;
    kept(reading, |reading| linkage_body::<T>(reading, id, relationship)).await
}

async fn linkage_body<T: Resource>(reading: Reading, id: String, relationship: Rel) -> Result<Vec<u8>, ApiError> {
    let Reading { state, query, session, .. } = reading;
    let registry = state.registry;
    let query = parse(registry, T::SPEC, &query, Allowed::Linkage);
    let source_id = id.clone();
    let ids = state
        .as_caller(session, move |conn, caller| {
            query?;
            let source = record::<T>(read::find::<T>(conn, caller, &source_id, Action::Read)?.into_inner());
            Ok(linked_ids(conn, caller, registry, &source, relationship)?)
        })
        .await?;
    let to_many = !matches!(relationship.cardinality, Cardinality::ToOne { .. });
    Ok(views::linkage(state.links(), T::SPEC, &id, relationship.name, relationship.target, to_many, &ids))
}
