//! Where keys live: an object store (S3 with SSE-KMS in production) and the key layout the
//! seed used, so existing buckets stay readable:
//!
//! - `dkim-certificates/{domain}/{selector}/private_key.pem` (PKCS#1 PEM)
//! - `dkim-certificates/{domain}/{selector}/certificate_info.json`
//! - `dns_records/{domain}/{selector}.json`

use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use crate::error::{Error, StoreError};
use crate::keys::PrivateKeyPkcs1;
use crate::metadata::CertificateInfo;
use crate::record::DnsTxtRecord;
use crate::selector::{Domain, Selector};

/// Minimal object storage.
pub trait ObjectStore: Send + Sync {
    fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `Ok(None)` if the object does not exist.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// S3; every object is written with SSE-KMS under the given key.
pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    kms_key_id: String,
}

impl S3ObjectStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: String, kms_key_id: String) -> Self {
        Self { client, bucket, kms_key_id }
    }
}

fn s3_error<E>(operation: &'static str, key: &str, err: E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StoreError { operation, key: key.to_owned(), message: aws_sdk_s3::error::DisplayErrorContext(err).to_string() }
}

impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.kms_key_id)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| s3_error("PutObject", key, e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(|e| s3_error("GetObject", key, e))?;
                Ok(Some(bytes.to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|se| se.is_no_such_key()) => Ok(None),
            Err(e) => Err(s3_error("GetObject", key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| s3_error("ListObjectsV2", prefix, e))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        }
        Ok(keys)
    }
}

pub fn private_key_path(domain: &Domain, selector: &Selector) -> String {
    format!("dkim-certificates/{domain}/{selector}/private_key.pem")
}

pub fn certificate_info_path(domain: &Domain, selector: &Selector) -> String {
    format!("dkim-certificates/{domain}/{selector}/certificate_info.json")
}

pub fn dns_record_path(domain: &Domain, selector: &Selector) -> String {
    format!("dns_records/{domain}/{selector}.json")
}

/// Typed access to the key layout on top of an [`ObjectStore`].
pub struct KeyRepository<S> {
    store: S,
}

impl<S: ObjectStore> KeyRepository<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub async fn load_info(&self, domain: &Domain, selector: &Selector) -> Result<Option<CertificateInfo>, Error> {
        let key = certificate_info_path(domain, selector);
        match self.store.get(&key).await? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Metadata { key, message: e.to_string() })
            }
        }
    }

    pub async fn require_info(&self, domain: &Domain, selector: &Selector) -> Result<CertificateInfo, Error> {
        self.load_info(domain, selector)
            .await?
            .ok_or_else(|| Error::CertificateNotFound { domain: domain.to_string(), selector: selector.to_string() })
    }

    pub async fn save_info(&self, info: &CertificateInfo) -> Result<(), Error> {
        let key = certificate_info_path(&info.domain, &info.selector);
        let body = serde_json::to_vec_pretty(info)
            .map_err(|e| Error::Metadata { key: key.clone(), message: e.to_string() })?;
        Ok(self.store.put(&key, body, "application/json").await?)
    }

    /// Loads a stored private key. PKCS#8 PEMs (written by other tools, e.g. the seed's
    /// OpenSSL 3 default) are converted, so an old selector can still be restored.
    pub async fn load_private_key(
        &self,
        domain: &Domain,
        selector: &Selector,
    ) -> Result<Option<PrivateKeyPkcs1>, Error> {
        let key = private_key_path(domain, selector);
        let Some(bytes) = self.store.get(&key).await? else {
            return Ok(None);
        };
        let bytes = zeroize::Zeroizing::new(bytes);
        let pem = std::str::from_utf8(&bytes)
            .map_err(|_| Error::Metadata { key: key.clone(), message: "private key PEM is not UTF-8".into() })?;
        Ok(Some(PrivateKeyPkcs1::from_pem_converting_pkcs8(pem)?))
    }

    pub async fn save_private_key(
        &self,
        domain: &Domain,
        selector: &Selector,
        key: &PrivateKeyPkcs1,
    ) -> Result<(), Error> {
        let pem = key.to_pem();
        let path = private_key_path(domain, selector);
        Ok(self.store.put(&path, pem.as_bytes().to_vec(), "application/x-pem-file").await?)
    }

    pub async fn save_dns_record(
        &self,
        domain: &Domain,
        selector: &Selector,
        record: &DnsTxtRecord,
    ) -> Result<(), Error> {
        let key = dns_record_path(domain, selector);
        let body = serde_json::to_vec_pretty(record)
            .map_err(|e| Error::Metadata { key: key.clone(), message: e.to_string() })?;
        Ok(self.store.put(&key, body, "application/json").await?)
    }

    /// All keys recorded for a domain, oldest first.
    pub async fn list_infos(&self, domain: &Domain) -> Result<Vec<CertificateInfo>, Error> {
        let prefix = format!("dkim-certificates/{domain}/");
        let mut infos = Vec::new();
        for key in self.store.list(&prefix).await? {
            let Some(selector) = key.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix("/certificate_info.json"))
            else {
                continue;
            };
            let Ok(selector) = selector.parse::<Selector>() else {
                continue; // not one of ours
            };
            if let Some(info) = self.load_info(domain, &selector).await? {
                infos.push(info);
            }
        }
        infos.sort_by_key(|i| i.created_at);
        Ok(infos)
    }

    /// Selectors that have any object under `dkim-certificates/{domain}/` (even a key whose
    /// metadata write never happened), so generated names are never reused.
    pub async fn list_selectors(&self, domain: &Domain) -> Result<Vec<Selector>, Error> {
        let prefix = format!("dkim-certificates/{domain}/");
        let mut selectors: Vec<Selector> = self
            .store
            .list(&prefix)
            .await?
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix)?.split('/').next()?.parse().ok())
            .collect();
        selectors.sort();
        selectors.dedup();
        Ok(selectors)
    }
}
