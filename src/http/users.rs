//! `/api/user`: the caller's own user (a singleton, as in the reference).

use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::http::state::{Reading, Writing};
use crate::http::{read, write};
use crate::jsonapi::media::Document;
use crate::resources::users::Users;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::http::endpoint::resource("/user", "GET, PATCH".into())
            .route(web::get().to(show))
            .route(web::patch().to(update)),
    );
}

async fn show(reading: Reading) -> Result<HttpResponse, ApiError> {
    let id = reading.session.user_id.clone();
    read::show_at::<Users>(reading, id).await
}

async fn update(writing: Writing, body: Document) -> Result<HttpResponse, ApiError> {
    let id = writing.author.session.user_id.clone();
    write::update_at::<Users>(writing, body, id, true).await
}
