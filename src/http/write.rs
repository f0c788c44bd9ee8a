//! The writes every type shares: decode and check the document on the async worker, do the
//! slow work a type needs (hashing a new secret) on the blocking pool, then one transaction:
//! authenticate, authorize, write, record a version, include. The type supplies only its
//! `Create`, `Update` or `Delete`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::domain::policy::Session;
use crate::error::ApiError;
use crate::http::auth::audit;
use crate::http::auth::RequestContext;
use crate::http::read::single;
use crate::http::state::State;
use crate::jsonapi::document::{Mode, ResourceDocument};
use crate::jsonapi::media::Body;
use crate::jsonapi::query::{parse, Allowed};
use crate::resources::model::record;
use crate::resources::read::included;
use crate::resources::write::{self, Create, Delete, Tx, Update};

pub async fn create<T: Create>(
    state: State,
    request: HttpRequest,
    body: Body,
    session: Session,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let registry = state.registry;
    let decoded = parse(registry, T::SPEC, request.query_string(), Allowed::Single).and_then(|query| {
        let document = ResourceDocument::decode(&body.0, T::SPEC, Mode::Create)?;
        Ok((query, T::decode(&document, registry)?))
    });
    let decoded = match decoded {
        Ok((query, new)) => Ok((query, web::block(move || T::prepare(new)).await?)),
        Err(error) => Err(error),
    };
    let reveal = decoded.as_ref().ok().and_then(|(_, new)| T::revealed(new));
    let domain_suffix = state.domain_suffix.clone();
    let (mut record, included, query) = state
        .transaction_as_caller(session, move |conn, caller| {
            let (query, new) = decoded?;
            let audit = audit(caller, &context);
            let mut tx = Tx { conn, caller, audit: &audit, catalog: registry, domain_suffix: &domain_suffix };
            let row = write::create::<T>(&mut tx, new)?;
            let mut records = [record::<T>(row)];
            let included = included(tx.conn, tx.caller, registry, &mut records, &query)?;
            let [record] = records;
            Ok((record, included, query))
        })
        .await?;
    record.reveal = reveal;
    Ok(single(&state, StatusCode::CREATED, &record, included.as_deref(), &query))
}

pub async fn update<T: Update>(
    state: State,
    request: HttpRequest,
    id: web::Path<String>,
    body: Body,
    session: Session,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let registry = state.registry;
    let decoded = parse(registry, T::SPEC, request.query_string(), Allowed::Single).and_then(|query| {
        let document = ResourceDocument::decode(&body.0, T::SPEC, Mode::Update { id: &id })?;
        Ok((query, T::decode(&document, registry)?))
    });
    let decoded = match decoded {
        Ok((query, changes)) => Ok((query, web::block(move || T::prepare(changes)).await?)),
        Err(error) => Err(error),
    };
    let reveal = decoded.as_ref().ok().and_then(|(_, changes)| T::revealed(changes));
    let domain_suffix = state.domain_suffix.clone();
    let (mut record, included, query) = state
        .transaction_as_caller(session, move |conn, caller| {
            let (query, changes) = decoded?;
            let audit = audit(caller, &context);
            let mut tx = Tx { conn, caller, audit: &audit, catalog: registry, domain_suffix: &domain_suffix };
            let row = write::update::<T>(&mut tx, &id, changes)?;
            let mut records = [record::<T>(row)];
            let included = included(tx.conn, tx.caller, registry, &mut records, &query)?;
            let [record] = records;
            Ok((record, included, query))
        })
        .await?;
    record.reveal = reveal;
    Ok(single(&state, StatusCode::OK, &record, included.as_deref(), &query))
}

pub async fn delete<T: Delete>(
    state: State,
    id: web::Path<String>,
    session: Session,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let registry = state.registry;
    let domain_suffix = state.domain_suffix.clone();
    state
        .transaction_as_caller(session, move |conn, caller| {
            let audit = audit(caller, &context);
            let mut tx = Tx { conn, caller, audit: &audit, catalog: registry, domain_suffix: &domain_suffix };
            write::delete::<T>(&mut tx, &id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
