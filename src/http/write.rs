//! The writes every type shares: decode and check the document on the async worker, do the
//! slow work a type needs (hashing a new secret) on the argon2 pool, then one transaction:
//! authenticate, authorize, write, record a version, include. The type supplies only its
//! `Create`, `Update` or `Delete`. What the request got wrong is answered after the
//! authentication, so a caller whose token no longer counts always gets 401.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use crate::domain::policy::{Action, Authorized};
use crate::error::ApiError;
use crate::http::context::Author;
use crate::http::read::single;
use crate::http::state::{State, Writing};
use crate::jsonapi::document::{Mode, ResourceDocument};
use crate::jsonapi::media::Document;
use crate::jsonapi::query::{parse, Allowed};
use crate::resources::model::{record, Resource};
use crate::resources::read::included;
use crate::resources::write::{self, Create, Delete, Tx, Update};
use crate::spec::query::Query;
use crate::views::Record;

/// The request's query and document, decoded by the type's rules and prepared (argon2 on its
/// own pool), with an attribute the response shows once.
type Decoded<V> = (Result<(Query, V, ResourceDocument), ApiError>, Option<(&'static str, String)>);

async fn decode<T: Resource, V: Send + 'static>(
    writing: &Writing,
    body: &Document,
    mode: Mode<'_>,
    read: impl FnOnce(&ResourceDocument) -> Result<V, ApiError>,
    prepare: fn(V) -> V,
    slow: fn(&V) -> bool,
    revealed: fn(&V) -> Option<(&'static str, String)>,
) -> Result<Decoded<V>, ApiError> {
    let decoded = parse(writing.state.registry, T::SPEC, &writing.query, Allowed::Single).and_then(|query| {
        let document = ResourceDocument::decode(&body.0, T::SPEC, mode)?;
        let values = read(&document)?;
        Ok((query, values, document))
    });
    Ok(match decoded {
        Ok((query, values, document)) => {
            let values = match slow(&values) {
                true => writing.state.hashing.run_waiting(move || prepare(values)).await.map_err(|_| ApiError::Busy)?,
                false => prepare(values),
            };
            let reveal = revealed(&values);
            (Ok((query, values, document)), reveal)
        }
        Err(error) => (Err(error), None),
    })
}

/// The written row with its includes, rendered after the transaction.
fn finish<T: Resource>(
    tx: &mut Tx,
    row: T::Row,
    query: Query,
) -> Result<(Record, Option<Vec<Record>>, Query), ApiError> {
    let mut records = [record::<T>(row)];
    let included = included(tx.conn, tx.caller, tx.registry, &mut records, &query)?;
    let [record] = records;
    Ok((record, included, query))
}

pub async fn create<T: Create>(writing: Writing, body: Document) -> Result<HttpResponse, ApiError> {
    let catalog = writing.state.registry;
    let (decoded, reveal) =
        decode::<T, _>(&writing, &body, Mode::Create, |d| T::decode(d, catalog), T::prepare, T::hashes, T::revealed)
            .await?;
    let Writing { state, author, .. } = writing;
    let (mut record, included, query) = state
        .write(author, move |tx| {
            let (query, new, document) = decoded?;
            let row = write::create::<T>(tx, new, document.linked("organization").flatten())?;
            finish::<T>(tx, row, query)
        })
        .await?;
    record.reveal = reveal;
    Ok(single(&state, StatusCode::CREATED, &record, included.as_deref(), &query))
}

pub async fn update<T: Update>(
    writing: Writing,
    id: web::Path<String>,
    body: Document,
) -> Result<HttpResponse, ApiError> {
    update_at::<T>(writing, body, id.into_inner(), false).await
}

/// Updates record `id`; `singleton` when its path has no id (`/user`).
pub async fn update_at<T: Update>(
    writing: Writing,
    body: Document,
    id: String,
    singleton: bool,
) -> Result<HttpResponse, ApiError> {
    let catalog = writing.state.registry;
    let mode = if singleton { Mode::Singleton { id: &id } } else { Mode::Update { id: &id } };
    let (mut decoded, reveal) =
        decode::<T, _>(&writing, &body, mode, |d| T::decode(d, catalog), T::prepare, T::hashes, T::revealed).await?;
    let Writing { state, author, .. } = writing;
    if let Ok((_, changes, _)) = &mut decoded {
        inquire::<T>(&state, &author, &id, changes).await?;
    }
    let (mut record, included, query) = state
        .write(author, move |tx| {
            let (query, changes, _) = decoded?;
            let row = write::update::<T>(tx, &id, changes)?;
            finish::<T>(tx, row, query)
        })
        .await?;
    record.reveal = reveal;
    Ok(single(&state, StatusCode::OK, &record, included.as_deref(), &query))
}

/// Answers what the changes need to know from outside the database (`Update::inquiry`), asked
/// of the record as the caller may update it now: a read, then the lookup, with no
/// transaction open while the network answers.
async fn inquire<T: Update>(
    state: &State,
    author: &Author,
    id: &str,
    changes: &mut T::Changes,
) -> Result<(), ApiError> {
    if !T::inquires(changes) {
        return Ok(());
    }
    let id = id.to_string();
    let record = state
        .as_caller(author.session.clone(), move |conn, caller| {
            crate::resources::read::find::<T>(conn, caller, &id, Action::Update).map(Authorized::into_inner)
        })
        .await?;
    if let Some(inquiry) = T::inquiry(changes, &record) {
        let answer = state.upstream.answer(&inquiry).await;
        T::answered(changes, inquiry, answer);
    }
    Ok(())
}

pub async fn delete<T: Delete>(writing: Writing, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    writing.state.write(writing.author, move |tx| write::delete::<T>(tx, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
