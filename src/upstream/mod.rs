//! What this service asks of other systems on a request's behalf: DNS, for identity providers'
//! domains. Answers come back to the write that asked (`resources::write::Inquiry`), before its
//! transaction begins.

pub mod dns;

use crate::resources::write::{Answer, Inquiry};

pub struct Upstream {
    pub dns: dns::Dns,
}

impl Upstream {
    pub async fn answer(&self, inquiry: &Inquiry) -> Answer {
        match inquiry {
            Inquiry::TxtRecords { domains, expected } => self.dns.publish(domains, expected).await,
        }
    }
}
