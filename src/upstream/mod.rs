//! What this service asks of other systems on a request's behalf, never inside a transaction:
//! DNS, for identity providers' domains (answering the write that asked,
//! `resources::write::Inquiry`), and credential providers' token endpoints, for the upstream
//! credentials a resource token carries.

pub mod credentials;
pub mod dns;

use crate::resources::write::{Answer, Inquiry};

pub struct Upstream {
    pub dns: dns::Dns,
    /// For providers' endpoints, with UPSTREAM_TIMEOUT.
    pub http: reqwest::Client,
}

impl Upstream {
    pub async fn answer(&self, inquiry: &Inquiry) -> Answer {
        match inquiry {
            Inquiry::TxtRecords { domains, expected } => self.dns.publish(domains, expected).await,
        }
    }
}
