//! Reads kept as answered. A GET's 200 is kept, as its body and entity tag, per caller (user
//! and token) and request target, and given again for as long as the database has not changed
//! since it was read: `db::changes` tells, by stamps taken before the read and when asked
//! again. Any commit, by this process or another, makes every kept answer stale at once, and
//! the first read after it is answered from the database; so a kept answer is never one the
//! database would not give now. The token's expiry is checked before (it is in the token), and
//! its revocation is a commit like any other.
//!
//! Only where stamps exist: SQLite. On PostgreSQL other instances write unseen, and every read
//! goes to the database. The memory kept is bounded (`READ_CACHE_MB`); past it, everything kept
//! is dropped and kept again as asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::HttpResponse;

use crate::db::changes::Stamp;
use crate::domain::policy::Session;
use crate::error::MEDIA_TYPE;
use crate::http::caching::entity_tag;

/// Who asked what: the same request of another token is another answer.
#[derive(Debug, Hash, PartialEq, Eq)]
pub struct Asked {
    user_id: String,
    jti: String,
    target: String,
}

impl Asked {
    pub fn new(session: &Session, target: String) -> Asked {
        Asked { user_id: session.user_id.clone(), jti: session.jti.clone(), target }
    }
}

/// A request's target, as its answer is kept under: its path and query.
pub fn target(path: &str, query: &str) -> String {
    match query {
        "" => path.to_string(),
        query => format!("{path}?{query}"),
    }
}

/// A read's 200: its body and entity tag, and the route pattern that answered it.
#[derive(Clone)]
pub struct Answer {
    body: Bytes,
    tag: header::HeaderValue,
    route: Arc<str>,
}

/// The route of an answer given again without routing, for the log line and the metrics.
/// `HttpRequest::match_pattern` would find it too, but by matching the path against every
/// route again, which is what the gate spares a kept answer.
pub struct AnsweredRoute(pub Arc<str>);

impl Answer {
    pub fn new(body: Vec<u8>, route: Arc<str>) -> Answer {
        let body = Bytes::from(body);
        let tag = tag_of(&body);
        Answer { body, tag, route }
    }

    pub fn route(&self) -> &Arc<str> {
        &self.route
    }

    pub fn response(self) -> HttpResponse {
        ok(self.body, self.tag)
    }
}

/// A read's 200 that is not kept.
pub fn fresh(body: Vec<u8>) -> HttpResponse {
    let body = Bytes::from(body);
    let tag = tag_of(&body);
    ok(body, tag)
}

fn tag_of(body: &[u8]) -> header::HeaderValue {
    header::HeaderValue::from_str(&entity_tag(body)).expect("a tag is hex digits")
}

fn ok(body: Bytes, tag: header::HeaderValue) -> HttpResponse {
    HttpResponse::build(StatusCode::OK)
        .insert_header((header::CONTENT_TYPE, MEDIA_TYPE))
        .insert_header((header::ETAG, tag))
        .body(body)
}

pub struct Answers {
    /// The most bytes of bodies kept; 0 keeps none.
    limit: usize,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// The stamp every answer here was read at.
    stamp: Option<Stamp>,
    bytes: usize,
    answers: HashMap<Asked, Answer>,
}

impl Answers {
    pub fn new(limit: usize) -> Answers {
        Answers { limit, kept: Mutex::new(Kept::default()) }
    }

    /// Whether any answer is kept at all (READ_CACHE_MB is not 0).
    pub fn keeps(&self) -> bool {
        self.limit > 0
    }

    /// What was answered to `asked` when the database was at `now`, if anything.
    pub fn get(&self, now: Stamp, asked: &Asked) -> Option<Answer> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        match kept.stamp == Some(now) {
            true => kept.answers.get(asked).cloned(),
            false => None,
        }
    }

    /// Keeps `answer`, read from the database at `read_at`, when the database is still there
    /// (`now`); the answers of any other stamp are dropped.
    pub fn keep(&self, read_at: Stamp, now: Option<Stamp>, asked: Asked, answer: &Answer) {
        if now != Some(read_at) || answer.body.len() > self.limit {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.stamp != Some(read_at) || kept.bytes + answer.body.len() > self.limit {
            *kept = Kept { stamp: Some(read_at), ..Kept::default() };
        }
        kept.bytes += answer.body.len();
        if let Some(replaced) = kept.answers.insert(asked, answer.clone()) {
            kept.bytes -= replaced.body.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::changes::Changes;
    use diesel::connection::SimpleConnection;
    use diesel::Connection;

    #[test]
    fn an_answer_is_given_again_only_at_its_stamp_for_its_caller_and_within_the_limit() {
        let dir = std::env::temp_dir().join(format!("provisioning-answers-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        conn.batch_execute("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER);").unwrap();
        let changes = Changes::sqlite(path.to_str().unwrap());
        let ada = Session { user_id: "ada".into(), jti: "1".into() };
        let bob = Session { user_id: "bob".into(), jti: "2".into() };
        let answers = Answers::new(100);
        let read_at = changes.stamp().unwrap();
        answers.keep(
            read_at,
            changes.stamp(),
            Asked::new(&ada, "/api/roles".into()),
            &Answer::new(b"[1]".to_vec(), "/t".into()),
        );
        let now = changes.stamp().unwrap();
        let hit = answers.get(now, &Asked::new(&ada, "/api/roles".into())).expect("kept");
        assert_eq!(&hit.body[..], b"[1]");
        assert!(answers.get(now, &Asked::new(&bob, "/api/roles".into())).is_none(), "another caller");
        assert!(answers.get(now, &Asked::new(&ada, "/api/roles?x".into())).is_none(), "another target");
        conn.batch_execute("INSERT INTO t VALUES (1)").unwrap();
        let later = changes.stamp().unwrap();
        assert!(answers.get(later, &Asked::new(&ada, "/api/roles".into())).is_none(), "stale after a commit");
        // Read before a commit, kept after it: not kept.
        answers.keep(
            now,
            Some(later),
            Asked::new(&ada, "/api/roles".into()),
            &Answer::new(b"[1]".to_vec(), "/t".into()),
        );
        assert!(answers.get(later, &Asked::new(&ada, "/api/roles".into())).is_none());
        // Past the limit, what was kept goes.
        answers.keep(later, Some(later), Asked::new(&ada, "/a".into()), &Answer::new(vec![b'x'; 60], "/t".into()));
        answers.keep(later, Some(later), Asked::new(&ada, "/b".into()), &Answer::new(vec![b'x'; 60], "/t".into()));
        assert!(answers.get(later, &Asked::new(&ada, "/a".into())).is_none());
        assert!(answers.get(later, &Asked::new(&ada, "/b".into())).is_some());
        answers.keep(later, Some(later), Asked::new(&ada, "/c".into()), &Answer::new(vec![b'x'; 101], "/t".into()));
        assert!(answers.get(later, &Asked::new(&ada, "/c".into())).is_none(), "larger than the limit");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
