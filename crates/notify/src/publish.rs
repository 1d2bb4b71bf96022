//! Delivery: which topics a notification goes to, and SNS.

use std::future::Future;

use crate::message::{Notification, Route};

/// A notification could not be delivered.
#[derive(Debug, thiserror::Error)]
#[error("notification to {topic} failed: {message}")]
pub struct NotifyError {
    pub topic: String,
    pub message: String,
}

/// The topics: `NOTIFICATION_TOPIC_ARN` (operations, required) and `DNS_TEAM_TOPIC_ARN`
/// (optional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub operations: String,
    pub dns_team: Option<String>,
}

impl Topics {
    /// Operations gets everything; the DNS team only its requests. Never the same topic twice.
    pub fn for_route(&self, route: Route) -> Vec<&str> {
        let mut topics = vec![self.operations.as_str()];
        if route == Route::DnsTeam
            && let Some(dns) = self.dns_team.as_deref()
            && dns != self.operations
        {
            topics.push(dns);
        }
        topics
    }
}

/// Sends a rendered notification to where its route says.
pub trait Notifier: Send + Sync {
    fn send(&self, notification: &Notification) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

/// SNS `Publish` to each topic of the route.
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topics: Topics,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topics: Topics) -> Self {
        Self { client, topics }
    }
}

impl Notifier for SnsNotifier {
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let (subject, message) = (notification.subject(), notification.message());
        for topic in self.topics.for_route(notification.route) {
            self.client.publish().topic_arn(topic).subject(&subject).message(&message).send().await.map_err(|e| {
                NotifyError { topic: topic.to_owned(), message: aws_sdk_sns::error::DisplayErrorContext(e).to_string() }
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_get_everything_dns_team_only_requests() {
        let both = Topics { operations: "ops".into(), dns_team: Some("dns".into()) };
        assert_eq!(both.for_route(Route::Operations), vec!["ops"]);
        assert_eq!(both.for_route(Route::DnsTeam), vec!["ops", "dns"]);
        let ops_only = Topics { operations: "ops".into(), dns_team: None };
        assert_eq!(ops_only.for_route(Route::DnsTeam), vec!["ops"]);
        let same = Topics { operations: "ops".into(), dns_team: Some("ops".into()) };
        assert_eq!(same.for_route(Route::DnsTeam), vec!["ops"]);
    }
}
