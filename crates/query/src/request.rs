//! What arrived: a direct invoke (the payload is the event) or a function URL request (the
//! payload is the body, the caller and address are the request context's).

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::QueryError;

/// What to mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// `"logData": "text"`: masked line by line; offsets are byte offsets into this text.
    Text(String),
    /// `"logData": ["entry", …]`: each entry masked whole; offsets are entry indexes.
    List(Vec<String>),
    /// `"s3": {"bucket", "key"}`: one raw object; offsets are byte offsets into its masked text.
    S3 {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
}

/// The body of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// What to mask.
    pub data: Data,
    /// Where to resume: a previous response's `nextOffset`.
    pub offset: u64,
    /// The claimed groups (trusted only up to `DIRECT_INVOKE_MAX_ROLE`, ignored in URL mode).
    pub user_groups: Option<Value>,
    /// The claimed address (same).
    pub source_ip: Option<Value>,
    /// Render pseudonyms with this accepted key id (rotation window) instead of the current one.
    pub token_key_id: Option<String>,
}

const FIELDS: &[&str] = &["logData", "s3", "userGroups", "sourceIp", "offset", "tokenKeyId"];

impl Payload {
    /// Reads a payload object, refusing anything it does not understand (a typo such as
    /// `userGroup` must not silently change what the caller gets).
    pub fn from_json(value: &Value) -> Result<Payload, QueryError> {
        let bad = |m: String| QueryError::InvalidPayload(m);
        let obj: &Map<String, Value> =
            value.as_object().ok_or_else(|| bad("the payload is not a JSON object".into()))?;
        if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(bad(format!("unknown field {unknown:?}")));
        }
        let data = match (obj.get("logData"), obj.get("s3")) {
            (Some(_), Some(_)) => return Err(bad("give logData or s3, not both".into())),
            (None, None) => return Err(bad("missing logData or s3".into())),
            (Some(Value::String(text)), None) => Data::Text(text.clone()),
            (Some(Value::Array(items)), None) => Data::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.as_str().map(str::to_owned).ok_or_else(|| bad(format!("logData[{i}] is not a string")))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            (Some(_), None) => return Err(bad("logData must be a string or a list of strings".into())),
            (None, Some(s3)) => {
                let field = |name: &str| {
                    s3.get(name)
                        .and_then(Value::as_str)
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned)
                        .ok_or_else(|| bad(format!("s3.{name} must be a non-empty string")))
                };
                let extra = s3.as_object().and_then(|o| o.keys().find(|k| *k != "bucket" && *k != "key"));
                if !s3.is_object() || extra.is_some() {
                    return Err(bad("s3 must be {\"bucket\": \"…\", \"key\": \"…\"}".into()));
                }
                Data::S3 { bucket: field("bucket")?, key: field("key")? }
            }
        };
        let offset = match obj.get("offset") {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_u64().ok_or_else(|| bad("offset must be a non-negative integer (a nextOffset)".into()))?,
        };
        let token_key_id = match obj.get("tokenKeyId") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => return Err(bad("tokenKeyId must be a string".into())),
        };
        Ok(Payload {
            data,
            offset,
            user_groups: obj.get("userGroups").cloned(),
            source_ip: obj.get("sourceIp").cloned(),
            token_key_id,
        })
    }
}

/// How the request reached the function.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// `aws lambda invoke --payload …`: the caller's claims are all there is.
    Direct(Payload),
    /// A function URL (or API) request signed with SigV4.
    Url {
        /// `requestContext.authorizer.iam.userArn`.
        caller_arn: String,
        /// `requestContext.http.sourceIp` (whatever it holds; judged by `logmask-access`).
        source_ip: Option<Value>,
        /// The body.
        payload: Payload,
        /// Claims in the body that were ignored (`userGroups`, `sourceIp`).
        ignored_claims: Vec<&'static str>,
    },
}

