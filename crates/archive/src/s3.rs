//! S3 as source and destination, over a small client trait ([`S3Client`]) so the Lambda handler
//! and the CLI share one code path and tests can use moto_server or a fake.
//!
//! The masking is synchronous (rayon workers, or a blocking task in the Lambda); S3 calls are
//! async and run on a tokio runtime through a [`Handle`], so each worker has at most one request
//! in flight and `--jobs` bounds both CPU and concurrent requests.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::Arc;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::runtime::Handle;

use crate::backfill::{Dest, Entry, Source, Stamp};
use crate::error::BackfillError;
use crate::fingerprint::Fingerprint;
use crate::object::Compression;

/// User metadata key holding the policy fingerprint (`x-amz-meta-logmask-fingerprint`).
pub const META_FINGERPRINT: &str = "logmask-fingerprint";
/// User metadata key holding the source object's ETag.
pub const META_SOURCE_ETAG: &str = "logmask-source-etag";
/// User metadata key holding the role of the view.
pub const META_ROLE: &str = "logmask-role";
const META_STAMP: [&str; 2] = [META_FINGERPRINT, META_SOURCE_ETAG];

/// Objects up to this size are written with one `PutObject`; larger ones as a multipart upload
/// of parts this size. Either way the object appears only when complete: S3 never shows a
/// partial `PutObject`, and an unfinished multipart upload is no object at all (it is aborted
/// on failure; a bucket lifecycle rule `AbortIncompleteMultipartUpload` clears those of a
/// killed process).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// A failed S3 call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    /// Error code and message (never object content).
    pub message: String,
    /// The object or bucket does not exist.
    pub not_found: bool,
    /// Trying again may help (throttling, 5xx, network).
    pub retryable: bool,
    /// Access denied (403). S3 also answers so for a missing key when the caller may not list
    /// the bucket.
    pub forbidden: bool,
}

impl From<StoreError> for io::Error {
    fn from(e: StoreError) -> io::Error {
        let kind = if e.not_found {
            io::ErrorKind::NotFound
        } else if e.retryable {
            io::ErrorKind::Other
        } else {
            io::ErrorKind::PermissionDenied
        };
        io::Error::new(kind, e)
    }
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Full key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag as S3 returns it (quotes included).
    pub etag: String,
    /// Seconds since the epoch.
    pub last_modified: Option<i64>,
}

/// One page of `ListObjectsV2`.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    /// The objects.
    pub objects: Vec<Listed>,
    /// Token for the next page, if any.
    pub next: Option<String>,
}

/// What `HeadObject` (or `GetObject`) says about an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// ETag as S3 returns it.
    pub etag: String,
    /// User metadata (keys lower case, without `x-amz-meta-`).
    pub metadata: HashMap<String, String>,
}

/// How a masked object is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutSpec {
    /// `Content-Type`.
    pub content_type: String,
    /// User metadata.
    pub metadata: HashMap<String, String>,
    /// SSE-KMS with this key (id, ARN or alias) when set.
    pub kms_key_id: Option<String>,
}

/// The S3 calls the backfill makes.
pub trait S3Client: Send + Sync + 'static {
    /// An object's content, read as it arrives.
    type Body: AsyncRead + Send + Unpin + 'static;
    /// One page of `ListObjectsV2` under `prefix`.
    fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        token: Option<String>,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + Send;
    /// `HeadObject`; `None` when there is no such object.
    fn head(&self, bucket: &str, key: &str) -> impl Future<Output = Result<Option<Head>, StoreError>> + Send;
    /// `GetObject`.
    fn get(&self, bucket: &str, key: &str) -> impl Future<Output = Result<(Head, Self::Body), StoreError>> + Send;
    /// `PutObject`.
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        spec: &PutSpec,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `CreateMultipartUpload`; the upload id.
    fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        spec: &PutSpec,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// `UploadPart`; the part's ETag.
    fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// `CompleteMultipartUpload`.
    fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<(i32, String)>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `AbortMultipartUpload`.
    fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// [`S3Client`] over the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsS3 {
    client: aws_sdk_s3::Client,
}

