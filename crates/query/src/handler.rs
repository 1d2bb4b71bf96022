//! The handler: decide the role, mask one page, answer, write one audit line.

use std::io::Cursor;

use logmask_access::{Groups, Principal, SourceIp, least_privileged, rank};
use logmask_mask::{Counts, Masker, Role};
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws::{CachedDirectory, FetchError, GroupDirectory, ObjectStore};
use crate::config::Config;
use crate::error::QueryError;
use crate::page::{ENVELOPE_RESERVE, Encoding, PageSink, RESPONSE_LIMIT, page_list, page_text};
use crate::request::{Data, Invocation, Payload};

/// How the request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// `aws lambda invoke`: claims in the payload, capped by `DIRECT_INVOKE_MAX_ROLE`.
    Direct,
    /// A signed function URL request: groups from IAM.
    FunctionUrl,
}

/// An object named in the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Size of the whole masked object (the unit of `offset` / `nextOffset`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked_bytes: Option<u64>,
}

/// Who the caller was taken to be, and the view that follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    /// The view served.
    pub role: Role,
    /// The role of the groups alone.
    pub group_role: Role,
    /// The role of the source address alone.
    pub ip_role: Role,
    /// Whether `ENABLE_IP_RESTRICTION` applied.
    pub ip_restriction: bool,
    /// For direct invokes: `DIRECT_INVOKE_MAX_ROLE`, the most unverified claims can reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_invoke_max_role: Option<Role>,
    /// Why parts of the decision are readonly (missing, malformed, unrecognised, lookup failed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// The masked text (a string), or the masked entries (a list) when `logData` was a list.
    pub masked_data: Value,
    /// The decision.
    #[serde(flatten)]
    pub access: Access,
    /// How the request came in.
    pub mode: Mode,
    /// Findings per type: in this page for `logData`, in the whole object for `s3`.
    pub counts: Counts,
    /// Where this page started.
    pub offset: u64,
    /// Where the next page starts: send the same request with `"offset": nextOffset`. Absent
    /// on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
    /// The object, for `s3` requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// The key id in this page's pseudonyms, when readonly tokens are keyed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_key_id: Option<String>,
}

/// The one line logged per call: who, what view, how much — never the data, never a key.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditLine {
    /// Lambda's request id.
    pub request_id: String,
    /// `direct` or `functionUrl` (absent when the event could not be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The signed caller's ARN (function URL), or `unverified` (direct invoke).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// Groups the decision used (names from IAM, or the claimed ones).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The address the decision used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// The decision.
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub access: Option<Access>,
    /// Body claims ignored because the request was signed (`userGroups`, `sourceIp`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_claims: Vec<&'static str>,
    /// The object read, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The page asked for.
    pub offset: u64,
    /// The page that follows, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
    /// Findings masked.
    pub counts: Counts,
    /// Bytes of masked data returned.
    pub bytes_out: u64,
    /// `ok`, or the error kind.
    pub outcome: &'static str,
}

impl AuditLine {
    /// Logs the line as flat fields (target `logmask_query::audit`), so that a JSON log
    /// subscriber writes one object whose fields Logs Insights can filter on directly.
    pub fn log(&self) {
        let opt = |v: Option<&str>| v.unwrap_or("").to_owned();
        let access = self.access.as_ref();
        let role = |f: fn(&Access) -> Role| access.map(|a| f(a).as_str()).unwrap_or("");
        tracing::info!(
            target: "logmask_query::audit",
            request_id = %self.request_id,
            mode = %self.mode.map(|m| if m == Mode::Direct { "direct" } else { "functionUrl" }).unwrap_or(""),
            caller = %opt(self.caller.as_deref()),
            groups = %self.groups.join(","),
            source_ip = %opt(self.source_ip.as_deref()),
            role = role(|a| a.role),
            group_role = role(|a| a.group_role),
            ip_role = role(|a| a.ip_role),
            ip_restriction = access.is_some_and(|a| a.ip_restriction),
            direct_invoke_max_role = access.and_then(|a| a.direct_invoke_max_role).map(|r| r.as_str()).unwrap_or(""),
            notes = %access.map(|a| a.notes.join(",")).unwrap_or_default(),
            ignored_claims = %self.ignored_claims.join(","),
            object = %opt(self.object.as_deref()),
            offset = self.offset,
            next_offset = self.next_offset.map(|n| n as i64).unwrap_or(-1),
            emails = self.counts.emails,
            ipv4 = self.counts.ipv4,
            ipv6 = self.counts.ipv6,
            custom = self.counts.custom,
            bytes_out = self.bytes_out,
            outcome = self.outcome,
            "data-masking call"
        );
    }

