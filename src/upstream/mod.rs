//! What this service asks of other systems on a request's behalf, never inside a transaction:
//! DNS, for identity providers' domains (answering the write that asked,
//! `resources::write::Inquiry`), and credential providers' token endpoints, for the upstream
//! credentials a resource token carries.

pub mod credentials;
pub mod dns;
pub mod oidc;

use serde_json::Value;

use crate::resources::write::{Answer, Inquiry};

pub struct Upstream {
    pub dns: dns::Dns,
    /// For providers' endpoints, with UPSTREAM_TIMEOUT.
    pub http: reqwest::Client,
}

/// The most of an upstream answer we read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Sends `request` and reads its JSON answer; why not, naming the endpoint as `what`: a
/// refusal with its OAuth `error` and `error_description` (never an upstream's other text), no
/// answer in time, no connection, an answer too long or not JSON.
pub async fn call(request: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
    let unreachable = |error: reqwest::Error| match error.is_timeout() {
        true => format!("{what} did not answer in time"),
        false if error.is_connect() => format!("{what} could not be reached"),
        false => format!("calling {what} failed ({})", error.without_url()),
    };
    let mut response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(format!("{what}'s answer is longer than {MAX_RESPONSE_BYTES} bytes"));
        }
        bytes.extend_from_slice(&chunk);
    }
    let document: Option<Value> = serde_json::from_slice(&bytes).ok();
    if !(200..300).contains(&status) {
        return Err(refusal(what, status, document.as_ref()));
    }
    document.ok_or_else(|| format!("{what}'s answer is not JSON"))
}

fn refusal(what: &str, status: u16, document: Option<&Value>) -> String {
    let field = |name: &str| document.and_then(|d| d.get(name)).and_then(Value::as_str).map(|s| cut(s, 300));
    match (field("error"), field("error_description")) {
        (Some(error), Some(description)) => format!("{what} answered {status}: {error} ({description})"),
        (Some(error), None) => format!("{what} answered {status}: {error}"),
        _ => format!("{what} answered {status}"),
    }
}

fn cut(text: &str, most: usize) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    match clean.char_indices().nth(most) {
        Some((at, _)) => format!("{}…", &clean[..at]),
        None => clean,
    }
}

impl Upstream {
    pub async fn answer(&self, inquiry: &Inquiry) -> Answer {
        match inquiry {
            Inquiry::TxtRecords { domains, expected } => self.dns.publish(domains, expected).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refusals_say_the_oauth_error_and_nothing_else() {
        let document = json!({"error": "invalid_client", "error_description": "Bad\nsecret"});
        let said = refusal("the token endpoint", 401, Some(&document));
        assert_eq!(said, "the token endpoint answered 401: invalid_client (Badsecret)");
        assert_eq!(refusal("the token endpoint", 502, None), "the token endpoint answered 502");
    }
}
