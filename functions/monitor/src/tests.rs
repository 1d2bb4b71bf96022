use super::*;
use lambda_runtime::Context;
use logmask_dkim::fakes::{FakeDns, FakeSes, MemoryStore};
use logmask_monitor::fakes::{FakeInvoker, FakeMetrics};
use logmask_notify::testing::{MemoryStateStore, RecordingNotifier};
use serde_json::json;

type TestDeps = Deps<MemoryStore, FakeSes, FakeDns, FakeMetrics, FakeInvoker, RecordingNotifier, MemoryStateStore>;

fn deps(metrics: FakeMetrics) -> TestDeps {
    let config = Config::from_lookup(|k| {
        [("DKIM_CERTIFICATES_BUCKET", "certs"), ("NOTIFICATION_TOPIC_ARN", "arn:ops"), ("DOMAIN_NAME", "example.jp")]
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    Deps {
        keys: KeyRepository::new(MemoryStore::default()),
        ses: FakeSes::easy_dkim(),
        dns: FakeDns::default(),
        metrics,
        invoker: FakeInvoker::default(),
        notifier: RecordingNotifier::default(),
        suppressor: Suppressor::new(MemoryStateStore::default(), "monitor-state/", 7),
        config,
    }
}

#[tokio::test]
async fn handler_answers_scheduled_and_manual_events() {
    let deps = deps(FakeMetrics::with(&[("ses_send", 100.0)]));
    let scheduled = json!({"version": "0", "source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}});
    let out = handler(LambdaEvent::new(scheduled, Context::default()), &deps).await.unwrap();
    assert_eq!(out["statusCode"], json!(200));
    assert_eq!(out["domain"], json!("example.jp"));
    // SES sent 100 messages but the pipeline saw no events.
    assert_eq!(out["findings"][0]["id"], json!("pipeline/no-events"));
    assert_eq!(out["notifications"]["sent"], json!(1));
    let manual = json!({"source": "manual", "domain": "other.example.jp"});
    let out = handler(LambdaEvent::new(manual, Context::default()), &deps).await.unwrap();
    assert_eq!(out["domain"], json!("other.example.jp"));
}

#[tokio::test]
async fn handler_rejects_unknown_payloads_clearly() {
    let err = handler(LambdaEvent::new(json!({"action": "status"}), Context::default()), &deps(FakeMetrics::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown payload"), "{err}");
    assert!(err.to_string().contains("\"source\":\"manual\""), "{err}");
}