impl Invocation {
    /// Tells the two modes apart by `requestContext`, which direct payloads never have.
    pub fn from_event(event: &Value) -> Result<Invocation, QueryError> {
        let Some(context) = event.get("requestContext") else {
            return Ok(Invocation::Direct(Payload::from_json(event)?));
        };
        let caller_arn = context
            .pointer("/authorizer/iam/userArn")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(QueryError::Unauthenticated)?
            .to_owned();
        let source_ip = context.pointer("/http/sourceIp").cloned();
        let body = match event.get("body") {
            Some(Value::String(body)) => body.clone(),
            None | Some(Value::Null) => String::new(),
            Some(_) => return Err(QueryError::InvalidPayload("the request body is not a string".into())),
        };
        let body = if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body.as_bytes())
                .map_err(|_| QueryError::InvalidPayload("the request body is not valid base64".into()))?;
            String::from_utf8(bytes).map_err(|_| QueryError::InvalidPayload("the request body is not UTF-8".into()))?
        } else {
            body
        };
        let value: Value = serde_json::from_str(&body).map_err(|e| {
            QueryError::InvalidPayload(format!(
                "the request body is not JSON (line {} column {})",
                e.line(),
                e.column()
            ))
        })?;
        let mut payload = Payload::from_json(&value)?;
        let mut ignored_claims = Vec::new();
        if payload.user_groups.take().is_some() {
            ignored_claims.push("userGroups");
        }
        if payload.source_ip.take().is_some() {
            ignored_claims.push("sourceIp");
        }
        Ok(Invocation::Url { caller_arn, source_ip, payload, ignored_claims })
    }

    /// The payload, whatever the mode.
    pub fn payload(&self) -> &Payload {
        match self {
            Invocation::Direct(p) | Invocation::Url { payload: p, .. } => p,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seed_payload_and_its_extensions() {
        let p = Payload::from_json(&json!({
            "userGroups": ["ses-migration-production-readonly"],
            "logData": "Email sent to user@goo.ne.jp from IP 192.168.1.100"
        }))
        .unwrap();
        assert_eq!(p.data, Data::Text("Email sent to user@goo.ne.jp from IP 192.168.1.100".into()));
        assert_eq!(p.offset, 0);
        let p = Payload::from_json(&json!({"logData": ["a", "b"], "offset": 1, "sourceIp": "10.0.0.1"})).unwrap();
        assert_eq!((p.data, p.offset), (Data::List(vec!["a".into(), "b".into()]), 1));
        let p = Payload::from_json(&json!({"s3": {"bucket": "raw", "key": "k"}})).unwrap();
        assert_eq!(p.data, Data::S3 { bucket: "raw".into(), key: "k".into() });
    }

    #[test]
    fn invalid_payloads_say_what_is_expected() {
        for (payload, want) in [
            (json!("text"), "not a JSON object"),
            (json!({}), "missing logData or s3"),
            (json!({"logData": "x", "s3": {"bucket": "b", "key": "k"}}), "not both"),
            (json!({"logData": 5}), "string or a list"),
            (json!({"logData": ["a", 1]}), "logData[1]"),
            (json!({"logData": "x", "userGroup": ["a"]}), "unknown field \"userGroup\""),
            (json!({"logData": "x", "offset": -1}), "offset"),
            (json!({"logData": "x", "offset": "3"}), "offset"),
            (json!({"s3": {"bucket": "b"}}), "s3.key"),
            (json!({"s3": {"bucket": "", "key": "k"}}), "s3.bucket"),
            (json!({"s3": "s3://b/k"}), "s3 must be"),
            (json!({"s3": {"bucket": "b", "key": "k", "versionId": "1"}}), "s3 must be"),
            (json!({"logData": "x", "tokenKeyId": 1}), "tokenKeyId"),
        ] {
            let err = Payload::from_json(&payload).unwrap_err().to_string();
            assert!(err.contains(want) && err.contains("Expected {\"logData\""), "{payload}: {err}");
        }
    }

    #[test]
    fn url_requests_take_the_caller_from_the_context_and_ignore_body_claims() {
        let body = json!({"logData": "x", "userGroups": ["ses-migration-production-admin"], "sourceIp": "10.0.0.1"});
        let event = json!({
            "version": "2.0",
            "requestContext": {
                "authorizer": {"iam": {"userArn": "arn:aws:iam::123456789012:user/alice"}},
                "http": {"method": "POST", "sourceIp": "203.0.113.5"}
            },
            "body": base64::engine::general_purpose::STANDARD.encode(body.to_string()),
            "isBase64Encoded": true
        });
        let Invocation::Url { caller_arn, source_ip, payload, ignored_claims } =
            Invocation::from_event(&event).unwrap()
        else {
            panic!("a URL request")
        };
        assert_eq!(caller_arn, "arn:aws:iam::123456789012:user/alice");
        assert_eq!(source_ip, Some(json!("203.0.113.5")));
        assert_eq!((payload.user_groups, payload.source_ip), (None, None));
        assert_eq!(ignored_claims, ["userGroups", "sourceIp"]);

        let unsigned = json!({"requestContext": {"http": {"sourceIp": "10.0.0.1"}}, "body": "{\"logData\":\"x\"}"});
        assert_eq!(Invocation::from_event(&unsigned), Err(QueryError::Unauthenticated));
        let not_json = json!({"requestContext": {"authorizer": {"iam": {"userArn": "arn:x"}}}, "body": "logData=x"});
        assert!(matches!(Invocation::from_event(&not_json), Err(QueryError::InvalidPayload(_))));
    }
}
