//! The four SESv2 calls the manager needs, behind a small trait so the apply/rollback logic can
//! be tested with fakes and with aws-smithy-mocks (moto does not implement the DKIM calls).

use std::future::Future;

use aws_sdk_sesv2::types::DkimSigningAttributes;
pub use aws_sdk_sesv2::types::{DkimSigningAttributesOrigin, DkimStatus};
use serde::Serialize;

use crate::error::SesError;
use crate::keys::SesSigningKey;

/// `GetEmailIdentity` → `DkimAttributes`, reduced to what the manager decides on. Status and
/// origin are the SDK's enums, so a comparison cannot be misspelt and a value SES adds later
/// arrives as `Unknown` instead of matching nothing silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SesDkimState {
    pub signing_enabled: bool,
    /// `PENDING`, `SUCCESS`, `FAILED`, `TEMPORARY_FAILURE`, `NOT_STARTED` (also when SES
    /// returns no DKIM attributes), or what SES adds later.
    #[serde(serialize_with = "as_str")]
    pub status: DkimStatus,
    /// For BYODKIM, `tokens[0]` is the selector SES signs with.
    pub tokens: Vec<String>,
    /// `AWS_SES` (Easy DKIM), `EXTERNAL` (BYODKIM) or another value.
    #[serde(serialize_with = "opt_as_str")]
    pub origin: Option<DkimSigningAttributesOrigin>,
}

fn as_str<S: serde::Serializer>(status: &DkimStatus, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(status.as_str())
}

fn opt_as_str<S: serde::Serializer>(origin: &Option<DkimSigningAttributesOrigin>, s: S) -> Result<S::Ok, S::Error> {
    match origin {
        Some(o) => s.serialize_some(o.as_str()),
        None => s.serialize_none(),
    }
}

impl SesDkimState {
    /// The BYODKIM selector SES currently uses, if the origin is EXTERNAL.
    pub fn external_selector(&self) -> Option<&str> {
        if self.origin == Some(DkimSigningAttributesOrigin::External) {
            self.tokens.first().map(String::as_str)
        } else {
            None
        }
    }
}

pub trait SesDkimApi: Send + Sync {
    /// `GetEmailIdentity`.
    fn get_dkim(&self, identity: &str) -> impl Future<Output = Result<SesDkimState, SesError>> + Send;
    /// `PutEmailIdentityDkimSigningAttributes` with origin EXTERNAL, selector and key.
    fn put_external_signing_key(
        &self,
        identity: &str,
        selector: &str,
        key: &SesSigningKey,
    ) -> impl Future<Output = Result<(), SesError>> + Send;
    /// `PutEmailIdentityDkimSigningAttributes` with origin AWS_SES (back to Easy DKIM).
    fn put_easy_dkim_signing(&self, identity: &str) -> impl Future<Output = Result<(), SesError>> + Send;
    /// `PutEmailIdentityDkimAttributes { SigningEnabled }`.
    fn set_signing_enabled(&self, identity: &str, enabled: bool) -> impl Future<Output = Result<(), SesError>> + Send;
}

pub struct SesV2DkimClient {
    client: aws_sdk_sesv2::Client,
}

impl SesV2DkimClient {
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        Self { client }
    }
}

fn ses_error<E>(operation: &'static str, err: E) -> SesError
where
    E: std::error::Error + Send + Sync + 'static,
{
    SesError { operation, message: aws_sdk_sesv2::error::DisplayErrorContext(err).to_string() }
}

impl SesDkimApi for SesV2DkimClient {
    async fn get_dkim(&self, identity: &str) -> Result<SesDkimState, SesError> {
        let out = self
            .client
            .get_email_identity()
            .email_identity(identity)
            .send()
            .await
            .map_err(|e| ses_error("GetEmailIdentity", e))?;
        let dkim = out.dkim_attributes();
        Ok(SesDkimState {
            signing_enabled: dkim.is_some_and(|d| d.signing_enabled()),
            status: dkim.and_then(|d| d.status()).cloned().unwrap_or(DkimStatus::NotStarted),
            tokens: dkim.map(|d| d.tokens().to_vec()).unwrap_or_default(),
            origin: dkim.and_then(|d| d.signing_attributes_origin()).cloned(),
        })
    }

    async fn put_external_signing_key(
        &self,
        identity: &str,
        selector: &str,
        key: &SesSigningKey,
    ) -> Result<(), SesError> {
        let attributes = DkimSigningAttributes::builder()
            .domain_signing_selector(selector)
            .domain_signing_private_key(key.expose_secret())
            .build();
        self.client
            .put_email_identity_dkim_signing_attributes()
            .email_identity(identity)
            .signing_attributes_origin(DkimSigningAttributesOrigin::External)
            .signing_attributes(attributes)
            .send()
            .await
            .map_err(|e| ses_error("PutEmailIdentityDkimSigningAttributes", e))?;
        Ok(())
    }

    async fn put_easy_dkim_signing(&self, identity: &str) -> Result<(), SesError> {
        self.client
            .put_email_identity_dkim_signing_attributes()
            .email_identity(identity)
            .signing_attributes_origin(DkimSigningAttributesOrigin::AwsSes)
            .send()
            .await
            .map_err(|e| ses_error("PutEmailIdentityDkimSigningAttributes", e))?;
        Ok(())
    }

    async fn set_signing_enabled(&self, identity: &str, enabled: bool) -> Result<(), SesError> {
        self.client
            .put_email_identity_dkim_attributes()
            .email_identity(identity)
            .signing_enabled(enabled)
            .send()
            .await
            .map_err(|e| ses_error("PutEmailIdentityDkimAttributes", e))?;
        Ok(())
    }
}
