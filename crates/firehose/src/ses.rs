//! SES event-publishing records: the few fields the partition keys and the metrics need.
//!
//! Everything is optional: the documented samples already disagree on which fields exist.

use std::borrow::Cow;

use serde::Deserialize;

use crate::json::JsonBytes;

/// The facts of one SES event that leave the function unmasked: its type, bounce class, the
/// configuration set and the *sending* domain. Never a recipient or a message id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesFacts {
    /// Metric bucket of the event.
    pub event: SesEvent,
    /// `mail.tags["ses:configuration-set"][0]`, sanitised; `none` when absent.
    pub configuration_set: String,
    /// Domain of `mail.source`, lower-cased and sanitised; `unknown` when absent.
    pub sending_domain: String,
}

/// SES event types as counted. Bounces are split by `bounceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SesEvent {
    /// `Send`
    Send,
    /// `Delivery`
    Delivery,
    /// `Bounce` with `bounceType` Permanent; `suppressed` for subtype `OnAccountSuppressionList`,
    /// which SES leaves out of its bounce rate.
    BouncePermanent {
        /// `bounceSubType == "OnAccountSuppressionList"`
        suppressed: bool,
    },
    /// `Bounce` with `bounceType` Transient.
    BounceTransient,
    /// `Bounce` with `bounceType` Undetermined or missing.
    BounceUndetermined,
    /// `Complaint`
    Complaint,
    /// `Reject`
    Reject,
    /// `Open`
    Open,
    /// `Click`
    Click,
    /// `Rendering Failure` (detail object `failure`).
    RenderingFailure,
    /// `DeliveryDelay`
    DeliveryDelay,
    /// `Subscription`
    Subscription,
    /// Any other `eventType`/`notificationType`.
    Other,
}

impl SesEvent {
    /// The `eventType` partition key: the SES name without spaces.
    pub fn partition_name(self) -> &'static str {
        match self {
            SesEvent::Send => "Send",
            SesEvent::Delivery => "Delivery",
            SesEvent::BouncePermanent { .. } | SesEvent::BounceTransient | SesEvent::BounceUndetermined => "Bounce",
            SesEvent::Complaint => "Complaint",
            SesEvent::Reject => "Reject",
            SesEvent::Open => "Open",
            SesEvent::Click => "Click",
            SesEvent::RenderingFailure => "RenderingFailure",
            SesEvent::DeliveryDelay => "DeliveryDelay",
            SesEvent::Subscription => "Subscription",
            SesEvent::Other => "Other",
        }
    }
}

/// The shape probed on every JSON record: SES fields and CloudWatch Logs fields side by side, so
/// one parse tells which kind of record it is. Unknown fields are skipped by the parser (and still
/// masked, because masking runs over the record's text).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Probe<'a> {
    #[serde(borrow, default)]
    pub event_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub notification_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub mail: Option<Mail<'a>>,
    #[serde(borrow, default)]
    pub bounce: Option<Detail<'a>>,
    #[serde(borrow, default)]
    pub complaint: Option<Detail<'a>>,
    #[serde(borrow, default)]
    pub delivery: Option<Detail<'a>>,
    #[serde(borrow, default)]
    pub open: Option<Detail<'a>>,
    #[serde(borrow, default)]
    pub click: Option<Detail<'a>>,
    #[serde(borrow, default)]
    pub delivery_delay: Option<Detail<'a>>,
    #[serde(borrow, default)]
    pub subscription: Option<Detail<'a>>,

    // CloudWatch Logs subscription envelope.
    #[serde(borrow, default)]
    pub message_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub log_group: Option<JsonBytes<'a>>,
    #[serde(borrow, default)]
    pub log_stream: Option<JsonBytes<'a>>,
    /// Only whether the field is there: the events are streamed by a second pass
    /// ([`crate::cwl::for_each_log_event`]) so that a record's events are never all held at once.
    #[serde(default)]
    pub log_events: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Mail<'a> {
    #[serde(borrow, default)]
    pub timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub tags: Option<ConfigurationSetTag<'a>>,
}

/// `mail.tags`, of which only `ses:configuration-set` is kept: the other tags are skipped by the
/// parser without being stored.
#[derive(Debug, Default)]
pub(crate) struct ConfigurationSetTag<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for ConfigurationSetTag<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);

        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = ConfigurationSetTag<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of tag names to lists of values")
            }

            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut found = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "ses:configuration-set" && found.is_none() {
                        found = map.next_value::<Vec<Cow<'a, str>>>()?.into_iter().next();
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(ConfigurationSetTag(found))
            }
        }

        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Detail<'a> {
    #[serde(borrow, default)]
    pub timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub bounce_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub bounce_sub_type: Option<Cow<'a, str>>,
}

impl<'a> Probe<'a> {
    pub fn is_cloudwatch_logs(&self) -> bool {
        self.message_type.is_some() && (self.log_events.is_some() || self.log_group.is_some())
    }

