//! Hostile input (issue 12): thousands of generated requests across every route, malformed,
//! oversized and injection-shaped, from a seeded generator (`HOSTILE_SEED`, `HOSTILE_CASES`).
//! Each is sent to a server on SQLite and, when `TEST_DATABASE_URL` is set, to one on
//! PostgreSQL, which hold the same records. Asserted for every request: no 5xx; a refusal is a
//! well-formed errors document (JSON:API under `/api`, an OAuth error under `/oauth`); a refused
//! request changed no record; both backends answer with the same status.
//!
//! And the requests the HTTP parser refuses before the app (raw bytes on a socket) never crash
//! or hang the server.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::time::Duration;

use awc::http::Method;
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use provisioning::spec::{Cardinality, Kind, ResourceSpec, CREATE, FILTER, SORT, UPDATE};

use crate::helpers::{connect, encode, spawn_app, spawn_binary_on, Backend, Binary, TestApp, TestResponse, MEDIA_TYPE};

/// Stands for a fixture's id in a generated request, replaced per server (`⟦roles⟧`).
fn slot(name: &str) -> String {
    format!("⟦{name}⟧")
}

/// Text a hostile client sends: injection shapes, NULs, control and odd Unicode, numbers where
/// text goes and text where numbers go, wildcards, dates that are not.
const WORDS: &[&str] = &[
    "",
    " ",
    "\0",
    "a\0b",
    "\u{1}\u{7f}",
    "\u{202e}evil",
    "\u{feff}",
    "\u{ffff}",
    "😀",
    "' OR '1'='1",
    "1; DROP TABLE organizations; --",
    "\" OR \"\"=\"",
    "<script>alert(1)</script>",
    "../../../etc/passwd",
    "%",
    "%00",
    "%ZZ",
    "\\",
    "_",
    "%_%",
    "*",
    "null",
    "true",
    "-1",
    "0",
    "99999999999999999999999",
    "1e400",
    "NaN",
    "2026-13-45T99:99:99Z",
    "2026-01-01T00:00:00Z",
    "a,b,,c",
    "[]",
    "{}",
    "id",
    "name",
    "admin",
    "\r\nX-Injected: 1",
    "\t\n",
    "integration",
    "webapp",
];

const PREDICATES: &[&str] = &[
    "eq", "not_eq", "cont", "i_cont", "start", "end", "in", "not_in", "gt", "gteq", "lt", "lteq", "null", "present",
    "blank", "true", "false", "jcont", "eq_any", "matches", "zz", "",
];

/// Bytes that are no text at all, already percent-encoded: broken UTF-8, an overlong NUL.
const BROKEN: &[&str] = &["%FF", "%C0%80", "%E2%82", "%ED%A0%80", "%F4%90%80%80"];

struct Case {
    method: Method,
    /// Path and query, percent-encoded, with fixture slots.
    target: String,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
    authorization: Authorization,
    /// The route it exercises, for the coverage check.
    route: String,
}

enum Authorization {
    Token,
    None,
    Header(String),
}

struct Generator<'a> {
    rng: StdRng,
    /// This case's document is sound but for what `corrupt` does to some: writes that may
    /// succeed keep the records changing under the hostile ones.
    calm: bool,
    types: Vec<&'a ResourceSpec>,
}

