//! `/api/organizations`: create and update; reading is shared (`http::routes`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::db::organizations::{self, Organizations};
use crate::domain::organizations::{new_organization, organization_changes};
use crate::error::ApiError;
use crate::http::{included, routes, single_response, State};
use crate::jsonapi::document::{Mode, ResourceDocument};
use crate::jsonapi::media::Body;
use crate::jsonapi::query::{Allowed, Query};
use crate::views::organizations::{render, SPEC};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // No DELETE: the reference has none for organizations.
    routes(cfg, &Organizations, "GET, POST", "GET, PATCH", |collection, member| {
        (collection.route(web::post().to(create)), member.route(web::patch().to(update)))
    });
}

async fn create(state: State, request: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(&SPEC, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &SPEC, Mode::Create)?;
    let new = new_organization(&document)?;
    let domain_suffix = state.domain_suffix.clone();
    let (object, included, query) = state
        .db
        .transaction(move |conn| {
            let mut objects = [render(organizations::insert(conn, new, &domain_suffix)?)];
            let included = included(conn, &mut objects, &query)?;
            let [object] = objects;
            Ok((object, included, query))
        })
        .await?;
    Ok(single_response(&state, StatusCode::CREATED, &object, included.as_deref(), &query))
}

async fn update(
    state: State,
    request: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let query = Query::parse(&SPEC, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &SPEC, Mode::Update { id: &id })?;
    let changes = organization_changes(&document)?;
    let (object, included, query) = state
        .db
        .transaction(move |conn| {
            organizations::find(conn, &id)?.ok_or_else(|| ApiError::not_found("organizations", &id))?;
            let mut objects = [render(organizations::update(conn, &id, &changes)?)];
            let included = included(conn, &mut objects, &query)?;
            let [object] = objects;
            Ok((object, included, query))
        })
        .await?;
    Ok(single_response(&state, StatusCode::OK, &object, included.as_deref(), &query))
}
