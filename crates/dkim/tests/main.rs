//! Integration tests of the DKIM manager with real components: an in-process hickory DNS
//! server on loopback, mail-auth signing/verification, moto_server for S3 (SSE-KMS), KMS and
//! SNS, and aws-smithy-mocks for the SESv2 DKIM calls (moto does not implement them).

mod dns_roundtrip;
mod hygiene;
mod moto;
mod ses_mocks;