impl AwsS3 {
    /// Wraps an SDK client.
    pub fn new(client: aws_sdk_s3::Client) -> AwsS3 {
        AwsS3 { client }
    }
}

fn store_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = e.code().unwrap_or_default().to_owned();
    let status = match &e {
        SdkError::ServiceError(s) => Some(s.raw()),
        _ => None,
    };
    let http = status.map(|r| format!("{r:?}")).unwrap_or_default();
    let not_found =
        matches!(code.as_str(), "NoSuchKey" | "NotFound" | "NoSuchBucket") || http.contains("StatusCode(404)");
    let retryable = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        _ => {
            matches!(
                code.as_str(),
                "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout" | "Throttling"
            ) || http.contains("StatusCode(5")
        }
    };
    let forbidden = matches!(code.as_str(), "AccessDenied" | "Forbidden") || http.contains("StatusCode(403)");
    StoreError { message: DisplayErrorContext(&e).to_string(), not_found, retryable, forbidden }
}

fn to_secs(t: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<i64> {
    t.map(|t| t.secs())
}

impl S3Client for AwsS3 {
    type Body = std::pin::Pin<Box<dyn AsyncRead + Send>>;

    async fn list_page(&self, bucket: &str, prefix: &str, token: Option<String>) -> Result<ListPage, StoreError> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(store_error)?;
        let objects = out
            .contents()
            .iter()
            .filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_owned(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    etag: o.e_tag().unwrap_or_default().to_owned(),
                    last_modified: to_secs(o.last_modified()),
                })
            })
            .collect();
        let next =
            if out.is_truncated() == Some(true) { out.next_continuation_token().map(str::to_owned) } else { None };
        Ok(ListPage { objects, next })
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<Head>, StoreError> {
        match self.client.head_object().bucket(bucket).key(key).send().await {
            Ok(out) => Ok(Some(Head {
                etag: out.e_tag().unwrap_or_default().to_owned(),
                metadata: out.metadata().cloned().unwrap_or_default(),
            })),
            Err(e) => {
                let e = store_error(e);
                if e.not_found { Ok(None) } else { Err(e) }
            }
        }
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<(Head, Self::Body), StoreError> {
        let out = self.client.get_object().bucket(bucket).key(key).send().await.map_err(store_error)?;
        let head = Head {
            etag: out.e_tag().unwrap_or_default().to_owned(),
            metadata: out.metadata().cloned().unwrap_or_default(),
        };
        Ok((head, Box::pin(out.body.into_async_read())))
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, spec: &PutSpec) -> Result<(), StoreError> {
        let mut req = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .content_type(&spec.content_type)
            .set_metadata(Some(spec.metadata.clone()));
        if let Some(kms) = &spec.kms_key_id {
            req = req.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(kms);
        }
        req.send().await.map_err(store_error)?;
        Ok(())
    }

    async fn create_multipart(&self, bucket: &str, key: &str, spec: &PutSpec) -> Result<String, StoreError> {
        let mut req = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(&spec.content_type)
            .set_metadata(Some(spec.metadata.clone()));
        if let Some(kms) = &spec.kms_key_id {
            req = req.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(kms);
        }
        let out = req.send().await.map_err(store_error)?;
        out.upload_id().map(str::to_owned).ok_or_else(|| StoreError {
            message: "CreateMultipartUpload returned no upload id".to_owned(),
            not_found: false,
            retryable: true,
            forbidden: false,
        })
    }

    async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: Vec<u8>,
    ) -> Result<String, StoreError> {
        let out = self
            .client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(store_error)?;
        Ok(out.e_tag().unwrap_or_default().to_owned())
    }

    async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<(i32, String)>,
    ) -> Result<(), StoreError> {
        let parts =
            parts.into_iter().map(|(n, etag)| CompletedPart::builder().part_number(n).e_tag(etag).build()).collect();
        self.client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn abort_multipart(&self, bucket: &str, key: &str, upload_id: &str) -> Result<(), StoreError> {
        self.client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

/// `s3://bucket/prefix` split into bucket and prefix.
pub fn parse_s3_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    valid.then(|| (bucket.to_owned(), prefix.to_owned()))
}

/// Raw objects under `s3://bucket/prefix`; entry keys are relative to the prefix.
#[derive(Debug)]
pub struct S3Source<C> {
    client: Arc<C>,
    bucket: String,
    prefix: String,
    handle: Handle,
}

impl<C: S3Client> S3Source<C> {
    /// Calls go through `handle`'s runtime; use from threads that are not runtime workers.
    pub fn new(client: Arc<C>, bucket: impl Into<String>, prefix: impl Into<String>, handle: Handle) -> S3Source<C> {
        S3Source { client, bucket: bucket.into(), prefix: prefix.into(), handle }
    }
}

/// A blocking [`Read`] over an async body.
pub struct BlockingBody<B> {
    body: B,
    handle: Handle,
}

impl<B: AsyncRead + Unpin> Read for BlockingBody<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.handle.block_on(self.body.read(buf))
    }
}

