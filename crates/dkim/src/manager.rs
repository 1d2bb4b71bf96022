//! The DKIM manager's actions. [`handle`] takes the Lambda payload (the seed's JSON shapes),
//! the injected dependencies and the current time, and returns a [`Response`].
//!
//! Nothing here ever puts key material into a response, a log line or a notification: the
//! private key only travels from the store to [`SesDkimApi::put_external_signing_key`].

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tracing::{info, warn};

use crate::config::{ManagerConfig, RotationMode};
use crate::dns::{DnsCheck, DnsStatus, TxtResolver, check_dns};
use crate::error::Error;
use crate::keys::{PublicKeySpki, SesSigningKey, generate_rsa2048};
use crate::metadata::{CertificateInfo, DAY, KeyState};
use crate::record::DnsTxtRecord;
use crate::selector::{Domain, Selector, generate_selector};
use crate::ses::{DkimSigningAttributesOrigin, DkimStatus, SesDkimApi, SesDkimState};
use crate::store::{KeyRepository, ObjectStore, certificate_info_path, dns_record_path, private_key_path};
use logmask_notify::{Context, Message, Notifier, Severity};

/// Every action `handle` accepts.
pub const VALID_ACTIONS: [&str; 6] = [
    "create_dkim_certificate",
    "check_dns_status",
    "rotate_dkim_keys",
    "update_ses_byodkim_automated",
    "disable_easy_dkim",
    "status",
];

/// Other names accepted for an action (see [`Request::CreateDkimCertificate`]).
pub const ACTION_ALIASES: [(&str, &str); 1] = [("create_dkim", "create_dkim_certificate")];