    /// The line as one JSON object (what `logmask query` prints on stderr).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"outcome\":\"auditSerialisationFailed\"}".to_owned())
    }
}

/// The data-masking handler, generic over its AWS clients.
pub struct Handler<D, S> {
    config: Config,
    maskers: Vec<(String, Masker)>,
    keyed: bool,
    directory: CachedDirectory<D>,
    store: S,
}

impl<D: GroupDirectory, S: ObjectStore> Handler<D, S> {
    /// `maskers` from [`Config::build_maskers`] (current key first); `keyed` says whether they
    /// carry a token key (for the `tokenKeyId` field of responses).
    pub fn new(config: Config, maskers: Vec<(String, Masker)>, directory: D, store: S) -> Handler<D, S> {
        assert!(!maskers.is_empty(), "build_maskers returns at least one masker");
        let keyed = maskers[0].1.has_token_key();
        let directory = CachedDirectory::new(directory, config.group_cache_ttl);
        Handler { config, maskers, keyed, directory, store }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Lambda entry: a direct invoke gets the response or a Lambda error; a function URL
    /// request gets an HTTP response (`statusCode`, JSON `body`). Writes the audit line.
    pub async fn handle(&self, event: lambda_runtime::LambdaEvent<Value>) -> Result<Value, QueryError> {
        let (result, audit) = self.respond(&event.payload, &event.context.request_id).await;
        audit.log();
        result
    }

    /// Everything but logging: the Lambda result and the audit line.
    pub async fn respond(&self, event: &Value, request_id: &str) -> (Result<Value, QueryError>, AuditLine) {
        let mut audit = AuditLine { request_id: request_id.to_owned(), outcome: "ok", ..AuditLine::default() };
        let url = event.get("requestContext").is_some();
        let result = self.answer(event, &mut audit).await;
        if let Err(e) = &result {
            audit.outcome = e.kind();
        }
        let out = match (result, url) {
            (Ok(response), false) => Ok(serde_json::to_value(&response).expect("responses serialise")),
            (Err(e), false) => Err(e),
            (Ok(response), true) => Ok(http(200, &serde_json::to_value(&response).expect("responses serialise"))),
            (Err(e), true) => Ok(http(e.status(), &json!({"error": e.to_string(), "errorType": e.kind()}))),
        };
        (out, audit)
    }

    async fn answer(&self, event: &Value, audit: &mut AuditLine) -> Result<Response, QueryError> {
        let invocation = Invocation::from_event(event).inspect_err(|_| {
            audit.mode = Some(if event.get("requestContext").is_some() { Mode::FunctionUrl } else { Mode::Direct });
        })?;
        let (mode, access, encoding) = match &invocation {
            Invocation::Direct(payload) => {
                audit.mode = Some(Mode::Direct);
                audit.caller = Some("unverified".to_owned());
                audit.groups = claimed_names(payload.user_groups.as_ref());
                audit.source_ip = payload.source_ip.as_ref().map(short_value);
                let decision = self.config.access.decide_json(payload.user_groups.as_ref(), payload.source_ip.as_ref());
                let cap = self.config.direct_invoke_max_role;
                let mut notes: Vec<String> = decision.notes.iter().map(note_name).collect();
                if rank(decision.role) > rank(cap) {
                    notes.push("cappedByDirectInvokeMaxRole".to_owned());
                }
                let access = Access {
                    role: least_privileged(decision.role, cap),
                    group_role: decision.group_role,
                    ip_role: decision.ip_role,
                    ip_restriction: decision.ip_restriction,
                    direct_invoke_max_role: Some(cap),
                    notes,
                };
                (Mode::Direct, access, Encoding::Json)
            }
            Invocation::Url { caller_arn, owner_account, source_ip, ignored_claims, .. } => {
                audit.mode = Some(Mode::FunctionUrl);
                audit.caller = Some(caller_arn.clone());
                audit.ignored_claims = ignored_claims.clone();
                audit.source_ip = source_ip.as_ref().map(short_value);
                let mut notes = Vec::new();
                // Group and role names mean something only in the function's own account: a
                // role of the same name elsewhere is nobody here.
                let foreign = owner_account
                    .as_deref()
                    .is_some_and(|owner| logmask_access::arn_account(caller_arn) != Some(owner));
                let principal = if foreign {
                    notes.push("callerFromAnotherAccount".to_owned());
                    Principal::Other
                } else {
                    Principal::from_arn(caller_arn)
                };
                let names: Option<Vec<String>> = match principal {
                    Principal::User { name } => match self.directory.groups_for_user(&name).await {
                        Ok(groups) => Some(groups),
                        Err(message) => {
                            tracing::warn!(caller = %caller_arn, error = %message, "IAM group lookup failed; serving readonly");
                            notes.push("groupLookupFailed".to_owned());
                            None
                        }
                    },
                    Principal::AssumedRole { role_name } => Some(vec![role_name]),
                    Principal::Other if foreign => None,
                    Principal::Other => {
                        notes.push("callerIsNeitherUserNorAssumedRole".to_owned());
                        None
                    }
                };
                let groups = match &names {
                    Some(names) => Groups::from_names(names.iter().map(String::as_str)),
                    None => Groups::Missing,
                };
                let decision = self.config.access.decide(&groups, &SourceIp::from_json(source_ip.as_ref()));
                audit.groups = names.unwrap_or_default();
                notes.extend(decision.notes.iter().map(note_name));
                let access = Access {
                    role: decision.role,
                    group_role: decision.group_role,
                    ip_role: decision.ip_role,
                    ip_restriction: decision.ip_restriction,
                    direct_invoke_max_role: None,
                    notes,
                };
                (Mode::FunctionUrl, access, Encoding::JsonInJson)
            }
        };
        audit.access = Some(access.clone());
        let payload = invocation.payload();
        audit.offset = payload.offset;
        let (key_id, masker) = self.masker_for(payload)?;
        let response = self.mask(payload, masker, access, mode, encoding, audit).await?;
        let response = Response { token_key_id: self.keyed.then(|| key_id.to_owned()), ..response };
        debug_assert!(serde_json::to_vec(&response).map(|v| v.len()).unwrap_or(0) <= RESPONSE_LIMIT);
        Ok(response)
    }

    fn masker_for(&self, payload: &Payload) -> Result<(&str, &Masker), QueryError> {
        match &payload.token_key_id {
            None => Ok((&self.maskers[0].0, &self.maskers[0].1)),
            Some(id) => self.maskers.iter().find(|(k, _)| k == id).map(|(k, m)| (k.as_str(), m)).ok_or_else(|| {
                let accepted: Vec<&str> = self.maskers.iter().map(|(k, _)| k.as_str()).collect();
                QueryError::InvalidPayload(format!(
                    "tokenKeyId {id:?} is not an accepted key id ({})",
                    accepted.join(", ")
                ))
            }),
        }
    }

    async fn mask(
        &self,
        payload: &Payload,
        masker: &Masker,
        access: Access,
        mode: Mode,
        encoding: Encoding,
        audit: &mut AuditLine,
    ) -> Result<Response, QueryError> {
        let budget = RESPONSE_LIMIT - ENVELOPE_RESERVE;
        let role = access.role;
        let base = |masked_data: Value, counts: Counts, next_offset: Option<u64>, object: Option<ObjectRef>| Response {
            masked_data,
            access: access.clone(),
            mode,
            counts,
            offset: payload.offset,
            next_offset,
            object,
            token_key_id: None,
        };
        let response = match &payload.data {
            Data::Text(text) => {
                let page = page_text(masker, role, text, payload.offset, budget, encoding)?;
                audit.bytes_out = page.text.len() as u64;
                base(Value::String(page.text), page.counts, page.next_offset, None)
            }
            Data::List(entries) => {
                let page = page_list(masker, role, entries, payload.offset, budget, encoding)?;
                audit.bytes_out = page.entries.iter().map(|e| e.len() as u64).sum();
                let data = Value::Array(page.entries.into_iter().map(Value::String).collect());
                base(data, page.counts, page.next_offset, None)
            }
            Data::S3 { bucket, key } => {
                audit.object = Some(format!("s3://{bucket}/{key}"));
                self.check_object(bucket, key)?;
                let bytes = self.store.get(bucket, key, self.config.max_object_bytes).await.map_err(|e| match e {
                    FetchError::NotFound => QueryError::NotFound { bucket: bucket.clone(), key: key.clone() },
                    FetchError::TooLarge(size) => QueryError::Refused(format!(
                        "the object is {size} bytes, over MAX_OBJECT_BYTES ({})",
                        self.config.max_object_bytes
                    )),
                    FetchError::Other(message) => QueryError::Unavailable(message),
                })?;
                let (text, next_offset, total, counts) =
                    mask_object_page(masker, role, bytes, payload.offset, budget, encoding)?;
                audit.bytes_out = text.len() as u64;
                let object = ObjectRef { bucket: bucket.clone(), key: key.clone(), masked_bytes: Some(total) };
                base(Value::String(text), counts, next_offset, Some(object))
            }
        };
        audit.counts = response.counts;
        audit.next_offset = response.next_offset;
        Ok(response)
    }

    /// The function reads with its own role: it must not read what the reader could not.
    fn check_object(&self, bucket: &str, key: &str) -> Result<(), QueryError> {
        let raw =
            self.config.raw_bucket.as_deref().ok_or_else(|| {
                QueryError::Refused("reading objects is not enabled here (RAW_BUCKET is not set)".into())
            })?;
        if bucket != raw {
            return Err(QueryError::Refused(format!("only objects of the raw log bucket {raw:?} can be read")));
        }
        if !key.starts_with(&self.config.raw_prefix) {
            return Err(QueryError::Refused(format!("only keys under {:?} can be read", self.config.raw_prefix)));
        }
        if key.len() > 1024 || key.chars().any(char::is_control) {
            return Err(QueryError::Refused("the key is not a raw log object key".into()));
        }
        Ok(())
    }
}

/// Masks a whole object (gzip or plain) with `logmask-archive`'s per-object code and keeps the
/// page at `offset`; returns (page, next offset, masked size, counts of the whole object).
fn mask_object_page(
    masker: &Masker,
    role: Role,
    bytes: Vec<u8>,
    offset: u64,
    budget: usize,
    encoding: Encoding,
) -> Result<(String, Option<u64>, u64, Counts), QueryError> {
    let object = logmask_archive::RawObject::open(Cursor::new(bytes)).map_err(|e| QueryError::Object(e.to_string()))?;
    let sink = PageSink::new(offset, budget, encoding);
    // The archive writes gzip when it reads gzip; the reader wants text.
    let (stats, sink) = if object.compression() == logmask_archive::Compression::Gzip {
        let mut plain = flate2::write::GzDecoder::new(sink);
        let stats = object.mask_into(masker, role, &mut plain).map_err(|e| QueryError::Object(e.to_string()))?;
        (stats, plain.finish().map_err(|e| QueryError::Object(e.to_string()))?)
    } else {
        let mut sink = sink;
        let stats = object.mask_into(masker, role, &mut sink).map_err(|e| QueryError::Object(e.to_string()))?;
        (stats, sink)
    };
    let (text, next, total) = sink.finish()?;
    Ok((text, next, total, stats.counts))
}

fn http(status: u16, body: &Value) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": body.to_string(),
    })
}

