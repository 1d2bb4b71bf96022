//! Shared set-up: a domain with real keys created by the DKIM manager, and the fakes around it
//! (moto clients are logmask-test-support's).

use jiff::Timestamp;
use logmask_dkim::fakes::{FakeDns, FakeSes, MemoryStore};
use logmask_dkim::{KeyRepository, ManagerConfig};
use logmask_monitor::fakes::{FakeInvoker, FakeMetrics};
use logmask_monitor::{Config, Deps};
use logmask_notify::Suppressor;
use logmask_notify::testing::{MemoryStateStore, RecordingNotifier};
use serde_json::{Value, json};

pub const DOMAIN: &str = "mail.example.jp";

pub fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn config(extra: &[(&str, &str)]) -> Config {
    let mut pairs = vec![
        ("DKIM_CERTIFICATES_BUCKET", "certs".to_owned()),
        ("NOTIFICATION_TOPIC_ARN", "arn:aws:sns:ap-northeast-1:000000000000:ops".to_owned()),
        ("DOMAIN_NAME", DOMAIN.to_owned()),
        ("ENVIRONMENT", "prod".to_owned()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    Config::from_lookup(|k| pairs.iter().rev().find(|(name, _)| *name == k).map(|(_, v)| v.clone())).unwrap()
}

/// Keys made by the DKIM manager (its real code path) in `store`: `selectors[i]` created at
/// `created[i]`; returns each create response.
pub async fn manager_keys(store: &MemoryStore, ses: &FakeSes, dns: &FakeDns, keys: &[(&str, &str)]) -> Vec<Value> {
    let deps = logmask_dkim::Deps {
        keys: KeyRepository::new(store.clone()),
        notifier: RecordingNotifier::default(),
        ses: ses.clone(),
        dns: dns.clone(),
        config: ManagerConfig::default(),
    };
    let mut out = Vec::new();
    for (selector, at) in keys {
        let response = logmask_dkim::handle(
            &json!({"action": "create_dkim_certificate", "domain": DOMAIN, "selector": selector}),
            &deps,
            t(at),
        )
        .await
        .unwrap();
        out.push(serde_json::to_value(response).unwrap());
    }
    out
}

/// Runs a DKIM manager action on the same store (to apply/activate keys as operators would).
pub async fn manager(store: &MemoryStore, ses: &FakeSes, dns: &FakeDns, payload: Value, at: &str) -> Value {
    let deps = logmask_dkim::Deps {
        keys: KeyRepository::new(store.clone()),
        notifier: RecordingNotifier::default(),
        ses: ses.clone(),
        dns: dns.clone(),
        config: ManagerConfig::default(),
    };
    serde_json::to_value(logmask_dkim::handle(&payload, &deps, t(at)).await.unwrap()).unwrap()
}

pub type FakeDeps<R> = Deps<MemoryStore, FakeSes, R, FakeMetrics, FakeInvoker, RecordingNotifier, MemoryStateStore>;

pub fn fake_deps<R>(store: &MemoryStore, ses: &FakeSes, dns: R, metrics: FakeMetrics, config: Config) -> FakeDeps<R> {
    Deps {
        keys: KeyRepository::new(store.clone()),
        ses: ses.clone(),
        dns,
        metrics,
        invoker: FakeInvoker::default(),
        notifier: RecordingNotifier::default(),
        suppressor: Suppressor::new(MemoryStateStore::default(), "monitor-state/", config.repeat_after_days),
        config,
    }
}
