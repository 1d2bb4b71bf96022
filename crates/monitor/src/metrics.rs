//! CloudWatch `GetMetricData` over the last 24 hours: the Firehose handler's SES metrics, its
//! pipeline metrics, and SES's own account metrics.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use jiff::Timestamp;

use crate::config::Config;
use crate::error::CheckError;

/// One day: the window and the period of every query.
pub const WINDOW_SECONDS: i32 = 86_400;

/// How a query's datapoints combine into one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    Sum,
    Maximum,
}

impl Stat {
    fn as_str(self) -> &'static str {
        match self {
            Stat::Sum => "Sum",
            Stat::Maximum => "Maximum",
        }
    }
}

/// One metric of the window.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricQuery {
    /// A metric with exact dimensions.
    Metric { id: &'static str, namespace: String, name: String, dimensions: Vec<(String, String)>, stat: Stat },
    /// Metric math (e.g. `SUM(SEARCH(…))` across configuration sets).
    Expression { id: &'static str, expression: String, stat: Stat },
}

impl MetricQuery {
    pub fn id(&self) -> &'static str {
        match self {
            MetricQuery::Metric { id, .. } | MetricQuery::Expression { id, .. } => id,
        }
    }
    fn stat(&self) -> Stat {
        match self {
            MetricQuery::Metric { stat, .. } | MetricQuery::Expression { stat, .. } => *stat,
        }
    }
}

/// Values per query id over `[start, end)`; `None` when the metric has no datapoints.
pub trait MetricsApi: Send + Sync {
    fn values(
        &self,
        queries: &[MetricQuery],
        start: Timestamp,
        end: Timestamp,
    ) -> impl Future<Output = Result<HashMap<String, Option<f64>>, CheckError>> + Send;
}

/// Ids of the sending-health queries.
pub mod ids {
    pub const SEND: &str = "send";
    pub const DELIVERY: &str = "delivery";
    pub const BOUNCE_PERMANENT: &str = "bounce_permanent";
    pub const BOUNCE_PERMANENT_SUPPRESSED: &str = "bounce_permanent_suppressed";
    pub const COMPLAINT: &str = "complaint";
    pub const EVENTS: &str = "events";
    pub const RECORDS_FAILED: &str = "records_failed";
    pub const SES_SEND: &str = "ses_send";
    pub const REPUTATION_BOUNCE: &str = "reputation_bounce";
    pub const REPUTATION_COMPLAINT: &str = "reputation_complaint";
}

/// The queries of one run: the Firehose handler's counts for the domain (per configuration set
/// when `CONFIGURATION_SET_NAME` is set, else summed over all sets with `SEARCH`), its
/// `RecordsProcessingFailed`, and `AWS/SES` `Send` and `Reputation.*`.
pub fn sending_queries(config: &Config, domain: &str) -> Vec<MetricQuery> {
    let ns = &config.metrics_namespace;
    let ses_metric = |id: &'static str, name: &str| match &config.configuration_set {
        Some(set) => MetricQuery::Metric {
            id,
            namespace: ns.clone(),
            name: name.into(),
            dimensions: vec![("ConfigurationSet".into(), set.clone()), ("SendingDomain".into(), domain.into())],
            stat: Stat::Sum,
        },
        None => MetricQuery::Expression {
            id,
            expression: format!(
                "SUM(SEARCH('{{\"{ns}\",ConfigurationSet,SendingDomain}} MetricName=\"{name}\" SendingDomain=\"{domain}\"', 'Sum', {WINDOW_SECONDS}))"
            ),
            stat: Stat::Sum,
        },
    };
    let plain = |id: &'static str, namespace: &str, name: &str, dimensions: Vec<(String, String)>, stat| {
        MetricQuery::Metric { id, namespace: namespace.into(), name: name.into(), dimensions, stat }
    };
    vec![
        ses_metric(ids::SEND, "Send"),
        ses_metric(ids::DELIVERY, "Delivery"),
        ses_metric(ids::BOUNCE_PERMANENT, "BouncePermanent"),
        ses_metric(ids::BOUNCE_PERMANENT_SUPPRESSED, "BouncePermanentSuppressed"),
        ses_metric(ids::COMPLAINT, "Complaint"),
        ses_metric(ids::EVENTS, "Events"),
        plain(
            ids::RECORDS_FAILED,
            ns,
            "RecordsProcessingFailed",
            vec![("Service".into(), config.transform_service.clone())],
            Stat::Sum,
        ),
        plain(ids::SES_SEND, "AWS/SES", "Send", vec![], Stat::Sum),
        plain(ids::REPUTATION_BOUNCE, "AWS/SES", "Reputation.BounceRate", vec![], Stat::Maximum),
        plain(ids::REPUTATION_COMPLAINT, "AWS/SES", "Reputation.ComplaintRate", vec![], Stat::Maximum),
    ]
}

/// `aws-sdk-cloudwatch` (Smithy RPCv2-CBOR since 1.100, which moto does not serve: the tests
/// use aws-smithy-mocks).
pub struct CloudWatchMetrics {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchMetrics {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

fn to_sdk(query: &MetricQuery) -> MetricDataQuery {
    match query {
        MetricQuery::Metric { id, namespace, name, dimensions, stat } => {
            let mut metric = Metric::builder().namespace(namespace).metric_name(name);
            for (k, v) in dimensions {
                metric = metric.dimensions(Dimension::builder().name(k).value(v).build());
            }
            MetricDataQuery::builder()
                .id(*id)
                .metric_stat(
                    MetricStat::builder().metric(metric.build()).period(WINDOW_SECONDS).stat(stat.as_str()).build(),
                )
                .return_data(true)
                .build()
        }
        MetricQuery::Expression { id, expression, .. } => {
            MetricDataQuery::builder().id(*id).expression(expression).period(WINDOW_SECONDS).return_data(true).build()
        }
    }
}

fn combine(stat: Stat, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match stat {
        Stat::Sum => values.iter().sum(),
        Stat::Maximum => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

impl MetricsApi for CloudWatchMetrics {
    async fn values(
        &self,
        queries: &[MetricQuery],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<HashMap<String, Option<f64>>, CheckError> {
        let mut points: HashMap<String, Vec<f64>> = queries.iter().map(|q| (q.id().to_owned(), Vec::new())).collect();
        let mut pages = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.iter().map(to_sdk).collect()))
            .start_time(DateTime::from_secs(start.as_second()))
            .end_time(DateTime::from_secs(end.as_second()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| CheckError::from_chain("CloudWatch GetMetricData", &e))?;
            for result in page.metric_data_results() {
                if let Some(id) = result.id()
                    && let Some(values) = points.get_mut(id)
                {
                    values.extend_from_slice(result.values());
                }
            }
        }
        Ok(queries.iter().map(|q| (q.id().to_owned(), combine(q.stat(), &points[q.id()]))).collect())
    }
}
