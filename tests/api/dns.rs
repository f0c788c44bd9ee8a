//! A real DNS server on loopback (hickory-server), authoritative for `test.`, serving the TXT
//! records a test publishes: what identity providers' domain checks ask through DNS_RESOLVER.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use hickory_server::authority::{Catalog, ZoneType};
use hickory_server::proto::rr::rdata::{SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryAuthority;
use hickory_server::ServerFuture;

pub struct Zone {
    pub address: SocketAddr,
    authority: Arc<InMemoryAuthority>,
    serial: AtomicU32,
}

impl Zone {
    /// Serves `test.` on a free UDP port of 127.0.0.1, for as long as the test runs.
    pub async fn start() -> Zone {
        let origin = Name::from_ascii("test.").unwrap();
        let mut authority = InMemoryAuthority::empty(origin.clone(), ZoneType::Primary, false);
        let soa = SOA::new(
            Name::from_ascii("ns.test.").unwrap(),
            Name::from_ascii("hostmaster.test.").unwrap(),
            1,
            3600,
            600,
            86400,
            0,
        );
        authority.upsert_mut(Record::from_rdata(origin.clone(), 0, RData::SOA(soa)), 1);
        let authority = Arc::new(authority);
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![authority.clone()]);
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = socket.local_addr().unwrap();
        let mut server = ServerFuture::new(catalog);
        server.register_socket_std(socket).unwrap();
        actix_rt::spawn(async move {
            let _ = server.block_until_done().await;
        });
        Zone { address, authority, serial: AtomicU32::new(2) }
    }

    /// Adds a TXT record to `domain` (beside those it has).
    pub async fn publish(&self, domain: &str, text: &str) {
        let name = Name::from_ascii(format!("{domain}.")).unwrap();
        let record = Record::from_rdata(name, 0, RData::TXT(TXT::new(vec![text.to_string()])));
        let serial = self.serial.fetch_add(1, Ordering::SeqCst);
        assert!(self.authority.upsert(record, serial).await, "published {text:?} at {domain}");
    }
}
