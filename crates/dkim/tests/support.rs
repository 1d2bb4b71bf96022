//! Shared test helpers: an in-process DNS server and moto configuration.

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::rr::rdata::{SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record};
use hickory_server::Server;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use logmask_dkim::record::split_character_strings;

/// A primary zone served over UDP on 127.0.0.1:<ephemeral>. Dropping it stops nothing, so keep
/// it alive for the test's duration (the runtime ends with the test).
pub struct DnsServer {
    pub addr: SocketAddr,
    _server: Server<Catalog>,
}

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

/// The moto endpoint exported by `scripts/test`. Tests that need it fail loudly without it.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "MOTO_ENDPOINT is not set: these tests need moto_server. Run ./scripts/test, or start \
             `moto_server -H 127.0.0.1 -p 5123` and export MOTO_ENDPOINT=http://127.0.0.1:5123"
        )
    })
}

pub async fn moto_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("ap-northeast-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// A name no other test (or earlier run against the same moto) uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}