/// Payload fields that would carry a private key; the seed passed keys around in payloads,
/// this manager refuses them outright.
const FORBIDDEN_FIELDS: [&str; 4] = ["private_key", "privateKey", "private_key_pem", "domain_signing_private_key"];

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Request {
    /// Also `create_dkim`: the payload file the seed's runbook writes before the first key
    /// (`{"action":"create_dkim","domain":…,"environment":"prod","projectName":…,"dkimSeparator":…}`),
    /// which operators paste as it is.
    #[serde(alias = "create_dkim")]
    CreateDkimCertificate {
        domain: String,
        selector: Option<String>,
        environment: Option<String>,
        #[serde(alias = "dkimSeparator")]
        dkim_separator: Option<String>,
    },
    CheckDnsStatus {
        domain: String,
        selector: String,
    },
    RotateDkimKeys {
        domain: String,
        mode: RotateMode,
        #[serde(default)]
        dns_confirmation: bool,
        selector: Option<String>,
        environment: Option<String>,
    },
    UpdateSesByodkimAutomated {
        domain: String,
        selector: String,
    },
    DisableEasyDkim {
        domain: String,
    },
    Status {
        domain: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RotateMode {
    GenerateOnly,
    ApplyToSes,
}

/// Who invoked: an operator (default) or a schedule (`"trigger": "scheduled"`). The safety
/// flags govern scheduled invocations; see the crate documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    #[default]
    Manual,
    Scheduled,
}

/// Validates the envelope and parses the payload.
pub fn parse_request(payload: &Value) -> Result<(Request, Trigger), Error> {
    let object =
        payload.as_object().ok_or_else(|| Error::InvalidRequest("the payload must be a JSON object".into()))?;
    if let Some(field) = FORBIDDEN_FIELDS.iter().find(|f| object.contains_key(**f)) {
        return Err(Error::InvalidRequest(format!(
            "field {field:?} is not accepted: private keys never travel in payloads"
        )));
    }
    let action = object.get("action").and_then(Value::as_str);
    match action {
        Some(a) if VALID_ACTIONS.contains(&a) || ACTION_ALIASES.iter().any(|(alias, _)| *alias == a) => {}
        other => {
            return Err(Error::UnknownAction {
                action: other.unwrap_or("(missing)").to_owned(),
                valid: VALID_ACTIONS.join(", "),
            });
        }
    }
    let trigger = match object.get("trigger") {
        None => Trigger::Manual,
        Some(t) => serde_json::from_value(t.clone()).map_err(|e| Error::InvalidRequest(format!("trigger: {e}")))?,
    };
    let request = serde_json::from_value(payload.clone()).map_err(|e| Error::InvalidRequest(e.to_string()))?;
    Ok((request, trigger))
}

/// The dependencies, generic so tests can use fakes or real SDK clients.
pub struct Deps<S, N, E, R> {
    pub keys: KeyRepository<S>,
    pub notifier: N,
    pub ses: E,
    pub dns: R,
    pub config: ManagerConfig,
}

/// An action's result. `statusCode` follows the seed's responses: 200 done, 500 failed (after
/// a rollback, for example). Refusals and bad requests are `Err`, not responses.
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    pub action: &'static str,
    pub message: String,
    pub domain: String,
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl Response {
    fn ok(action: &'static str, domain: &Domain, message: impl Into<String>, details: Value) -> Self {
        Self {
            status_code: 200,
            action,
            message: message.into(),
            domain: domain.to_string(),
            details: match details {
                Value::Object(map) => map,
                _ => Map::new(),
            },
        }
    }
}

/// Runs one request.
pub async fn handle<S, N, E, R>(payload: &Value, deps: &Deps<S, N, E, R>, now: Timestamp) -> Result<Response, Error>
where
    S: ObjectStore,
    N: Notifier,
    E: SesDkimApi,
    R: TxtResolver,
{
    let (request, trigger) = parse_request(payload)?;
    let manager = Manager { deps, now };
    match request {
        Request::CreateDkimCertificate { domain, selector, environment, dkim_separator } => {
            manager.guard_scheduled_generation(trigger)?;
            let domain: Domain = domain.parse()?;
            let selector = selector.map(|s| s.parse::<Selector>()).transpose()?;
            let created = manager.create_or_get(&domain, selector, environment, dkim_separator, false).await?;
            Ok(created.response("create_dkim_certificate", &domain))
        }
        Request::CheckDnsStatus { domain, selector } => {
            let (domain, selector) = (domain.parse()?, selector.parse()?);
            manager.check_dns_status(&domain, &selector).await
        }
        Request::RotateDkimKeys { domain, mode: RotateMode::GenerateOnly, selector, environment, .. } => {
            manager.guard_scheduled_generation(trigger)?;
            let domain: Domain = domain.parse()?;
            let selector = selector.map(|s| s.parse::<Selector>()).transpose()?;
            let created = manager.create_or_get(&domain, selector, environment, None, true).await?;
            Ok(created.response("rotate_dkim_keys", &domain))
        }
        Request::RotateDkimKeys { domain, mode: RotateMode::ApplyToSes, dns_confirmation, selector, .. } => {
            if !dns_confirmation {
                return Err(Error::Refused(
                    "APPLY_TO_SES requires \"dns_confirmation\": true (the DNS team confirmed \
                     the record); SES was not touched"
                        .into(),
                ));
            }
            manager.guard_scheduled_apply(trigger)?;
            let domain: Domain = domain.parse()?;
            let selector = match selector {
                Some(s) => s.parse()?,
                None => manager.newest_pending(&domain).await?,
            };
            manager.apply(&domain, &selector, "rotate_dkim_keys").await
        }
        Request::UpdateSesByodkimAutomated { domain, selector } => {
            manager.guard_scheduled_apply(trigger)?;
            let (domain, selector) = (domain.parse()?, selector.parse()?);
            manager.apply(&domain, &selector, "update_ses_byodkim_automated").await
        }
        Request::DisableEasyDkim { domain } => manager.disable_easy_dkim(&domain.parse()?).await,
        Request::Status { domain } => manager.status(&domain.parse()?).await,
    }
}

struct Manager<'a, S, N, E, R> {
    deps: &'a Deps<S, N, E, R>,
    now: Timestamp,
}

struct Created {
    info: CertificateInfo,
    record: DnsTxtRecord,
    generated: bool,
}

