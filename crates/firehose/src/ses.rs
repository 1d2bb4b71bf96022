//! SES event-publishing records: the few fields the partition keys and the metrics need.
//!
//! Everything is optional: the documented samples already disagree on which fields exist.

use std::borrow::Cow;

use crate::probe::{Field, Probe};

/// The facts of one SES event that leave the function unmasked: its type, bounce class, the
/// configuration set and the *sending* domain. Never a recipient or a message id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesFacts {
    /// Metric bucket of the event.
    pub event: SesEvent,
    /// `mail.tags["ses:configuration-set"][0]`, sanitised; `none` when absent, `unknown` when it
    /// cannot be read (not a list of strings, a lone surrogate escape).
    pub configuration_set: String,
    /// Domain of `mail.source`, lower-cased and sanitised; `unknown` when absent or unreadable.
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

impl<'a> Probe<'a> {
    /// The event's own time: the first detail object's timestamp (in [`crate::probe::DETAILS`]
    /// order), else `mail.timestamp`. `None` when that field cannot be read as text.
    pub fn ses_timestamp(&self) -> Option<Cow<'a, str>> {
        let field = self
            .details
            .iter()
            .flatten()
            .map(|d| d.timestamp)
            .find(|t| !t.is_absent())
            .or_else(|| self.mail.as_ref().map(|m| m.timestamp))?;
        field.text()
    }

    /// The facts the metrics count. A field that cannot be read (a lone surrogate escape, a number
    /// where text belongs) counts as unknown — `OtherEvent`, an undetermined bounce, the sending
    /// domain `unknown`, the configuration set `unknown` — and the rest of the record still counts.
    pub fn ses_facts(&self) -> SesFacts {
        let kind = if self.event_type.is_absent() { self.notification_type } else { self.event_type };
        let kind = kind.text();
        let event = match kind.as_deref().unwrap_or("") {
            "Send" => SesEvent::Send,
            "Delivery" => SesEvent::Delivery,
            "Bounce" => {
                let bounce = self.details[0].as_ref();
                match bounce.and_then(|b| b.bounce_type.text()).as_deref() {
                    Some("Permanent") => SesEvent::BouncePermanent {
                        suppressed: bounce.and_then(|b| b.bounce_sub_type.text()).as_deref()
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
        let configuration_set = match mail.map_or(Field::Absent, |m| m.configuration_set) {
            Field::Absent => "none".to_owned(),
            field => match field.text() {
                Some(text) => {
                    Some(sanitise_dimension(&text)).filter(|v| !v.is_empty()).unwrap_or_else(|| "none".to_owned())
                }
                None => "unknown".to_owned(),
            },
        };
        let sending_domain = mail
            .and_then(|m| m.source.text())
            .and_then(|source| sending_domain(&source))
            .unwrap_or_else(|| "unknown".to_owned());
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
    use crate::probe::probe;

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
        let probe = probe(json.as_bytes()).unwrap();
        assert_eq!(probe.ses_facts().configuration_set, "Marketing-1");
        let untagged = crate::probe::probe(br#"{"eventType":"Send","mail":{"tags":{}}}"#).unwrap();
        assert_eq!(untagged.ses_facts().configuration_set, "none");
        let not_a_list = crate::probe::probe(br#"{"eventType":"Send","mail":{"tags":{"ses:configuration-set":"x"}}}"#);
        assert_eq!(not_a_list.unwrap().ses_facts().configuration_set, "unknown");
    }

    #[test]
    fn facts_split_bounces_and_read_the_configuration_set() {
        let json = r#"{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"OnAccountSuppressionList","timestamp":"2017-08-05T00:41:02.669Z"},
            "mail":{"timestamp":"2017-08-05T00:40:00.000Z","source":"a@example.com","tags":{"ses:configuration-set":["ConfigSet"]}}}"#;
        let probe = probe(json.as_bytes()).unwrap();
        assert!(probe.is_ses() && !probe.is_cloudwatch_logs());
        let facts = probe.ses_facts();
        assert_eq!(facts.event, SesEvent::BouncePermanent { suppressed: true });
        assert_eq!(facts.configuration_set, "ConfigSet");
        assert_eq!(facts.sending_domain, "example.com");
        assert_eq!(probe.ses_timestamp().as_deref(), Some("2017-08-05T00:41:02.669Z"));
    }

    #[test]
    fn a_field_with_a_lone_surrogate_counts_as_unknown_and_the_rest_still_counts() {
        let json = r#"{"eventType":"Bounce","bounce":{"bounceType":"Perm\ud800anent","timestamp":"\udfff"},
            "mail":{"timestamp":"2017-08-05T00:40:00.000Z","source":"a\ud800@example.com","tags":{"ses:configuration-set":["s\ud800"]}}}"#;
        let probe = probe(json.as_bytes()).unwrap();
        let facts = probe.ses_facts();
        assert_eq!(facts.event, SesEvent::BounceUndetermined);
        assert_eq!((facts.configuration_set.as_str(), facts.sending_domain.as_str()), ("unknown", "unknown"));
        // The bounce's own time is unreadable: no time, rather than the mail's.
        assert_eq!(probe.ses_timestamp(), None);
    }
}