impl<C: S3Client> Source for S3Source<C> {
    type Reader = BlockingBody<C::Body>;

    fn list(&self) -> Result<Vec<Entry>, BackfillError> {
        let mut entries = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .handle
                .block_on(self.client.list_page(&self.bucket, &self.prefix, token))
                .map_err(|e| BackfillError::List(format!("s3://{}/{}: {e}", self.bucket, self.prefix)))?;
            for o in page.objects {
                let Some(rel) = o.key.strip_prefix(&self.prefix) else { continue };
                // "Folder" placeholder objects hold nothing to mask.
                if rel.is_empty() || rel.ends_with('/') {
                    continue;
                }
                entries.push(Entry { key: rel.to_owned(), size: o.size, modified: o.last_modified, tag: o.etag });
            }
            token = page.next;
            if token.is_none() {
                break;
            }
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(entries)
    }

    fn open(&self, entry: &Entry) -> io::Result<Self::Reader> {
        let key = format!("{}{}", self.prefix, entry.key);
        let (_, body) = self.handle.block_on(self.client.get(&self.bucket, &key))?;
        Ok(BlockingBody { body, handle: self.handle.clone() })
    }
}

/// Masked objects under `s3://bucket/prefix`, SSE-KMS when a key is set.
#[derive(Debug)]
pub struct S3Dest<C> {
    client: Arc<C>,
    bucket: String,
    prefix: String,
    kms_key_id: Option<String>,
    role: String,
    handle: Handle,
}

impl<C: S3Client> S3Dest<C> {
    /// Objects go to `bucket` under `prefix`; `role` is recorded in their metadata.
    pub fn new(
        client: Arc<C>,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
        kms_key_id: Option<String>,
        role: logmask_mask::Role,
        handle: Handle,
    ) -> S3Dest<C> {
        S3Dest { client, bucket: bucket.into(), prefix: prefix.into(), kms_key_id, role: role.to_string(), handle }
    }
}

/// A masked object on its way to S3: buffered up to [`PART_BYTES`], then a multipart upload.
pub struct S3Writer<C: S3Client> {
    client: Arc<C>,
    handle: Handle,
    bucket: String,
    key: String,
    spec: PutSpec,
    buf: Vec<u8>,
    upload: Option<String>,
    parts: Vec<(i32, String)>,
    parts_sent: usize,
}