    pub fn is_ses(&self) -> bool {
        self.mail.is_some() && (self.event_type.is_some() || self.notification_type.is_some())
    }

    /// The event's own time: the detail object's timestamp, else `mail.timestamp`.
    pub fn ses_timestamp(&self) -> Option<&str> {
        [
            &self.bounce,
            &self.complaint,
            &self.delivery,
            &self.open,
            &self.click,
            &self.delivery_delay,
            &self.subscription,
        ]
        .into_iter()
        .flatten()
        .find_map(|d| d.timestamp.as_deref())
        .or_else(|| self.mail.as_ref()?.timestamp.as_deref())
    }

    pub fn ses_facts(&self) -> SesFacts {
        let kind = self.event_type.as_deref().or(self.notification_type.as_deref()).unwrap_or("");
        let event = match kind {
            "Send" => SesEvent::Send,
            "Delivery" => SesEvent::Delivery,
            "Bounce" => {
                let bounce = self.bounce.as_ref();
                match bounce.and_then(|b| b.bounce_type.as_deref()) {
                    Some("Permanent") => SesEvent::BouncePermanent {
                        suppressed: bounce.and_then(|b| b.bounce_sub_type.as_deref())
                            == Some("OnAccountSuppressionList"),
                    },
                    Some("Transient") => SesEvent::BounceTransient,
                    _ => SesEvent::BounceUndetermined,
                }
            }
            "Complaint" => SesEvent::Complaint,
            "Reject" => SesEvent::Reject,
            "Open" => SesEvent::Open,
            "Click" => SesEvent::Click,
            "Rendering Failure" | "RenderingFailure" => SesEvent::RenderingFailure,
            "DeliveryDelay" => SesEvent::DeliveryDelay,
            "Subscription" => SesEvent::Subscription,
            _ => SesEvent::Other,
        };
        let mail = self.mail.as_ref();
        let configuration_set = mail
            .and_then(|m| m.tags.as_ref())
            .and_then(|t| t.0.as_deref())
            .map(sanitise_dimension)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "none".to_owned());
        let sending_domain =
            mail.and_then(|m| m.source.as_deref()).and_then(sending_domain).unwrap_or_else(|| "unknown".to_owned());
        SesFacts { event, configuration_set, sending_domain }
    }
}

/// The domain of a sender written as `addr@domain` or `Name <addr@domain>`.
pub fn sending_domain(source: &str) -> Option<String> {
    let address = match (source.rfind('<'), source.rfind('>')) {
        (Some(open), Some(close)) if open < close => &source[open + 1..close],
        _ => source.trim(),
    };
    let (_, domain) = address.rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid = !domain.is_empty()
        && domain.len() <= 253
        && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    valid.then_some(domain)
}

/// Dimension values come from event data: keep them to a safe alphabet and length.
fn sanitise_dimension(value: &str) -> String {
    value.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sending_domain_handles_display_names_and_case() {
        assert_eq!(sending_domain("Sender Name <sender@Example.COM>").as_deref(), Some("example.com"));
        assert_eq!(sending_domain("sender@example.com").as_deref(), Some("example.com"));
        assert_eq!(sending_domain("no address"), None);
        assert_eq!(sending_domain("a@exa mple.com"), None);
    }

    #[test]
    fn only_the_configuration_set_tag_is_read() {
        let json = r#"{"eventType":"Send","mail":{"source":"a@example.com","tags":{
            "ses:source-ip":["192.0.2.1"],"other":{"nested":[1,2]},
            "ses:configuration-set":["Marketing-1","second"],"ses:configuration-set":["late"]}}}"#;
        let probe: Probe = serde_json::from_str(json).unwrap();
        assert_eq!(probe.ses_facts().configuration_set, "Marketing-1");
        let untagged: Probe = serde_json::from_str(r#"{"eventType":"Send","mail":{"tags":{}}}"#).unwrap();
        assert_eq!(untagged.ses_facts().configuration_set, "none");
        assert!(serde_json::from_str::<Probe>(r#"{"mail":{"tags":{"ses:configuration-set":"x"}}}"#).is_err());
    }

    #[test]
    fn facts_split_bounces_and_read_the_configuration_set() {
        let json = r#"{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"OnAccountSuppressionList","timestamp":"2017-08-05T00:41:02.669Z"},
            "mail":{"timestamp":"2017-08-05T00:40:00.000Z","source":"a@example.com","tags":{"ses:configuration-set":["ConfigSet"]}}}"#;
        let probe: Probe = serde_json::from_str(json).unwrap();
        assert!(probe.is_ses() && !probe.is_cloudwatch_logs());
        let facts = probe.ses_facts();
        assert_eq!(facts.event, SesEvent::BouncePermanent { suppressed: true });
        assert_eq!(facts.configuration_set, "ConfigSet");
        assert_eq!(facts.sending_domain, "example.com");
        assert_eq!(probe.ses_timestamp(), Some("2017-08-05T00:41:02.669Z"));
    }
}
