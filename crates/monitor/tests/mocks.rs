//! SESv2 GetEmailIdentity and CloudWatch GetMetricData through the real SDK clients with
//! aws-smithy-mocks (moto does not speak these to the Rust SDK; see main.rs).

use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::MetricDataResult;
use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput;
use aws_sdk_sesv2::types::{DkimAttributes, DkimSigningAttributesOrigin, DkimStatus};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use logmask_dkim::fakes::{FakeDns, FakeSes, MemoryStore};
use logmask_dkim::ses::SesV2DkimClient;
use logmask_monitor::metrics::{CloudWatchMetrics, MetricsApi, sending_queries};
use logmask_monitor::{Mode, run_checks};
use logmask_notify::Severity;

use crate::support::{DOMAIN, config, manager_keys, t};

#[tokio::test]
async fn ses_failed_status_from_the_sdk_is_critical() {
    let (store, dns) = (MemoryStore::default(), FakeDns::default());
    manager_keys(&store, &FakeSes::easy_dkim(), &dns, &[("s1", "2026-06-01T00:00:00Z")]).await;
    let get = mock!(aws_sdk_sesv2::Client::get_email_identity)
        .match_requests(|req| req.email_identity() == Some(DOMAIN))
        .then_output(|| {
            GetEmailIdentityOutput::builder()
                .dkim_attributes(
                    DkimAttributes::builder()
                        .signing_enabled(true)
                        .status(DkimStatus::Failed)
                        .tokens("s1")
                        .signing_attributes_origin(DkimSigningAttributesOrigin::External)
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_sesv2, RuleMode::MatchAny, [&get]);
    let deps = logmask_monitor::Deps {
        keys: logmask_dkim::KeyRepository::new(store.clone()),
        ses: SesV2DkimClient::new(client),
        dns: dns.clone(),
        metrics: logmask_monitor::fakes::FakeMetrics::default(),
        invoker: logmask_monitor::fakes::FakeInvoker::default(),
        notifier: logmask_notify::testing::RecordingNotifier::default(),
        suppressor: logmask_notify::Suppressor::new(logmask_notify::testing::MemoryStateStore::default(), "s/", 7),
        config: config(&[]),
    };
    let report = run_checks(&deps, &DOMAIN.parse().unwrap(), t("2026-06-02T00:00:00Z"), Mode::Live).await;
    let status = report.findings.iter().find(|f| f.id == "ses-dkim/status").unwrap();
    assert_eq!(status.severity, Severity::Critical);
    // SES signs with s1, whose TXT is not published: the DNS check says so too.
    assert!(report.findings.iter().any(|f| f.id == "dns/s1" && f.severity == Severity::Critical));
}

fn result(id: &str, values: &[f64]) -> MetricDataResult {
    MetricDataResult::builder().id(id).set_values(Some(values.to_vec())).build()
}

#[tokio::test]
async fn cloudwatch_values_are_combined_per_query_over_24_hours() {
    let now = t("2026-12-01T00:00:00Z");
    let get = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(move |req| {
            let (start, end) = (req.start_time().unwrap().secs(), req.end_time().unwrap().secs());
            end == now.as_second() && end - start == 86_400 && req.metric_data_queries().len() == 10
        })
        .then_output(|| {
            GetMetricDataOutput::builder()
                // A day's window can straddle two periods: the sums add up.
                .metric_data_results(result("send", &[600.0, 400.0]))
                .metric_data_results(result("delivery", &[950.0]))
                .metric_data_results(result("bounce_permanent", &[40.0, 20.0]))
                .metric_data_results(result("bounce_permanent_suppressed", &[10.0]))
                .metric_data_results(result("reputation_bounce", &[0.01, 0.031]))
                .metric_data_results(result("events", &[]))
                .build()
        });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&get]);
    let metrics = CloudWatchMetrics::new(client);
    let config = config(&[]);
    let values = metrics
        .values(&sending_queries(&config, DOMAIN), now - jiff::SignedDuration::from_hours(24), now)
        .await
        .unwrap();
    assert_eq!(values["send"], Some(1000.0));
    assert_eq!(values["bounce_permanent"], Some(60.0));
    assert_eq!(values["reputation_bounce"], Some(0.031), "Maximum, not Sum");
    assert_eq!(values["events"], None);
    assert_eq!(values["complaint"], None);
    let findings = logmask_monitor::checks::sending_health(&values, &config.thresholds);
    let got: Vec<(&str, Severity)> = findings.iter().map(|f| (f.id.as_str(), f.severity)).collect();
    // (60 − 10) / 1000 = 5.0 % → CRITICAL; reputation 3.1 % → WARNING.
    assert_eq!(
        got,
        vec![("sending/bounce-rate", Severity::Critical), ("sending/reputation-bounce-rate", Severity::Warning)]
    );
}