impl Created {
    fn response(&self, action: &'static str, domain: &Domain) -> Response {
        let info = &self.info;
        let message = if self.generated {
            "DKIM key generated and stored; DNS team notified"
        } else {
            "a key already exists for this selector; nothing was generated"
        };
        Response::ok(
            action,
            domain,
            message,
            json!({
                "selector": info.selector,
                "environment": info.environment,
                "generated": self.generated,
                "state": info.state,
                "dns_record": self.record,
                "public_key_fingerprint": info.public_key_fingerprint,
                "created_at": info.created_at,
                "expires_at": info.expires_at,
                "renewal_alert_at": info.renewal_alert_at,
                "validity_days": info.validity_days,
                "renewal_alert_days": info.renewal_alert_days,
                "dns_team_notified_at": info.dns_team_notified_at,
                "storage": {
                    "private_key": private_key_path(domain, &info.selector),
                    "certificate_info": certificate_info_path(domain, &info.selector),
                    "dns_record": dns_record_path(domain, &info.selector),
                },
            }),
        )
    }
}

/// How to put SES back the way it was if an apply fails.
enum Restore {
    External { selector: String, key: SesSigningKey },
    EasyDkim,
}

impl<S, N, E, R> Manager<'_, S, N, E, R>
where
    S: ObjectStore,
    N: Notifier,
    E: SesDkimApi,
    R: TxtResolver,
{
    fn config(&self) -> &ManagerConfig {
        &self.deps.config
    }

    fn guard_scheduled_generation(&self, trigger: Trigger) -> Result<(), Error> {
        if trigger == Trigger::Scheduled && self.config().rotation_mode == RotationMode::Manual {
            return Err(Error::Refused(
                "BYODKIMRotationMode=MANUAL: scheduled invocations do not generate keys".into(),
            ));
        }
        Ok(())
    }

    fn guard_scheduled_apply(&self, trigger: Trigger) -> Result<(), Error> {
        if trigger == Trigger::Scheduled
            && (!self.config().auto_apply_to_ses || self.config().rotation_mode == RotationMode::Manual)
        {
            return Err(Error::Refused(
                "BYODKIMAutoApplyToSES=false or BYODKIMRotationMode=MANUAL: scheduled \
                 invocations do not change SES; an operator must request the apply"
                    .into(),
            ));
        }
        Ok(())
    }

    fn context(&self, domain: &Domain, environment: &str) -> Context {
        let config = self.config();
        Context {
            environment: environment.into(),
            domain: domain.to_string(),
            region: config.region.clone(),
            at: self.now,
            dkim_manager_function: config.function_name.clone(),
            certificates_bucket: config.certificates_bucket.clone(),
        }
    }

    async fn publish(
        &self,
        message: Message,
        severity: Severity,
        domain: &Domain,
        environment: &str,
    ) -> Result<(), Error> {
        let notification = message.render(severity, &self.context(domain, environment));
        self.deps.notifier.send(&notification).await?;
        Ok(())
    }

    async fn create_or_get(
        &self,
        domain: &Domain,
        selector: Option<Selector>,
        environment: Option<String>,
        separator: Option<String>,
        reuse_pending: bool,
    ) -> Result<Created, Error> {
        let keys = &self.deps.keys;
        let selector = match selector {
            Some(selector) => selector,
            None => {
                if reuse_pending {
                    // One pending key per domain: a retried GENERATE_ONLY gets the same key.
                    let infos = keys.list_infos(domain).await?;
                    if let Some(pending) = infos.into_iter().rev().find(|i| i.is_pending()) {
                        info!(%domain, selector = %pending.selector, "pending key exists; not generating another");
                        return self.existing(pending).await;
                    }
                }
                let separator = separator.as_deref().unwrap_or(&self.config().dkim_separator);
                generate_selector(separator, self.now, &keys.list_selectors(domain).await?)?
            }
        };
        if let Some(existing) = keys.load_info(domain, &selector).await? {
            info!(%domain, %selector, "key already exists; returning it");
            return self.existing(existing).await;
        }
        // A key stored by an interrupted earlier attempt is reused, never replaced.
        let (private, generated) = match keys.load_private_key(domain, &selector).await? {
            Some(private) => (private, false),
            None => {
                let generated = generate_rsa2048()?;
                keys.save_private_key(domain, &selector, &generated.private).await?;
                (generated.private, true)
            }
        };
        let public = private.public_key()?;
        drop(private);
        let record = DnsTxtRecord::new(domain, &selector, &public);
        keys.save_dns_record(domain, &selector, &record).await?;
        let info = CertificateInfo::new(
            domain.clone(),
            selector.clone(),
            environment.unwrap_or_else(|| self.config().environment.clone()),
            public.to_base64(),
            public.fingerprint(),
            self.now,
            self.config().validity_days,
            self.config().renewal_alert_days,
        );
        keys.save_info(&info).await?;
        info!(%domain, %selector, fingerprint = %info.public_key_fingerprint, "DKIM key stored");
        let info = self.notify_dns_team(info, &record).await?;
        Ok(Created { info, record, generated })
    }

    async fn existing(&self, info: CertificateInfo) -> Result<Created, Error> {
        let public = PublicKeySpki::from_base64(&info.public_key)?;
        let record = DnsTxtRecord::new(&info.domain, &info.selector, &public);
        let info = if info.dns_team_notified_at.is_none() && info.is_pending() {
            // The earlier attempt stored the key but failed to notify: finish that step.
            self.notify_dns_team(info, &record).await?
        } else {
            info
        };
        Ok(Created { info, record, generated: false })
    }

    async fn notify_dns_team(
        &self,
        mut info: CertificateInfo,
        record: &DnsTxtRecord,
    ) -> Result<CertificateInfo, Error> {
        let message = Message::DnsRecordRequest { selector: info.selector.to_string(), record: record.to_block() };
        self.publish(message, Severity::Warning, &info.domain, &info.environment).await?;
        info.dns_team_notified_at = Some(self.now);
        self.deps.keys.save_info(&info).await?;
        info!(domain = %info.domain, selector = %info.selector, "DNS team notified");
        Ok(info)
    }

    async fn verified_public_key(&self, info: &CertificateInfo) -> Result<PublicKeySpki, Error> {
        let public = PublicKeySpki::from_base64(&info.public_key)?;
        if public.fingerprint() != info.public_key_fingerprint {
            return Err(Error::Metadata {
                key: certificate_info_path(&info.domain, &info.selector),
                message: "public_key does not match public_key_fingerprint".into(),
            });
        }
        Ok(public)
    }

    /// Checks DNS and records DNS_VERIFIED on a MATCH.
    async fn dns_check_and_record(&self, info: &mut CertificateInfo) -> Result<DnsCheck, Error> {
        let public = self.verified_public_key(info).await?;
        let check = check_dns(&self.deps.dns, &info.domain, &info.selector, &public).await?;
        info!(domain = %info.domain, selector = %info.selector, status = %check.status, "DNS checked");
        if check.status == DnsStatus::Match
            && info.advance(KeyState::DnsVerified, self.now, "DNS publishes exactly this key")
        {
            self.deps.keys.save_info(info).await?;
        }
        Ok(check)
    }

    async fn check_dns_status(&self, domain: &Domain, selector: &Selector) -> Result<Response, Error> {
        let mut info = self.deps.keys.require_info(domain, selector).await?;
        let check = self.dns_check_and_record(&mut info).await?;
        let message = match check.status {
            DnsStatus::Match => "DNS publishes exactly our key",
            DnsStatus::Mismatch => "DNS publishes a different or invalid key",
            DnsStatus::MultipleRecords => "DNS has several TXT records for this selector",
            DnsStatus::NotFound => "no TXT record yet",
        };
        Ok(Response::ok(
            "check_dns_status",
            domain,
            message,
            json!({ "selector": selector, "status": check.status, "dns": check, "state": info.state }),
        ))
    }

    async fn newest_pending(&self, domain: &Domain) -> Result<Selector, Error> {
        self.deps
            .keys
            .list_infos(domain)
            .await?
            .into_iter()
            .rev()
            .find(CertificateInfo::is_pending)
            .map(|i| i.selector)
            .ok_or_else(|| Error::NoPendingKey { domain: domain.to_string() })
    }

    /// DNS MATCH → put signing attributes → enable signing → read back; rollback on failure.
    async fn apply(&self, domain: &Domain, selector: &Selector, action: &'static str) -> Result<Response, Error> {
        let keys = &self.deps.keys;
        let ses = &self.deps.ses;
        let mut info = keys.require_info(domain, selector).await?;
        if info.state == KeyState::Retired {
            return Err(Error::Refused(format!("selector {selector} is RETIRED; generate a new key instead")));
        }
        let check = self.dns_check_and_record(&mut info).await?;
        if check.status != DnsStatus::Match {
            return Err(Error::DnsNotReady {
                record_name: check.record_name,
                status: check.status,
                detail: check.detail,
            });
        }
        let private = keys
            .load_private_key(domain, selector)
            .await?
            .ok_or_else(|| Error::CertificateNotFound { domain: domain.to_string(), selector: selector.to_string() })?;
        if private.public_key()?.fingerprint() != info.public_key_fingerprint {
            return Err(Error::KeyPairMismatch {
                selector: selector.to_string(),
                recorded: info.public_key_fingerprint.clone(),
            });
        }
        let signing_key = private.to_ses_signing_key()?;
        drop(private);

        let before = ses.get_dkim(domain.as_str()).await?;
        if before.external_selector() == Some(selector.as_str()) && before.signing_enabled {
            info!(%domain, %selector, status = before.status.as_str(), "SES already signs with this selector");
            self.record_applied(&mut info, &before).await?;
            return Ok(self.applied_response(action, domain, &info, &before, &before, &check, false));
        }
        let restore = self.restore_plan(domain, &before).await?;

        info!(%domain, %selector, previous_origin = ?before.origin, previous_tokens = ?before.tokens, "applying BYODKIM key to SES");
        let attempt: Result<SesDkimState, String> = async {
            ses.put_external_signing_key(domain.as_str(), selector.as_str(), &signing_key)
                .await
                .map_err(|e| e.to_string())?;
            ses.set_signing_enabled(domain.as_str(), true).await.map_err(|e| e.to_string())?;
            let after = ses.get_dkim(domain.as_str()).await.map_err(|e| e.to_string())?;
            if after.external_selector() != Some(selector.as_str()) {
                return Err(format!(
                    "read-back shows origin {:?} with tokens {:?}, not EXTERNAL {selector}",
                    after.origin, after.tokens
                ));
            }
            if !after.signing_enabled {
                return Err("read-back shows signing disabled".into());
            }
            if after.status == DkimStatus::Failed {
                return Err("SES reports DKIM status FAILED".into());
            }
            Ok(after)
        }
        .await;

        match attempt {
            Ok(after) => {
                self.record_applied(&mut info, &after).await?;
                let message = Message::ByodkimApplied {
                    selector: selector.to_string(),
                    status: after.status.as_str().to_owned(),
                    retire_after_days: self.config().retire_after_days,
                };
                self.publish(message, Severity::Info, domain, &info.environment).await?;
                Ok(self.applied_response(action, domain, &info, &before, &after, &check, true))
            }
            Err(cause) => {
                warn!(%domain, %selector, %cause, "apply failed; restoring previous signing attributes");
                let rollback = self.rollback(domain, &before, &restore).await;
                let restored = match &restore {
                    Restore::External { selector, .. } => format!("EXTERNAL selector {selector}"),
                    Restore::EasyDkim => "Easy DKIM (AWS_SES)".to_owned(),
                };
                let (outcome, rolled_back, ses_after, rollback_error) = match rollback {
                    Ok(state) => ("ROLLED_BACK", true, Some(state), None),
                    Err(e) => ("ROLLBACK_FAILED", false, None, Some(e)),
                };
                info.note(self.now, format!("apply failed ({cause}); {outcome} to {restored}"));
                keys.save_info(&info).await?;
                let message = Message::ByodkimApplyFailed {
                    selector: selector.to_string(),
                    cause: cause.clone(),
                    restored: restored.clone(),
                    rolled_back,
                };
                self.publish(message, Severity::Critical, domain, &info.environment).await?;
                Ok(Response {
                    status_code: 500,
                    action,
                    message: if rolled_back {
                        format!("apply failed: {cause}; rolled back to {restored}")
                    } else {
                        format!("apply failed: {cause}; rollback to {restored} FAILED")
                    },
                    domain: domain.to_string(),
                    details: match json!({
                        "selector": selector,
                        "outcome": outcome,
                        "rolled_back": rolled_back,
                        "restored": restored,
                        "failure": cause,
                        "rollback_error": rollback_error,
                        "ses_before": before,
                        "ses_after_rollback": ses_after,
                        "state": info.state,
                    }) {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    },
                })
            }
        }
    }

    /// Decides, before anything changes, how a failed apply would be undone. If SES signs with
    /// an EXTERNAL key we do not hold, a failure could not be undone, so the apply is refused.
    async fn restore_plan(&self, domain: &Domain, before: &SesDkimState) -> Result<Restore, Error> {
        if before.origin != Some(DkimSigningAttributesOrigin::External) {
            return Ok(Restore::EasyDkim);
        }
        let Some(old) = before.tokens.first() else {
            return Ok(Restore::EasyDkim);
        };
        let old_selector: Selector = old.parse()?;
        match self.deps.keys.load_private_key(domain, &old_selector).await? {
            Some(key) => Ok(Restore::External { selector: old.clone(), key: key.to_ses_signing_key()? }),
            None => Err(Error::Refused(format!(
                "SES signs with selector {old} whose private key is not in the store, so a failed \
                 apply could not be rolled back; store that key first (PKCS#1 or PKCS#8 PEM at {})",
                private_key_path(domain, &old_selector)
            ))),
        }
    }

    async fn rollback(
        &self,
        domain: &Domain,
        before: &SesDkimState,
        restore: &Restore,
    ) -> Result<SesDkimState, String> {
        let ses = &self.deps.ses;
        let identity = domain.as_str();
        match restore {
            Restore::External { selector, key } => ses.put_external_signing_key(identity, selector, key).await,
            Restore::EasyDkim => ses.put_easy_dkim_signing(identity).await,
        }
        .map_err(|e| e.to_string())?;
        let mut state = ses.get_dkim(identity).await.map_err(|e| e.to_string())?;
        if state.signing_enabled != before.signing_enabled {
            ses.set_signing_enabled(identity, before.signing_enabled).await.map_err(|e| e.to_string())?;
            state = ses.get_dkim(identity).await.map_err(|e| e.to_string())?;
        }
        let same_origin = state.origin == before.origin;
        let same_selector = match restore {
            Restore::External { selector, .. } => state.tokens.first() == Some(selector),
            Restore::EasyDkim => true,
        };
        if same_origin && same_selector && state.signing_enabled == before.signing_enabled {
            info!(%domain, "previous signing attributes restored");
            Ok(state)
        } else {
            Err(format!(
                "after rollback SES shows origin {:?} tokens {:?} signing {}",
                state.origin, state.tokens, state.signing_enabled
            ))
        }
    }

    async fn record_applied(&self, info: &mut CertificateInfo, after: &SesDkimState) -> Result<(), Error> {
        let changed = info.advance(
            KeyState::Applied,
            self.now,
            format!("SES signing attributes set (EXTERNAL); status {}", after.status.as_str()),
        );
        if changed {
            self.deps.keys.save_info(info).await?;
        }
        if after.status == DkimStatus::Success {
            self.activate(info).await?;
        }
        Ok(())
    }

    /// SES reported SUCCESS for `info`'s selector: mark it ACTIVE and retire its predecessors.
    async fn activate(&self, info: &mut CertificateInfo) -> Result<(), Error> {
        if !info.advance(KeyState::Active, self.now, "SES reports SUCCESS") {
            return Ok(());
        }
        self.deps.keys.save_info(info).await?;
        for mut other in self.deps.keys.list_infos(&info.domain).await? {
            if other.selector != info.selector && matches!(other.state, KeyState::Applied | KeyState::Active) {
                other.advance(KeyState::Retired, self.now, format!("superseded by {}", info.selector));
                other.superseded_by = Some(info.selector.clone());
                self.deps.keys.save_info(&other).await?;
                info!(domain = %info.domain, retired = %other.selector, successor = %info.selector, "selector retired");
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn applied_response(
        &self,
        action: &'static str,
        domain: &Domain,
        info: &CertificateInfo,
        before: &SesDkimState,
        after: &SesDkimState,
        check: &DnsCheck,
        changed: bool,
    ) -> Response {
        Response::ok(
            action,
            domain,
            if changed {
                "SES BYODKIM update completed successfully"
            } else {
                "SES already signs with this selector; nothing changed"
            },
            json!({
                "selector": info.selector,
                "outcome": if changed { "APPLIED" } else { "ALREADY_APPLIED" },
                "final_dkim_status": after.status.as_str(),
                "signing_enabled": after.signing_enabled,
                "signing_origin": after.origin.as_ref().map(DkimSigningAttributesOrigin::as_str),
                "tokens": after.tokens,
                "ses_before": before,
                "dns": check,
                "state": info.state,
            }),
        )
    }

    async fn disable_easy_dkim(&self, domain: &Domain) -> Result<Response, Error> {
        let ses = &self.deps.ses;
        let before = ses.get_dkim(domain.as_str()).await?;
        if let Some(selector) = before.external_selector() {
            return Err(Error::Refused(format!(
                "{domain} signs with BYODKIM selector {selector}; disabling signing would send \
                 mail without DKIM"
            )));
        }
        if !before.signing_enabled {
            return Ok(Response::ok(
                "disable_easy_dkim",
                domain,
                "Easy DKIM signing is already disabled; nothing changed",
                json!({ "changed": false, "ses": before }),
            ));
        }
        ses.set_signing_enabled(domain.as_str(), false).await?;
        let after = ses.get_dkim(domain.as_str()).await?;
        info!(%domain, "Easy DKIM signing disabled");
        Ok(Response::ok(
            "disable_easy_dkim",
            domain,
            "Easy DKIM signing disabled; generate and apply a BYODKIM key next",
            json!({ "changed": true, "ses_before": before, "ses": after }),
        ))
    }

    async fn status(&self, domain: &Domain) -> Result<Response, Error> {
        let ses_state = self.deps.ses.get_dkim(domain.as_str()).await?;
        let current = ses_state.external_selector().map(str::to_owned);
        if let Some(current) = &current
            && ses_state.status == DkimStatus::Success
            && let Ok(selector) = current.parse::<Selector>()
            && let Some(mut info) = self.deps.keys.load_info(domain, &selector).await?
            && info.state == KeyState::Applied
        {
            self.activate(&mut info).await?;
        }
        let infos = self.deps.keys.list_infos(domain).await?;
        let retire_after = DAY * i32::try_from(self.config().retire_after_days).unwrap_or(i32::MAX);
        let days = |from: Timestamp, to: Timestamp| from.duration_until(to).as_secs().div_euclid(86_400);
        let mut removable = Vec::new();
        let keys: Vec<Value> = infos
            .iter()
            .map(|i| {
                let successor_active = i
                    .superseded_by
                    .as_ref()
                    .and_then(|s| infos.iter().find(|o| &o.selector == s))
                    .and_then(|o| o.active_at);
                let dns_removable_at = successor_active.map(|t| t + retire_after);
                let is_current = current.as_deref() == Some(i.selector.as_str());
                let dns_removable =
                    i.state == KeyState::Retired && !is_current && dns_removable_at.is_some_and(|t| self.now >= t);
                if dns_removable {
                    removable.push(i.selector.to_string());
                }
                json!({
                    "selector": i.selector,
                    "state": i.state,
                    "current": is_current,
                    "created_at": i.created_at,
                    "age_days": days(i.created_at, self.now),
                    "expires_at": i.expires_at,
                    "days_until_expiry": days(self.now, i.expires_at),
                    "renewal_due": self.now >= i.renewal_alert_at,
                    "expired": self.now >= i.expires_at,
                    "public_key_fingerprint": i.public_key_fingerprint,
                    "active_at": i.active_at,
                    "retired_at": i.retired_at,
                    "superseded_by": i.superseded_by,
                    "dns_record_removable_at": dns_removable_at,
                    "dns_record_removable": dns_removable,
                })
            })
            .collect();
        Ok(Response::ok(
            "status",
            domain,
            format!("{} key(s) recorded; nothing is deleted automatically", infos.len()),
            json!({
                "current_selector": current,
                "ses": ses_state,
                "keys": keys,
                "retire_after_days": self.config().retire_after_days,
                "dns_records_removable": removable,
            }),
        ))
    }
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