impl<C: S3Client> S3Writer<C> {
    fn send_part(&mut self) -> io::Result<()> {
        let upload = match &self.upload {
            Some(id) => id.clone(),
            None => {
                let id = self.handle.block_on(self.client.create_multipart(&self.bucket, &self.key, &self.spec))?;
                self.upload = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as i32 + 1;
        let body = std::mem::replace(&mut self.buf, Vec::with_capacity(PART_BYTES));
        let etag = self.handle.block_on(self.client.upload_part(&self.bucket, &self.key, &upload, number, body))?;
        self.parts.push((number, etag));
        self.parts_sent += 1;
        Ok(())
    }
}

impl<C: S3Client> Write for S3Writer<C> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = PART_BYTES - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == PART_BYTES {
            self.send_part()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<C: S3Client> Dest for S3Dest<C> {
    type Writer = S3Writer<C>;

    fn stamp(&self, key: &str) -> io::Result<Option<Stamp>> {
        let key = format!("{}{key}", self.prefix);
        let head = match self.handle.block_on(self.client.head(&self.bucket, &key)) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(None),
            // Without s3:ListBucket, S3 answers HEAD of a missing key with 403 rather than 404:
            // such an object counts as not written yet (writing it still needs permission).
            Err(e) if e.forbidden => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let fingerprint = head.metadata.get(META_FINGERPRINT).and_then(|f| Fingerprint::parse(f));
        let source = head.metadata.get(META_SOURCE_ETAG).cloned();
        Ok(fingerprint.zip(source).map(|(fingerprint, source_tag)| Stamp { fingerprint, source_tag }))
    }

    fn create(&self, key: &str, compression: Compression, stamp: &Stamp) -> io::Result<S3Writer<C>> {
        let content_type = match compression {
            Compression::Gzip => "application/gzip",
            Compression::Plain => "application/octet-stream",
        };
        let metadata = HashMap::from([
            (META_FINGERPRINT.to_owned(), stamp.fingerprint.as_str().to_owned()),
            (META_SOURCE_ETAG.to_owned(), stamp.source_tag.clone()),
            (META_ROLE.to_owned(), self.role.clone()),
        ]);
        Ok(S3Writer {
            client: self.client.clone(),
            handle: self.handle.clone(),
            bucket: self.bucket.clone(),
            key: format!("{}{key}", self.prefix),
            spec: PutSpec { content_type: content_type.to_owned(), metadata, kms_key_id: self.kms_key_id.clone() },
            buf: Vec::with_capacity(64 * 1024),
            upload: None,
            parts: Vec::new(),
            parts_sent: 0,
        })
    }

    fn commit(&self, mut w: S3Writer<C>) -> io::Result<()> {
        let Some(upload) = w.upload.clone() else {
            let body = std::mem::take(&mut w.buf);
            return Ok(self.handle.block_on(self.client.put(&w.bucket, &w.key, body, &w.spec))?);
        };
        let result = (|| -> io::Result<()> {
            if !w.buf.is_empty() {
                w.send_part()?;
            }
            let parts = std::mem::take(&mut w.parts);
            match self.handle.block_on(self.client.complete_multipart(&w.bucket, &w.key, &upload, parts)) {
                Ok(()) => Ok(()),
                // The outcome of a failed completion can be ambiguous (a timeout after S3 acted,
                // or a 200 whose body the SDK cannot read, as moto_server's root element): the
                // object under its key, stamped as this upload stamped it, settles it.
                Err(e) => match self.handle.block_on(self.client.head(&w.bucket, &w.key)) {
                    Ok(Some(head))
                        if META_STAMP.iter().all(|m| head.metadata.get(*m) == w.spec.metadata.get(*m))
                            && head.etag.ends_with(&format!("-{}\"", w.parts_sent)) =>
                    {
                        Ok(())
                    }
                    _ => Err(e.into()),
                },
            }
        })();
        if result.is_err() {
            let _ = self.handle.block_on(self.client.abort_multipart(&w.bucket, &w.key, &upload));
        }
        result
    }

    fn abort(&self, w: S3Writer<C>) {
        if let Some(upload) = &w.upload {
            let _ = self.handle.block_on(self.client.abort_multipart(&w.bucket, &w.key, upload));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_split_into_bucket_and_prefix() {
        assert_eq!(parse_s3_url("s3://raw-logs/raw/2024/"), Some(("raw-logs".into(), "raw/2024/".into())));
        assert_eq!(parse_s3_url("s3://raw-logs"), Some(("raw-logs".into(), String::new())));
        for bad in ["raw-logs/raw/", "s3://", "s3://Raw_Logs/x", "s3://ab/x", "https://raw-logs/x"] {
            assert_eq!(parse_s3_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn store_errors_map_to_io_kinds_that_decide_retries() {
        let e = |not_found, retryable| {
            io::Error::from(StoreError { message: "m".into(), not_found, retryable, forbidden: false }).kind()
        };
        assert_eq!(e(true, false), io::ErrorKind::NotFound);
        assert_eq!(e(false, true), io::ErrorKind::Other);
        assert_eq!(e(false, false), io::ErrorKind::PermissionDenied);
    }
}
