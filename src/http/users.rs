//! `/api/user`: the caller's own user (a singleton, as in the reference).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::Caller;
use crate::db::users;
use crate::domain::{now, parse_email, parse_text, Common, Reader};
use crate::error::ApiError;
use crate::http::{single_response, with_includes, State};
use crate::jsonapi::document::{Mode, ResourceDocument};
use crate::jsonapi::media::Body;
use crate::jsonapi::query::{Allowed, Query};
use crate::views::users::{render, SPEC};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(crate::http::resource("/user", "GET, PATCH").route(web::get().to(show)).route(web::patch().to(update)));
}

/// Time zones are IANA names (`Europe/Rome`, `UTC`).
fn parse_time_zone(value: &str) -> Result<String, String> {
    let valid = (1..=64).contains(&value.len())
        && value
            .split('/')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c)));
    if valid {
        Ok(value.to_string())
    } else {
        Err("must be a time zone name like Europe/Rome".into())
    }
}

async fn show(state: State, request: HttpRequest, caller: Caller) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(&SPEC, request.query_string(), Allowed::Single)?;
    let (object, included, query) = state
        .db
        .run(move |conn| {
            let user =
                users::find(conn, &caller.user_id)?.ok_or_else(|| ApiError::not_found("users", &caller.user_id))?;
            with_includes(conn, &caller, render(user), query)
        })
        .await?;
    Ok(single_response(&state, StatusCode::OK, &object, included.as_deref(), &query))
}

async fn update(state: State, request: HttpRequest, body: Body, caller: Caller) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(&SPEC, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &SPEC, Mode::Singleton { id: &caller.user_id })?;
    let mut reader = Reader::new(&document);
    let email = reader.string("email", parse_email);
    let email = reader.not_null("email", email);
    let first_name = reader.string("first_name", |v| parse_text(v, 100));
    let first_name = reader.not_null("first_name", first_name);
    let last_name = reader.string("last_name", |v| parse_text(v, 100));
    let last_name = reader.not_null("last_name", last_name);
    let time_zone = reader.string("time_zone", parse_time_zone).into_change();
    let common = Common::read(&mut reader);
    reader.finish()?;
    let changes = users::UserChanges {
        email,
        first_name,
        last_name,
        time_zone,
        metadata: common.metadata,
        reference: common.reference.into_change(),
        reference_origin: common.reference_origin.into_change(),
        updated_at: now(),
    };
    let (object, included, query) = state
        .db
        .transaction(move |conn| {
            let user = users::update(conn, &caller.user_id, &changes)?;
            with_includes(conn, &caller, render(user), query)
        })
        .await?;
    Ok(single_response(&state, StatusCode::OK, &object, included.as_deref(), &query))
}