impl Generator<'_> {
    fn word(&mut self) -> String {
        match self.rng.gen_range(0..10) {
            0 => "x".repeat(*[255, 256, 5000, 70_000].choose(&mut self.rng).unwrap()),
            1 => uuid::Uuid::new_v4().to_string(),
            2 => slot(self.types.choose(&mut self.rng).unwrap().type_name),
            _ => WORDS.choose(&mut self.rng).unwrap().to_string(),
        }
    }

    /// A word that fits in a URL (the client refuses one over 64 KiB).
    fn short_word(&mut self) -> String {
        self.word().chars().take(3000).collect()
    }

    /// A query or path value: a word, encoded, or bytes that are no text.
    fn encoded(&mut self) -> String {
        match self.rng.gen_range(0..12) {
            0 => format!("a{}", BROKEN.choose(&mut self.rng).unwrap()),
            _ => {
                let word = self.short_word();
                // Fixture slots stay readable for the substitution.
                if word.starts_with('⟦') {
                    word
                } else {
                    encode(&word)
                }
            }
        }
    }

    fn json_value(&mut self, depth: usize) -> Value {
        match self.rng.gen_range(0..14) {
            0 => Value::Null,
            1 => json!(self.rng.gen::<bool>()),
            2 => json!(*[-1i64, 0, 1, i64::MAX, i64::MIN].choose(&mut self.rng).unwrap()),
            3 => json!(1.5e300),
            4 if depth < 3 => Value::Array((0..self.rng.gen_range(0..4)).map(|_| self.json_value(depth + 1)).collect()),
            5 if depth < 3 => {
                let mut object = Map::new();
                for _ in 0..self.rng.gen_range(0..4) {
                    let key = self.word();
                    object.insert(key, self.json_value(depth + 1));
                }
                Value::Object(object)
            }
            6 => json!({"links": {"self": "x"}}),
            7 => json!({"relationships": {}}),
            8 => json!({"note": "a\u{0}b", "nested": {"deep": ["\u{0}"]}}),
            9 => deep(self.rng.gen_range(100..400)),
            _ => Value::String(self.word()),
        }
    }

    /// In a calm case, what a sound client would send for the attributes with rules.
    fn sound(&mut self, name: &str) -> Option<Value> {
        if !self.calm {
            return None;
        }
        let n = self.rng.gen::<u32>();
        Some(match name {
            "email" | "user_email" => json!(format!("member{n}@example.com")),
            "kind" => json!(*["integration", "sales_channel", "webapp"].choose(&mut self.rng).unwrap()),
            "subject" => json!(*["roles", "api_scopes", "memberships"].choose(&mut self.rng).unwrap()),
            "access_scope" => json!("live_access"),
            "identifier" => json!(format!("https://api{n}.example.com")),
            "redirect_uri" | "logo_url" => json!("https://app.example.com/callback"),
            "mode" => json!("test"),
            "name" => json!(format!("Hostile {n}")),
            _ => return None,
        })
    }

    /// A value of the attribute's kind, most of the time.
    fn attribute_value(&mut self, kind: Kind) -> Value {
        if !self.calm && self.rng.gen_bool(0.3) {
            return self.json_value(0);
        }
        match kind {
            Kind::String => json!(format!("hostile {}", self.rng.gen::<u16>())),
            Kind::Boolean => json!(self.rng.gen::<bool>()),
            Kind::Integer => json!(self.rng.gen_range(-10..100_000)),
            Kind::Datetime => json!("2030-01-01T00:00:00Z"),
            Kind::Object => json!({"k": "v"}),
            Kind::Strings => json!([format!("hostile:{}", self.rng.gen::<u16>())]),
        }
    }

    fn linkage(&mut self, target: &str, many: bool) -> Value {
        let one = |g: &mut Self| match g.rng.gen_range(if g.calm { 4 } else { 0 }..8) {
            0 => json!({"type": target, "id": uuid::Uuid::new_v4().to_string()}),
            1 => json!({"type": g.word(), "id": slot(target)}),
            2 => json!({"type": target, "id": g.json_value(1)}),
            3 => json!({"type": target}),
            _ => json!({"type": target, "id": slot(target)}),
        };
        let data = if many {
            Value::Array((0..self.rng.gen_range(0..4)).map(|_| one(self)).collect())
        } else if self.rng.gen_bool(0.1) {
            Value::Null
        } else {
            one(self)
        };
        match self.rng.gen_range(if self.calm { 2 } else { 0 }..12) {
            0 => json!(data),
            1 => json!({"data": self.json_value(0)}),
            _ => json!({"data": data}),
        }
    }

    /// A create or update document for `spec`, mostly sound, then mutated.
    fn document(&mut self, spec: &ResourceSpec, update: bool) -> Vec<u8> {
        let flag = if update { UPDATE } else { CREATE };
        let mut attributes = Map::new();
        for attribute in spec.all_attributes().filter(|a| a.has(flag)) {
            let required = self.calm && !update && attribute.has(provisioning::spec::REQUIRED);
            if required || self.rng.gen_bool(if self.calm { 0.3 } else { 0.6 }) {
                let value = self.attribute_value(attribute.kind);
                attributes.insert(attribute.name.to_string(), self.sound(attribute.name).unwrap_or(value));
            }
        }
        let mut relationships = Map::new();
        for relationship in spec.relationships.iter().filter(|r| r.has(flag)) {
            let many = !matches!(relationship.cardinality, Cardinality::ToOne { .. });
            relationships.insert(relationship.name.to_string(), self.linkage(relationship.target, many));
        }
        let mut data = json!({"type": spec.type_name, "attributes": attributes, "relationships": relationships});
        if update {
            data["id"] = json!(slot(spec.type_name));
        }
        // Deep values are for attributes; a whole document that deep is the corrupter's job.
        for _ in 0..if self.calm { 0 } else { self.rng.gen_range(0..4) } {
            self.mutate(&mut data);
        }
        let mut document = json!({ "data": data });
        if !self.calm && self.rng.gen_bool(0.05) {
            let key = *["included", "meta", "jsonapi", "links", "@ext:member", "errors"].choose(&mut self.rng).unwrap();
            document[key] = self.json_value(1);
        }
        if !self.calm && self.rng.gen_bool(0.05) {
            document["data"] = self.json_value(0);
        }
        let bytes = serde_json::to_vec(&document).unwrap();
        self.corrupt(bytes)
    }

    fn mutate(&mut self, data: &mut Value) {
        // Members of members that are still objects (an earlier mutation may have replaced one).
        fn set(value: &mut Value, path: &[&str], member: Value) {
            let Some((last, parents)) = path.split_last() else { return };
            let mut at = value;
            for parent in parents {
                match at.get_mut(*parent) {
                    Some(next) if next.is_object() => at = next,
                    _ => return,
                }
            }
            if let Some(object) = at.as_object_mut() {
                object.insert(last.to_string(), member);
            }
        }
        let value = self.json_value(0);
        match self.rng.gen_range(0..9) {
            0 => set(data, &["type"], value),
            1 => set(data, &["id"], value),
            2 => {
                let key = self.word();
                set(data, &["attributes", &key], value);
            }
            3 => set(data, &["attributes"], value),
            4 => set(data, &["relationships"], value),
            5 => {
                let name = self.word();
                let linkage = self.linkage("roles", false);
                set(data, &["relationships", &name], linkage);
            }
            6 => set(data, &["attributes", "@annotation"], json!(1)),
            7 => set(data, &["attributes", "metadata"], value),
            _ => {
                if let Some(object) = data.as_object_mut() {
                    let keys: Vec<String> = object.keys().cloned().collect();
                    if let Some(key) = keys.choose(&mut self.rng) {
                        object.remove(key);
                    }
                }
            }
        }
    }

    /// Now and then, bytes that are not the JSON they were.
    fn corrupt(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
        match self.rng.gen_range(if self.calm { 10 } else { 0 }..25) {
            0 => {
                let cut = self.rng.gen_range(0..bytes.len());
                bytes.truncate(cut);
            }
            1 => {
                let at = self.rng.gen_range(0..bytes.len());
                bytes.insert(at, *[0xff, 0xc0, 0x00, 0x80].choose(&mut self.rng).unwrap());
            }
            2 => bytes = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
            3 => bytes.splice(0..0, [0xef, 0xbb, 0xbf]).for_each(drop),
            4 => bytes = b"{\"data\": {\"type\": \"organizations\", \"attributes\": {\"name\": \"a\"".to_vec(),
            5 => {
                bytes = format!(
                    "{{\"data\": {{\"type\": \"organizations\", \"attributes\": {{\"name\": \"{}\"}}}}}}",
                    "a".repeat(1 << 20)
                )
                .into_bytes()
            }
            _ => {}
        }
        bytes
    }

    fn query(&mut self, spec: Option<&ResourceSpec>) -> String {
        let mut parameters = Vec::new();
        for _ in 0..self.rng.gen_range(0..if self.calm { 1 } else { 5 }) {
            let attribute = |g: &mut Self| match spec {
                Some(spec) if g.rng.gen_bool(0.8) => {
                    let names: Vec<&str> = spec
                        .all_attributes()
                        .filter(|a| a.has(FILTER) || a.has(SORT))
                        .map(|a| a.name)
                        .chain(["id", "organization_id"])
                        .collect();
                    names.choose(&mut g.rng).unwrap().to_string()
                }
                _ => g.short_word(),
            };
            let parameter = match self.rng.gen_range(0..12) {
                0..=2 => {
                    let name = attribute(self);
                    let predicate = PREDICATES.choose(&mut self.rng).unwrap();
                    let value = match self.rng.gen_range(0..6) {
                        0 => (0..self.rng.gen_range(2..1200)).map(|i| i.to_string()).collect::<Vec<_>>().join(","),
                        _ => self.encoded(),
                    };
                    format!("filter[q][{}_{predicate}]={value}", encode(&name))
                }
                3 => {
                    let names: Vec<String> = (0..self.rng.gen_range(2..40)).map(|_| attribute(self)).collect();
                    format!("filter[q][{}_cont]={}", encode(&names.join("_or_")), self.encoded())
                }
                4 => format!("filter[ids]={}", self.encoded()),
                5 => {
                    let paths: Vec<String> = (0..self.rng.gen_range(1..14))
                        .map(|_| {
                            let names: Vec<String> = (0..self.rng.gen_range(1..6))
                                .map(|_| match spec {
                                    Some(spec) if !spec.relationships.is_empty() && self.rng.gen_bool(0.7) => {
                                        spec.relationships.choose(&mut self.rng).unwrap().name.to_string()
                                    }
                                    _ => encode(&self.short_word()),
                                })
                                .collect();
                            names.join(".")
                        })
                        .collect();
                    format!("include={}", paths.join(","))
                }
                6 => {
                    let target = match self.rng.gen_bool(0.8) {
                        true => self.types.choose(&mut self.rng).unwrap().type_name.to_string(),
                        false => encode(&self.short_word()),
                    };
                    let names: Vec<String> = (0..self.rng.gen_range(0..80)).map(|_| encode(&attribute(self))).collect();
                    format!("fields[{target}]={}", names.join(","))
                }
                7 => {
                    let keys: Vec<String> = (0..self.rng.gen_range(1..20))
                        .map(|_| format!("{}{}", if self.rng.gen() { "-" } else { "" }, encode(&attribute(self))))
                        .collect();
                    format!("sort={}", keys.join(","))
                }
                8 => {
                    use base64::Engine;
                    let page = *["number", "after", "before"].choose(&mut self.rng).unwrap();
                    let value = match self.rng.gen_range(0..3) {
                        // A cursor of the default order, with hostile values.
                        0 => {
                            let forged = json!(["created_at,id", self.json_value(1), self.json_value(1)]).to_string();
                            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged)
                        }
                        _ => self.encoded(),
                    };
                    format!("page[{page}]={value}")
                }
                9 => format!("page[size]={}", self.encoded()),
                10 => format!("{}={}", self.encoded(), self.encoded()),
                _ => format!("filter[{}]={}", self.encoded(), self.encoded()),
            };
            parameters.push(parameter);
        }
        if parameters.is_empty() {
            String::new()
        } else {
            format!("?{}", parameters.join("&"))
        }
    }

    fn method(&mut self, usual: &[Method]) -> Method {
        if !self.calm && self.rng.gen_bool(0.15) {
            [Method::GET, Method::POST, Method::PATCH, Method::DELETE, Method::PUT, Method::OPTIONS]
                .choose(&mut self.rng)
                .unwrap()
                .clone()
        } else {
            usual.choose(&mut self.rng).unwrap().clone()
        }
    }

    fn id_for(&mut self, type_name: &str) -> String {
        match self.rng.gen_range(if self.calm { 3 } else { 0 }..10) {
            0 => uuid::Uuid::new_v4().to_string(),
            1 | 2 => self.encoded(),
            _ => slot(type_name),
        }
    }

    fn content_type(&mut self) -> Option<String> {
        match self.rng.gen_range(if self.calm { 5 } else { 0 }..20) {
            0 => None,
            1 => Some("application/json".into()),
            2 => Some(format!("{MEDIA_TYPE}; charset=utf-8")),
            3 => Some(format!("{MEDIA_TYPE}; ext=\"https://example.com\"")),
            4 => Some("text/plain".into()),
            _ => Some(MEDIA_TYPE.into()),
        }
    }

    fn authorization(&mut self) -> Authorization {
        match self.rng.gen_range(if self.calm { 5 } else { 0 }..40) {
            0 | 1 => Authorization::None,
            2 => Authorization::Header(format!("Bearer {}", header_text(&self.short_word()))),
            3 => Authorization::Header("Basic Og==".into()),
            4 => Authorization::Header("Bearer a.b.c".into()),
            _ => Authorization::Token,
        }
    }

    fn api_case(&mut self) -> Case {
        let spec = *self.types.choose(&mut self.rng).unwrap();
        let name = spec.type_name;
        let relationship = |g: &mut Self| match spec.relationships.choose(&mut g.rng) {
            Some(r) if g.rng.gen_bool(0.85) => r.name.to_string(),
            _ => g.encoded(),
        };
        let (method, target, route, body) = match self.rng.gen_range(0..10) {
            0 | 1 => {
                let method = self.method(&[Method::GET, Method::GET, Method::POST]);
                let body = (method != Method::GET).then(|| self.document(spec, false));
                (method, format!("/api/{name}{}", self.query(Some(spec))), format!("/api/{name}"), body)
            }
            2..=5 => {
                let method = self.method(&[Method::GET, Method::PATCH, Method::PATCH, Method::DELETE]);
                let id = self.id_for(name);
                let body = (method == Method::PATCH || method == Method::POST).then(|| self.document(spec, true));
                (method, format!("/api/{name}/{id}{}", self.query(Some(spec))), format!("/api/{name}/:id"), body)
            }
            6 | 7 => {
                let method = self.method(&[Method::GET]);
                let (id, relationship) = (self.id_for(name), relationship(self));
                let target_spec = spec
                    .relationship(&relationship)
                    .and_then(|r| self.types.iter().find(|t| t.type_name == r.target).copied());
                (
                    method,
                    format!("/api/{name}/{id}/{relationship}{}", self.query(target_spec)),
                    format!("/api/{name}/:id/:relationship"),
                    None,
                )
            }
            _ => {
                let method = self.method(&[Method::GET, Method::POST, Method::PATCH, Method::DELETE]);
                let (id, relationship) = (self.id_for(name), relationship(self));
                let body = (method != Method::GET).then(|| {
                    let target = spec.relationship(&relationship).map(|r| r.target).unwrap_or("roles");
                    let many = self.rng.gen_bool(0.7);
                    let linkage = self.linkage(target, many);
                    self.corrupt(serde_json::to_vec(&linkage).unwrap())
                });
                (
                    method,
                    format!("/api/{name}/{id}/relationships/{relationship}{}", self.query(None)),
                    format!("/api/{name}/:id/relationships/:relationship"),
                    body,
                )
            }
        };
        let content_type = body.as_ref().and_then(|_| self.content_type());
        Case { method, target, content_type, body, authorization: self.authorization(), route }
    }

    /// The routes of their own: the caller's user, the custom actions, a relationship that
    /// can be written.
    fn action_case(&mut self) -> Case {
        let (method, target, route, body) = match self.rng.gen_range(0..5) {
            0 => {
                let method = self.method(&[Method::GET, Method::PATCH]);
                let mut attributes = Map::new();
                for name in
                    ["first_name", "last_name", "email", "time_zone", "_confirm_email_code", "_resend_email_code"]
                {
                    if self.rng.gen_bool(0.3) {
                        attributes.insert(name.into(), self.json_value(0));
                    }
                }
                let body = serde_json::to_vec(&json!({"data": {"type": "users", "attributes": attributes}})).unwrap();
                (method, format!("/api/user{}", self.query(None)), "/api/user".to_string(), Some(self.corrupt(body)))
            }
            1 => {
                let id = self.id_for("organizations");
                let body = json!({"data": {"type": "organizations", "id": slot("organizations"),
                    "relationships": {"owner": self.linkage("users", false)}}});
                let body = self.corrupt(serde_json::to_vec(&body).unwrap());
                (
                    self.method(&[Method::PATCH]),
                    format!("/api/organizations/{id}/transfer_ownership"),
                    "/api/organizations/:id/transfer_ownership".into(),
                    Some(body),
                )
            }
            2 => {
                let id = self.id_for("memberships");
                let value = self.json_value(0);
                let body =
                    if self.rng.gen() { b"{}".to_vec() } else { self.corrupt(serde_json::to_vec(&value).unwrap()) };
                (
                    self.method(&[Method::POST]),
                    format!("/api/memberships/{id}/resend"),
                    "/api/memberships/:id/resend".into(),
                    Some(body),
                )
            }
            _ => {
                let id = self.id_for("api_credentials");
                let method = self.method(&[Method::GET, Method::POST, Method::PATCH, Method::DELETE]);
                let linkage = self.linkage("api_scopes", true);
                let body = (method != Method::GET).then(|| self.corrupt(serde_json::to_vec(&linkage).unwrap()));
                (
                    method,
                    format!("/api/api_credentials/{id}/relationships/api_scopes"),
                    "/api/api_credentials/:id/relationships/api_scopes".into(),
                    body,
                )
            }
        };
        let content_type = body.as_ref().and_then(|_| self.content_type());
        Case { method, target, content_type, body, authorization: self.authorization(), route }
    }

    fn oauth_case(&mut self) -> Case {
        let (path, route) = *[
            ("/oauth/token", "/oauth/token"),
            ("/oauth/token", "/oauth/token"),
            ("/oauth/revoke", "/oauth/revoke"),
            ("/oauth/introspect", "/oauth/introspect"),
            ("/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server"),
            ("/.well-known/jwks.json", "/.well-known/jwks.json"),
            ("/oauth/nothing", "/oauth/*"),
        ]
        .choose(&mut self.rng)
        .unwrap();
        let method =
            if path.starts_with("/.well-known") { self.method(&[Method::GET]) } else { self.method(&[Method::POST]) };
        let mut fields: Vec<(String, Value)> = Vec::new();
        let grant = [
            "client_credentials",
            "password",
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ];
        for (name, chance) in [
            ("grant_type", 0.9),
            ("client_id", 0.7),
            ("client_secret", 0.5),
            ("scope", 0.3),
            ("resource", 0.2),
            ("audience", 0.1),
            ("token", 0.3),
            ("token_type_hint", 0.2),
            ("assertion", 0.1),
        ] {
            if self.rng.gen_bool(chance) {
                let value = match name {
                    "grant_type" if self.rng.gen_bool(0.7) => json!(grant.choose(&mut self.rng).unwrap()),
                    "client_id" if self.rng.gen_bool(0.4) => json!(slot("client_id")),
                    "token" if self.rng.gen_bool(0.3) => json!("eyJhbGciOiJub25lIn0.e30."),
                    _ if self.rng.gen_bool(0.1) => self.json_value(0),
                    _ => json!(self.word()),
                };
                fields.push((name.to_string(), value));
            }
        }
        let (content_type, body) = match self.rng.gen_range(0..6) {
            0 | 1 => {
                let form: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{}={}",
                            k,
                            match v {
                                Value::String(s) if s.starts_with('⟦') => s.clone(),
                                Value::String(s) => encode(s),
                                other => encode(&other.to_string()),
                            }
                        )
                    })
                    .collect();
                (Some("application/x-www-form-urlencoded".to_string()), form.join("&").into_bytes())
            }
            2 => (None, b"grant_type=client_credentials".to_vec()),
            3 => (Some("text/plain".to_string()), self.word().into_bytes()),
            _ => {
                let object: Map<String, Value> = fields.into_iter().collect();
                (Some("application/json".to_string()), self.corrupt(serde_json::to_vec(&object).unwrap()))
            }
        };
        let authorization = match self.rng.gen_range(0..6) {
            0 => {
                use base64::Engine;
                let pair = format!("{}:{}", slot("client_id"), self.short_word());
                Authorization::Header(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
            }
            1 => Authorization::Header(format!("Basic {}", encode(&self.word()).chars().take(200).collect::<String>())),
            _ => Authorization::None,
        };
        let body = (method != Method::GET).then_some(body);
        Case {
            method,
            target: path.to_string(),
            content_type: body.as_ref().and(content_type),
            body,
            authorization,
            route: route.to_string(),
        }
    }

    fn case(&mut self) -> Case {
        self.calm = self.rng.gen_bool(0.3);
        match self.rng.gen_range(0..100) {
            0..=79 => self.api_case(),
            80..=91 => self.action_case(),
            92..=97 => self.oauth_case(),
            _ => {
                let path = format!("/{}/{}", self.encoded(), self.encoded());
                Case {
                    method: self.method(&[Method::GET]),
                    target: path,
                    content_type: None,
                    body: None,
                    authorization: self.authorization(),
                    route: "/*".into(),
                }
            }
        }
    }
}