fn note_name(note: &logmask_access::Note) -> String {
    serde_json::to_value(note).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Claimed group names for the audit line (strings only, each cut short).
fn claimed_names(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().take(20).map(short_value).collect(),
        Some(other) => vec![short_value(other)],
        None => Vec::new(),
    }
}

/// A claim as text for the audit line, at most 256 bytes.
fn short_value(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut end = text.len().min(256);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

impl From<QueryError> for lambda_runtime::Diagnostic {
    fn from(e: QueryError) -> lambda_runtime::Diagnostic {
        lambda_runtime::Diagnostic { error_type: e.kind().to_owned(), error_message: e.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// IAM users and their groups, in memory.
    struct FakeIam(HashMap<&'static str, Vec<&'static str>>);

    impl GroupDirectory for FakeIam {
        async fn groups_for_user(&self, user: &str) -> Result<Vec<String>, String> {
            match self.0.get(user) {
                Some(groups) => Ok(groups.iter().map(|g| g.to_string()).collect()),
                None => Err(format!("NoSuchEntity: {user}")),
            }
        }
    }

    struct FakeS3(HashMap<(&'static str, &'static str), Vec<u8>>);

    impl ObjectStore for FakeS3 {
        async fn get(&self, bucket: &str, key: &str, max: u64) -> Result<Vec<u8>, FetchError> {
            let bytes = self.0.get(&(bucket, key)).ok_or(FetchError::NotFound)?;
            if bytes.len() as u64 > max { Err(FetchError::TooLarge(bytes.len() as u64)) } else { Ok(bytes.clone()) }
        }
    }

    const KEY: &str = "audit-test-token-key-0123456789";

    fn handler(settings: &[(&str, &str)]) -> Handler<FakeIam, FakeS3> {
        let mut all: HashMap<&str, &str> = HashMap::from([
            ("ADMIN_IP_RANGES", "10.0.0.0/8"),
            ("OPERATOR_IP_RANGES", "192.168.100.0/24"),
            ("RAW_BUCKET", "raw-logs"),
            ("RAW_PREFIX", "firehose/"),
            ("MAX_OBJECT_BYTES", "1000"),
        ]);
        all.extend(settings.iter().copied());
        let config = Config::from_lookup(|k| all.get(k).map(|v| v.to_string())).unwrap();
        let keys = logmask_keys::TokenKeys::parse(KEY.as_bytes(), "test").unwrap();
        let maskers = keys.maskers(&Default::default()).unwrap();
        let iam = FakeIam(HashMap::from([
            ("alice", vec!["ses-migration-production-admin"]),
            ("olga", vec!["marketing", "ses-migration-production-operator"]),
        ]));
        let s3 = FakeS3(HashMap::from([
            (("raw-logs", "firehose/a.log"), b"from bob@example.com at 10.1.2.3\n".to_vec()),
            (("raw-logs", "firehose/big.log"), vec![b'x'; 2000]),
            (("other-bucket", "firehose/a.log"), b"bob@example.com\n".to_vec()),
        ]));
        Handler::new(config, maskers, iam, s3)
    }

    fn url_event(arn: &str, ip: &str, body: Value) -> Value {
        json!({
            "version": "2.0",
            "requestContext": {"authorizer": {"iam": {"userArn": arn}}, "http": {"method": "POST", "sourceIp": ip}},
            "body": body.to_string(),
            "isBase64Encoded": false
        })
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    fn body(response: &Value) -> Value {
        serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
    }

    #[test]
    fn the_seed_invoke_works_and_claims_are_capped() {
        let h = handler(&[]);
        let seed = json!({"userGroups": ["ses-migration-production-readonly"],
                          "logData": "Email sent to user@goo.ne.jp from IP 192.168.1.100"});
        let (out, audit) = run(h.respond(&seed, "r1"));
        let out = out.unwrap();
        assert!(out["maskedData"].as_str().unwrap().starts_with("Email sent to <email:k1:"), "{out}");
        assert_eq!((out["role"].as_str(), out["mode"].as_str()), (Some("readonly"), Some("direct")));
        assert_eq!(out["counts"], json!({"emails": 1, "ipv4": 1, "ipv6": 0, "custom": 0}));
        assert_eq!(audit.caller.as_deref(), Some("unverified"));

        let claim =
            json!({"userGroups": ["ses-migration-production-admin"], "sourceIp": "10.0.0.1", "logData": "a@b.example"});
        let out = run(h.respond(&claim, "r2")).0.unwrap();
        assert_eq!(
            (out["role"].as_str(), out["groupRole"].as_str(), out["ipRole"].as_str()),
            (Some("readonly"), Some("admin"), Some("admin"))
        );
        assert_eq!(out["directInvokeMaxRole"], "readonly");
        assert_eq!(out["notes"], json!(["cappedByDirectInvokeMaxRole"]));
        let h = handler(&[("DIRECT_INVOKE_MAX_ROLE", "admin")]);
        let out = run(h.respond(&claim, "r3")).0.unwrap();
        assert_eq!((out["role"].as_str(), out["maskedData"].as_str()), (Some("admin"), Some("a@b.example")));
    }

    #[test]
    fn signed_requests_use_iam_groups_and_the_context_address_only() {
        let h = handler(&[("DIRECT_INVOKE_MAX_ROLE", "admin")]);
        let forged = json!({"userGroups": ["ses-migration-production-admin"], "sourceIp": "10.0.0.1", "logData": "bob@example.com"});
        // Olga (operator group) from outside every range, claiming admin in the body.
        let (out, audit) =
            run(h.respond(&url_event("arn:aws:iam::123456789012:user/olga", "203.0.113.9", forged.clone()), "r"));
        let out = out.unwrap();
        assert_eq!(out["statusCode"], 200);
        let b = body(&out);
        assert_eq!(
            (b["role"].as_str(), b["groupRole"].as_str(), b["ipRole"].as_str()),
            (Some("readonly"), Some("operator"), Some("readonly"))
        );
        assert_eq!(b["mode"], "functionUrl");
        assert_eq!(audit.ignored_claims, ["userGroups", "sourceIp"]);
        assert_eq!(audit.groups, ["marketing", "ses-migration-production-operator"]);
        // From the operator range she reads the operator view.
        let out =
            run(h.respond(&url_event("arn:aws:iam::123456789012:user/olga", "192.168.100.4", forged.clone()), "r")).0;
        assert_eq!(body(&out.unwrap())["maskedData"], "b***@example.com");
        // Alice (admin group) from the admin range, as a mapped IPv6 address.
        let out =
            run(h.respond(&url_event("arn:aws:iam::123456789012:user/alice", "::ffff:10.9.9.9", forged.clone()), "r"))
                .0;
        assert_eq!(body(&out.unwrap())["role"], "admin");
        // An unknown user: the lookup fails, readonly.
        let (out, audit) =
            run(h.respond(&url_event("arn:aws:iam::123456789012:user/mallory", "10.0.0.1", forged.clone()), "r"));
        let b = body(&out.unwrap());
        assert_eq!(b["role"], "readonly");
        assert!(b["notes"].as_array().unwrap().contains(&json!("groupLookupFailed")), "{b}");
        assert_eq!(audit.outcome, "ok");
        // An assumed role maps by its name.
        let sso = "arn:aws:sts::123456789012:assumed-role/ses-migration-production-operator/olga@example.jp";
        let out = run(h.respond(&url_event(sso, "192.168.100.4", json!({"logData": "x"})), "r")).0;
        assert_eq!(body(&out.unwrap())["role"], "operator");
        // The same role name in another account is nobody here.
        let mut foreign =
            url_event(sso.replace("123456789012", "999999999999").as_str(), "192.168.100.4", json!({"logData": "x"}));
        foreign["requestContext"]["accountId"] = json!("123456789012");
        let b = body(&run(h.respond(&foreign, "r")).0.unwrap());
        assert_eq!(b["role"], "readonly");
        assert!(b["notes"].as_array().unwrap().contains(&json!("callerFromAnotherAccount")), "{b}");
        let mut own = url_event(sso, "192.168.100.4", json!({"logData": "x"}));
        own["requestContext"]["accountId"] = json!("123456789012");
        assert_eq!(body(&run(h.respond(&own, "r")).0.unwrap())["role"], "operator");
        // Unsigned: refused with 401, no data.
        let unsigned = json!({"requestContext": {"http": {"sourceIp": "10.0.0.1"}}, "body": forged.to_string()});
        let out = run(h.respond(&unsigned, "r")).0.unwrap();
        assert_eq!(out["statusCode"], 401);
        assert!(!out.to_string().contains("bob@"));
    }

    #[test]
    fn objects_outside_the_raw_bucket_prefix_or_size_are_refused() {
        let h = handler(&[("DIRECT_INVOKE_MAX_ROLE", "operator"), ("ENABLE_IP_RESTRICTION", "false")]);
        let req = |bucket: &str, key: &str| json!({"userGroups": ["ses-migration-production-operator"], "s3": {"bucket": bucket, "key": key}});
        let out = run(h.respond(&req("raw-logs", "firehose/a.log"), "r")).0.unwrap();
        assert_eq!(out["maskedData"], "from b***@example.com at 10.1.2.*\n");
        assert_eq!(out["object"], json!({"bucket": "raw-logs", "key": "firehose/a.log", "maskedBytes": 34}));
        for (bucket, key, kind) in [
            ("other-bucket", "firehose/a.log", "Refused"),
            ("raw-logs", "elsewhere/a.log", "Refused"),
            ("raw-logs", "firehose/big.log", "Refused"),
            ("raw-logs", "firehose/missing.log", "NotFound"),
        ] {
            let (out, audit) = run(h.respond(&req(bucket, key), "r"));
            let err = out.unwrap_err();
            assert_eq!((err.kind(), audit.outcome), (kind, kind), "{bucket}/{key}: {err}");
        }
        let h = handler(&[("RAW_BUCKET", "")]);
        let err = run(h.respond(&req("raw-logs", "firehose/a.log"), "r")).0.unwrap_err();
        assert!(err.to_string().contains("RAW_BUCKET"), "{err}");
    }

    #[test]
    fn invalid_payloads_get_a_clear_error() {
        let h = handler(&[]);
        let err = run(h.respond(&json!({"userGroups": ["x"]}), "r")).0.unwrap_err();
        assert_eq!(err.kind(), "InvalidPayload");
        assert!(err.to_string().contains("Expected {\"logData\""), "{err}");
        let out = run(
            h.respond(&url_event("arn:aws:iam::123456789012:user/alice", "10.0.0.1", json!({"logdata": "x"})), "r")
        )
        .0;
        let out = out.unwrap();
        assert_eq!(out["statusCode"], 400);
        assert!(body(&out)["error"].as_str().unwrap().contains("unknown field \"logdata\""));
        let err = run(h.respond(&json!({"logData": "x", "tokenKeyId": "k9"}), "r")).0.unwrap_err();
        assert!(err.to_string().contains("accepted key id (k1)"), "{err}");
    }

    #[test]
    fn a_reader_may_ask_for_the_previous_key_during_a_rotation_window() {
        let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
        let doc = format!(
            r#"{{"current":{{"id":"k2","key_b64":"{}"}},"previous":{{"id":"k1","key_b64":"{}"}}}}"#,
            b64(b"the-key-after-rotation-0123"),
            b64(KEY.as_bytes())
        );
        let keys = logmask_keys::TokenKeys::parse(doc.as_bytes(), "test").unwrap();
        let mut h = handler(&[]);
        h.maskers = keys.maskers(&Default::default()).unwrap();
        h.keyed = true;
        let before_rotation = handler(&[]);
        let line = json!({"logData": "bob@example.com"});
        let old = run(before_rotation.respond(&line, "r")).0.unwrap();
        let new = run(h.respond(&line, "r")).0.unwrap();
        assert!(new["maskedData"].as_str().unwrap().starts_with("<email:k2:"), "{new}");
        assert_eq!(new["tokenKeyId"], "k2");
        let asked = run(h.respond(&json!({"logData": "bob@example.com", "tokenKeyId": "k1"}), "r")).0.unwrap();
        assert_eq!(asked["maskedData"], old["maskedData"], "the previous key reproduces the tokens made before");
        assert_eq!(asked["tokenKeyId"], "k1");
        let err = run(h.respond(&json!({"logData": "x", "tokenKeyId": "k0"}), "r")).0.unwrap_err();
        assert!(err.to_string().contains("(k2, k1)"), "{err}");
    }

    /// The value of `name` in an audit line as the test subscriber formats it
    /// (`name=value`, `&str` fields quoted), unquoted.
    fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
        let at = line.find(&format!(" {name}="))? + name.len() + 2;
        let value = line[at..].split(' ').next()?;
        Some(value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value))
    }

    #[test]
    fn one_audit_line_per_call_without_data_or_keys() {
        let h = handler(&[("DIRECT_INVOKE_MAX_ROLE", "admin")]);
        let secret_data = "carol.secret@example.org from 10.20.30.40";
        let calls = [
            json!({"userGroups": ["ses-migration-production-admin"], "sourceIp": "10.0.0.1", "logData": secret_data}),
            json!({"userGroups": ["ses-migration-production-readonly"], "logData": [secret_data, secret_data]}),
            json!({"logData": secret_data, "tokenKeyId": "nope"}),
            url_event(
                "arn:aws:iam::123456789012:user/alice",
                "10.0.0.1",
                json!({"logData": secret_data, "userGroups": ["x"]}),
            ),
            json!({"userGroups": ["ses-migration-production-admin"], "s3": {"bucket": "raw-logs", "key": "firehose/a.log"}}),
        ];
        let ((), logs) = logmask_test_support::logs::capture_logs(|| {
            for (i, call) in calls.iter().enumerate() {
                let event = lambda_runtime::LambdaEvent::new(call.clone(), lambda_runtime::Context::default());
                let result = run(h.handle(event));
                assert_eq!(result.is_ok(), i != 2, "call {i}");
            }
        });
        let audits: Vec<&str> = logs.lines().filter(|l| l.contains("logmask_query::audit")).collect();
        assert_eq!(audits.len(), calls.len(), "{logs}");
        for needle in ["carol", "secret@", "10.20.30", "bob@example", KEY, "<email"] {
            assert!(!logs.contains(needle), "{needle:?} in the log:\n{logs}");
        }
        assert_eq!((field(audits[0], "role"), field(audits[0], "mode")), (Some("admin"), Some("direct")));
        assert_eq!(field(audits[0], "emails"), Some("1"));
        assert_eq!(field(audits[2], "outcome"), Some("InvalidPayload"));
        assert_eq!(field(audits[3], "ignored_claims"), Some("userGroups"));
        assert_eq!(field(audits[3], "caller"), Some("arn:aws:iam::123456789012:user/alice"));
        assert!(audits[4].contains("s3://raw-logs/firehose/a.log"), "{}", audits[4]);
    }

    #[test]
    fn large_inputs_come_back_in_whole_line_pages_under_the_limit() {
        let h = handler(&[("DIRECT_INVOKE_MAX_ROLE", "readonly")]);
        // Short addresses become long pseudonyms: 4 MB in, well over 6 MB out.
        let line = "a@b.cc 1.2.3.4 \"q\" \\ \u{1} x@y.zz\n";
        let text = line.repeat(4 * 1024 * 1024 / line.len());
        for url in [false, true] {
            let mut offset = 0u64;
            let mut pages = 0;
            let mut joined = String::new();
            loop {
                let payload = json!({"logData": text, "offset": offset});
                // Olga from outside the ranges reads the readonly view, as the direct invoke does.
                let event = if url {
                    url_event("arn:aws:iam::123456789012:user/olga", "203.0.113.1", payload)
                } else {
                    payload
                };
                let out = run(h.respond(&event, "r")).0.unwrap();
                let size = serde_json::to_vec(&out).unwrap().len();
                assert!(size <= RESPONSE_LIMIT, "{size} bytes");
                let page = if url { body(&out) } else { out };
                let data = page["maskedData"].as_str().unwrap();
                assert!(data.ends_with('\n'));
                joined.push_str(data);
                pages += 1;
                match page["nextOffset"].as_u64() {
                    Some(next) => offset = next,
                    None => break,
                }
            }
            assert!(pages >= 2, "url {url}: {pages} pages");
            assert!(
                joined == h.maskers[0].1.mask_str(Role::Readonly, &text).0,
                "url {url}: the pages differ from the whole"
            );
        }
    }
}
