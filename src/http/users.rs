//! `/api/user`: the caller's own user (a singleton, as in the reference).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::domain::policy::{Action, Session};
use crate::error::ApiError;
use crate::http::context::RequestContext;
use crate::http::read::single;
use crate::http::state::State;
use crate::jsonapi::document::{Mode, ResourceDocument};
use crate::jsonapi::media::Body;
use crate::jsonapi::query::{parse, Allowed};
use crate::resources::model::{record, Resource};
use crate::resources::read::{self, included};
use crate::resources::users::Users;
use crate::resources::write::{self, Update};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::http::endpoint::resource("/user", "GET, PATCH".into())
            .route(web::get().to(show))
            .route(web::patch().to(update)),
    );
}

async fn show(state: State, request: HttpRequest, session: Session) -> Result<HttpResponse, ApiError> {
    let registry = state.registry;
    let query = parse(registry, Users::SPEC, request.query_string(), Allowed::Single);
    let (record, included, query) = state
        .as_caller(session, move |conn, caller| {
            let query = query?;
            let user = read::find::<Users>(conn, caller, &caller.user_id.clone(), Action::Read)?.into_inner();
            let mut records = [record::<Users>(user)];
            let included = included(conn, caller, registry, &mut records, &query)?;
            let [record] = records;
            Ok((record, included, query))
        })
        .await?;
    Ok(single(&state, StatusCode::OK, &record, included.as_deref(), &query))
}

async fn update(
    state: State,
    request: HttpRequest,
    body: Body,
    session: Session,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let registry = state.registry;
    let decoded = parse(registry, Users::SPEC, request.query_string(), Allowed::Single).and_then(|query| {
        let document = ResourceDocument::decode(&body.0, Users::SPEC, Mode::Singleton { id: &session.user_id })?;
        Ok((query, <Users as Update>::decode(&document, registry)?))
    });
    let (record, query) = state
        .write(session, context, move |tx| {
            let (query, changes) = decoded?;
            let id = tx.caller.user_id.clone();
            Ok((record::<Users>(write::update::<Users>(tx, &id, changes)?), query))
        })
        .await?;
    Ok(single(&state, StatusCode::OK, &record, None, &query))
}
