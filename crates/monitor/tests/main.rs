//! Integration tests of the monitor with real components where they exist locally: moto_server
//! for S3 (DKIM metadata, suppression state with conditional writes) and SNS, an in-process
//! hickory DNS server (the DKIM crate's `test-util`), and the DKIM manager itself to create
//! real keys. SESv2 GetEmailIdentity and CloudWatch GetMetricData go through the real SDK
//! clients with aws-smithy-mocks: moto's GetEmailIdentity with DKIM attributes does not
//! deserialize in the Rust SDK, and aws-sdk-cloudwatch speaks RPCv2-CBOR, which moto does not.

mod mocks;
mod moto;
mod scenario;
mod support;