/// What of `text` a header value can hold (visible ASCII and spaces).
fn header_text(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii() && !c.is_ascii_control()).collect()
}

/// `[[[[…]]]]`, `depth` deep.
fn deep(depth: usize) -> Value {
    (0..depth).fold(json!("bottom"), |inner, _| json!([inner]))
}

/// A server with the same records as every other one: an organization, its roles, a permission,
/// a member, a membership profile, an API credential, an API resource with a scope, an identity
/// provider and a credential provider.
struct Server {
    app: TestApp,
    slots: HashMap<String, String>,
    name: &'static str,
    binary: Binary,
}

async fn server(name: &'static str, backend: Backend) -> Server {
    let (app, binary) = spawn_binary_on(backend).await;
    let mut slots = HashMap::new();
    let org = app.create_organization(json!({"name": "Hostile"})).await["id"].as_str().unwrap().to_string();
    let organization = json!({"data": {"type": "organizations", "id": org}});
    let create = async |path: &str, document: Value| -> Value {
        let response = app.post(path, &document).await;
        assert_eq!(response.status, 201, "{path}: {}", response.text);
        response.json()["data"].clone()
    };
    let role = create(
        "/api/roles",
        json!({"data": {"type": "roles", "attributes": {"name": "Custom"},
        "relationships": {"organization": organization}}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let role_linkage = json!({"data": {"type": "roles", "id": role}});
    let permission = create("/api/permissions", json!({"data": {"type": "permissions",
        "attributes": {"can_create": true, "can_read": true, "can_update": false, "can_destroy": false, "subject": "api_scopes"},
        "relationships": {"role": role_linkage}}})).await;
    let membership = create(
        "/api/memberships",
        json!({"data": {"type": "memberships", "attributes": {"user_email": "member@example.com"},
        "relationships": {"organization": organization, "role": role_linkage}}}),
    )
    .await;
    let profile = create(
        "/api/membership_profiles",
        json!({"data": {"type": "membership_profiles",
        "attributes": {"name": "P", "access_scope": "live_access"}, "relationships": {"organization": organization}}}),
    )
    .await;
    let credential = create(
        "/api/api_credentials",
        json!({"data": {"type": "api_credentials", "attributes": {"name": "ERP", "kind": "integration"},
        "relationships": {"organization": organization, "role": role_linkage}}}),
    )
    .await;
    let api = create(
        "/api/api_resources",
        json!({"data": {"type": "api_resources",
        "attributes": {"name": "Orders", "identifier": "https://orders.example.com"},
        "relationships": {"organization": organization}}}),
    )
    .await;
    let scope = create(
        "/api/api_scopes",
        json!({"data": {"type": "api_scopes", "attributes": {"name": "orders:read"},
        "relationships": {"api_resource": {"data": {"type": "api_resources", "id": api["id"]}}}}}),
    )
    .await;
    let application_membership = create("/api/application_memberships", json!({"data": {"type": "application_memberships",
        "relationships": {"organization": organization, "api_credential": {"data": {"type": "api_credentials", "id": credential["id"]}}, "role": role_linkage}}})).await;
    let identity_provider = create("/api/identity_providers", json!({"data": {"type": "identity_providers",
        "attributes": {"name": "IdP", "client_id": "c", "client_secret": "s", "issuer": "https://idp.example.com",
            "domains": "example.com", "authorize_url": "https://idp.example.com/authorize",
            "token_url": "https://idp.example.com/token", "jwks_url": "https://idp.example.com/jwks", "organization": org}}})).await;
    let credential_provider = create(
        "/api/credential_providers",
        json!({"data": {"type": "credential_providers",
        "attributes": {"identifier": "upstream", "name": "Upstream", "client_id": "c", "client_secret": "s",
            "token_endpoint": "https://idp.example.com/token"},
        "relationships": {"organization": organization}}}),
    )
    .await;
    let user = app.get("/api/user").await.json()["data"]["id"].as_str().unwrap().to_string();
    let versions = app.get("/api/versions?page[size]=1").await.json();
    for (key, value) in [
        ("organizations", org.clone()),
        ("roles", role),
        ("permissions", permission["id"].as_str().unwrap().into()),
        ("memberships", membership["id"].as_str().unwrap().into()),
        ("membership_profiles", profile["id"].as_str().unwrap().into()),
        ("api_credentials", credential["id"].as_str().unwrap().into()),
        ("api_resources", api["id"].as_str().unwrap().into()),
        ("api_scopes", scope["id"].as_str().unwrap().into()),
        ("application_memberships", application_membership["id"].as_str().unwrap().into()),
        ("identity_providers", identity_provider["id"].as_str().unwrap().into()),
        ("credential_providers", credential_provider["id"].as_str().unwrap().into()),
        ("users", user),
        ("versions", versions["data"][0]["id"].as_str().unwrap().into()),
        ("client_id", credential["attributes"]["client_id"].as_str().unwrap().into()),
    ] {
        slots.insert(slot(key), value);
    }
    Server { app, slots, name, binary }
}

#[derive(QueryableByName)]
struct Fingerprint {
    #[diesel(sql_type = Text)]
    value: String,
}

/// Every table's row count and latest change, in one string: a refused request must leave it
/// as it was.
fn fingerprint(conn: &mut provisioning::db::AnyConnection) -> String {
    const TABLES: &[(&str, bool)] = &[
        ("organizations", true),
        ("users", true),
        ("roles", true),
        ("permissions", true),
        ("memberships", true),
        ("membership_profiles", true),
        ("api_credentials", true),
        ("application_memberships", true),
        ("api_resources", true),
        ("api_scopes", true),
        ("identity_providers", true),
        ("credential_providers", true),
        ("versions", false),
        ("upstream_credentials", false),
        ("api_credential_scopes", false),
        ("revoked_tokens", false),
        ("signing_keys", false),
    ];
    let parts: Vec<String> = TABLES
        .iter()
        .map(|(table, changes)| {
            let latest = if *changes {
                format!("COALESCE(CAST((SELECT MAX(updated_at) FROM {table}) AS TEXT), '')")
            } else {
                "''".into()
            };
            format!("CAST((SELECT COUNT(*) FROM {table}) AS TEXT) || '/' || {latest}")
        })
        .collect();
    let sql = format!("SELECT {} AS value", parts.join(" || ' ' || "));
    let query = diesel::sql_query(sql);
    let rows: Vec<Fingerprint> = match conn {
        provisioning::db::AnyConnection::Sqlite(c) => query.load(c),
        provisioning::db::AnyConnection::Postgresql(c) => query.load(c),
    }
    .expect("reading the fingerprint");
    rows.into_iter().next().unwrap().value
}

fn fill(text: &[u8], slots: &HashMap<String, String>) -> Vec<u8> {
    let mut text = text.to_vec();
    for (slot, value) in slots {
        let slot = slot.as_bytes();
        while let Some(at) = text.windows(slot.len()).position(|w| w == slot) {
            text.splice(at..at + slot.len(), value.bytes());
        }
    }
    text
}

async fn send(server: &Server, case: &Case) -> Option<TestResponse> {
    let target = String::from_utf8(fill(case.target.as_bytes(), &server.slots)).unwrap();
    let uri = format!("{}{}", server.app.base, target);
    // A target the client itself cannot send is no request.
    awc::http::Uri::try_from(uri.as_str()).ok()?;
    let mut request = server.app.client().request(case.method.clone(), uri);
    match &case.authorization {
        Authorization::Token => {
            request = request.insert_header(("authorization", format!("Bearer {}", server.app.token)))
        }
        Authorization::Header(value) => {
            let value = String::from_utf8(fill(value.as_bytes(), &server.slots)).unwrap();
            request = request.insert_header(("authorization", value));
        }
        Authorization::None => {}
    }
    if let Some(content_type) = &case.content_type {
        request = request.insert_header(("content-type", content_type.as_str()));
    }
    let result = match &case.body {
        Some(body) => request.send_body(fill(body, &server.slots)).await,
        None => request.send().await,
    };
    let mut response =
        result.unwrap_or_else(|e| panic!("{}: {} {target} got no answer: {e}", server.name, case.method));
    let bytes = response.body().limit(64 << 20).await.expect("reading the body");
    Some(TestResponse {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: String::from_utf8(bytes.to_vec()).expect("a UTF-8 body"),
    })
}

/// What is wrong with a refusal's body, if anything.
fn malformed(target: &str, response: &TestResponse) -> Option<String> {
    let body: Value = match serde_json::from_str(&response.text) {
        Ok(body) => body,
        Err(e) => return Some(format!("not JSON ({e})")),
    };
    let errors = body["errors"].as_array().filter(|e| !e.is_empty());
    let Some(errors) = errors else { return Some("no errors array".into()) };
    for error in errors {
        if error["status"] != json!(response.status.to_string()) {
            return Some("an error's status is not the response's, as a string".into());
        }
        if !(error["code"].is_string() && error["title"].is_string() && error["detail"].is_string()) {
            return Some("an error without code, title and detail".into());
        }
    }
    if target.starts_with("/oauth/") {
        if !body["error"].is_string() {
            return Some("an OAuth refusal without error".into());
        }
    } else if response.header("content-type").as_deref() != Some(MEDIA_TYPE) {
        return Some(format!("content type {:?}", response.header("content-type")));
    }
    None
}

#[actix_rt::test]
async fn thousands_of_hostile_requests_get_no_5xx_change_nothing_and_agree_across_backends() {
    let cases: usize = std::env::var("HOSTILE_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let seed: u64 = std::env::var("HOSTILE_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(12);
    let mut servers = vec![server("SQLite", Backend::Sqlite).await];
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        servers.push(server("PostgreSQL", Backend::Default).await);
    }
    let mut connections: Vec<_> = servers.iter().map(|s| connect(&s.app.database_url)).collect();
    let mut prints: Vec<String> = connections.iter_mut().map(fingerprint).collect();
    let types: Vec<&ResourceSpec> = provisioning::http::REGISTRY.types().iter().map(|t| t.spec()).collect();
    let mut generator = Generator { rng: StdRng::seed_from_u64(seed), calm: false, types };
    let mut problems: Vec<String> = Vec::new();
    let mut disagreements: Vec<String> = Vec::new();
    let mut routes: BTreeMap<String, usize> = BTreeMap::new();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut sent = 0;
    for index in 0..cases {
        let case = generator.case();
        let answers = futures_util::future::join_all(servers.iter().map(|s| send(s, &case))).await;
        if answers.iter().any(Option::is_none) {
            continue;
        }
        sent += 1;
        *routes.entry(format!("{} {}", case.method, case.route)).or_default() += 1;
        let shown = || {
            let target: String = case.target.chars().take(300).collect();
            let body = case.body.as_ref().map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned());
            format!("#{index} {} {target} {body:?}", case.method)
        };
        for ((server, answer), (conn, print)) in
            servers.iter().zip(&answers).zip(connections.iter_mut().zip(prints.iter_mut()))
        {
            let answer = answer.as_ref().unwrap();
            *statuses.entry(answer.status).or_default() += 1;
            if answer.status >= 500 {
                problems.push(format!("{}: {} for {}: {}", server.name, answer.status, shown(), answer.text));
            }
            if answer.status >= 400 && case.method != Method::HEAD {
                if let Some(wrong) = malformed(&case.target, answer) {
                    problems.push(format!(
                        "{}: {} {wrong} for {}: {}",
                        server.name,
                        answer.status,
                        shown(),
                        answer.text.chars().take(300).collect::<String>()
                    ));
                }
            }
            if case.method != Method::GET {
                let now = fingerprint(conn);
                if answer.status >= 400 && now != *print {
                    problems.push(format!(
                        "{}: refused with {} but changed records: {}",
                        server.name,
                        answer.status,
                        shown()
                    ));
                }
                *print = now;
            }
        }
        let first = answers[0].as_ref().unwrap().status;
        if answers.iter().any(|a| a.as_ref().unwrap().status != first) {
            let all: Vec<String> = servers
                .iter()
                .zip(&answers)
                .map(|(s, a)| {
                    let a = a.as_ref().unwrap();
                    format!("{} {} {}", s.name, a.status, a.text.chars().take(200).collect::<String>())
                })
                .collect();
            disagreements.push(format!("{}: {}", shown(), all.join(" | ")));
        }
        if problems.len() + disagreements.len() > 40 {
            break;
        }
    }
    let memory: Vec<String> = servers
        .iter()
        .map(|s| {
            let (now, peak) = s.binary.memory_kib();
            format!("{}: peak {} MiB, {} MiB after", s.name, peak / 1024, now / 1024)
        })
        .collect();
    eprintln!(
        "hostile: {sent} requests of {cases} generated (seed {seed}) to each of {} server(s); statuses {statuses:?}; \
         resident memory of each server process: {}",
        servers.len(),
        memory.join(", ")
    );
    // Memory stays bounded (issue 12, item 7): a debug build, so a generous reading of it.
    for server in &servers {
        let (_, peak) = server.binary.memory_kib();
        assert!(peak < 256 * 1024, "{} peaked at {} MiB under the hostile corpus", server.name, peak / 1024);
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n"));
    assert!(sent * 100 >= cases * 95, "only {sent} of {cases} generated requests could be sent");
    // Every route was tried, with more than one method where it has several.
    for route in [
        "/api/organizations",
        "/api/roles/:id",
        "/api/api_credentials/:id/relationships/:relationship",
        "/api/memberships/:id/resend",
        "/api/user",
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/introspect",
    ] {
        assert!(routes.keys().any(|r| r.ends_with(&format!(" {route}"))), "{route} was never tried: {routes:?}");
    }
}

/// Raw bytes the HTTP parser refuses before the app sees a request, on one connection each;
/// then the server still answers.
#[actix_rt::test]
async fn requests_the_http_parser_refuses_never_crash_or_hang_the_server() {
    let app = spawn_app().await;
    let address = app.base.trim_start_matches("http://").to_string();
    let many_headers: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let long_header = format!("X-Long: {}\r\n", "a".repeat(64 * 1024));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"\x00\x01\x02 hello\r\n\r\n".to_vec()),
        ("no version", b"GET /api/organizations\r\n\r\n".to_vec()),
        ("a space in the target", b"GET /api/organi zations HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("a NUL in a header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n".to_vec()),
        ("a header without a colon", b"GET / HTTP/1.1\r\nHost x\r\n\r\n".to_vec()),
        ("200 headers", format!("GET / HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes()),
        ("a 64 KiB header", format!("GET / HTTP/1.1\r\nHost: x\r\n{long_header}\r\n").into_bytes()),
        ("a 1 MiB request line", format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(1 << 20)).into_bytes()),
        ("a Content-Length that is no number", b"POST /api/organizations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec()),
        ("two Content-Lengths", b"POST /api/organizations HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec()),
        ("a broken chunk", b"POST /api/organizations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n".to_vec()),
        ("chunked and a length", b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n".to_vec()),
        ("a Content-Length that lies", b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"a\":".to_vec()),
        ("HTTP/3.0", b"GET / HTTP/3.0\r\nHost: x\r\n\r\n".to_vec()),
        ("an unknown method", b"BREW /api/organizations HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let address = address.clone();
        let answer = actix_web::rt::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(&address).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            // The server may close while a long request is still being written.
            let _ = stream.write_all(&bytes);
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let mut answer = Vec::new();
            let started = std::time::Instant::now();
            let result = stream.read_to_end(&mut answer);
            (
                result.map_err(|e| e.kind()),
                started.elapsed(),
                String::from_utf8_lossy(&answer).lines().next().unwrap_or("").to_string(),
            )
        })
        .await
        .unwrap();
        let (result, took, first_line) = answer;
        eprintln!("parser: {name}: {first_line:?} in {took:?}");
        assert!(
            !matches!(result, Err(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
            "{name}: the server neither answered nor closed in {took:?}"
        );
        assert!(!first_line.starts_with("HTTP/1.1 5"), "{name}: {first_line}");
        let response = app.get("/api/organizations").await;
        assert_eq!(response.status, 200, "after {name}: {}", response.text);
    }
}
