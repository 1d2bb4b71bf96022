//! Test support shared with other crates' tests (feature `test-util`): an in-process DNS server.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::record::split_character_strings;
use hickory_proto::rr::rdata::{SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record};
use hickory_server::Server;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};

/// A primary zone served over UDP on 127.0.0.1:<ephemeral>. Dropping it stops nothing, so keep
/// it alive for the test's duration (the runtime ends with the test).
pub struct DnsServer {
    pub addr: SocketAddr,
    _server: Server<Catalog>,
}

/// Starts the zone `origin` with `records` (panics on setup failure: test support only).
///
/// `records`: (owner name relative to `origin`, TXT values); each value becomes one TXT record
/// split into ≤ 255-byte strings, several values make several records at that name.
pub async fn start_dns(origin: &str, records: &[(&str, Vec<String>)]) -> DnsServer {
    let origin_name = Name::from_ascii(format!("{origin}.")).unwrap();
    let mut zone: InMemoryZoneHandler =
        InMemoryZoneHandler::empty(origin_name.clone(), ZoneType::Primary, AxfrPolicy::Deny);
    let soa = SOA::new(
        Name::from_ascii(format!("ns.{origin}.")).unwrap(),
        Name::from_ascii(format!("hostmaster.{origin}.")).unwrap(),
        1,
        3600,
        600,
        86_400,
        60,
    );
    zone.upsert_mut(Record::from_rdata(origin_name.clone(), 3600, RData::SOA(soa)), 1);
    for (label, values) in records {
        let name = Name::from_ascii(format!("{label}.{origin}.")).unwrap();
        for value in values {
            let txt = TXT::new(split_character_strings(value));
            zone.upsert_mut(Record::from_rdata(name.clone(), 60, RData::TXT(txt)), 1);
        }
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin_name), vec![Arc::new(zone)]);
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let mut server = Server::new(catalog);
    server.register_socket(socket);
    DnsServer { addr, _server: server }
}
