//! An in-memory [`S3Client`] for the handler's unit tests (moto_server covers the real SDK calls
//! in tests/moto.rs).

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Mutex;

use crate::s3::{Head, ListPage, Listed, PutSpec, S3Client, StoreError};

#[derive(Debug, Clone)]
pub struct Stored {
    pub body: Vec<u8>,
    pub etag: String,
    pub spec: PutSpec,
}

/// Parts of an unfinished multipart upload, by upload id.
type Uploads = HashMap<String, Vec<(i32, Vec<u8>)>>;

#[derive(Default)]
pub struct FakeS3 {
    pub objects: Mutex<HashMap<(String, String), Stored>>,
    uploads: Mutex<Uploads>,
    /// `GetObject` fails with a retryable error for these keys.
    pub flaky: Mutex<Vec<String>>,
    pub puts: Mutex<u32>,
}

impl FakeS3 {
    pub fn insert(&self, bucket: &str, key: &str, body: Vec<u8>) {
        let etag = format!("\"{:x}\"", body.len() * 31 + body.first().copied().unwrap_or(0) as usize);
        let stored = Stored { body, etag, spec: PutSpec::default() };
        self.objects.lock().unwrap().insert((bucket.to_owned(), key.to_owned()), stored);
    }
    pub fn get_stored(&self, bucket: &str, key: &str) -> Option<Stored> {
        self.objects.lock().unwrap().get(&(bucket.to_owned(), key.to_owned())).cloned()
    }
    fn store(&self, bucket: &str, key: &str, body: Vec<u8>, spec: &PutSpec) {
        *self.puts.lock().unwrap() += 1;
        let etag = format!("\"w{}\"", body.len());
        self.objects
            .lock()
            .unwrap()
            .insert((bucket.to_owned(), key.to_owned()), Stored { body, etag, spec: spec.clone() });
    }
}

fn missing() -> StoreError {
    StoreError { message: "NoSuchKey".to_owned(), not_found: true, retryable: false, forbidden: false }
}

impl S3Client for FakeS3 {
    type Body = Cursor<Vec<u8>>;

    async fn list_page(&self, bucket: &str, prefix: &str, _token: Option<String>) -> Result<ListPage, StoreError> {
        let objects = self.objects.lock().unwrap();
        let mut listed: Vec<Listed> = objects
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .map(|((_, k), o)| Listed {
                key: k.clone(),
                size: o.body.len() as u64,
                etag: o.etag.clone(),
                last_modified: Some(0),
            })
            .collect();
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(ListPage { objects: listed, next: None })
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<Head>, StoreError> {
        Ok(self.get_stored(bucket, key).map(|o| Head { etag: o.etag, metadata: o.spec.metadata }))
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<(Head, Self::Body), StoreError> {
        if self.flaky.lock().unwrap().iter().any(|k| k == key) {
            return Err(StoreError {
                message: "SlowDown".to_owned(),
                not_found: false,
                retryable: true,
                forbidden: false,
            });
        }
        let o = self.get_stored(bucket, key).ok_or_else(missing)?;
        Ok((Head { etag: o.etag, metadata: o.spec.metadata }, Cursor::new(o.body)))
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, spec: &PutSpec) -> Result<(), StoreError> {
        self.store(bucket, key, body, spec);
        Ok(())
    }

    async fn create_multipart(&self, _bucket: &str, key: &str, _spec: &PutSpec) -> Result<String, StoreError> {
        let id = format!("upload-{key}");
        self.uploads.lock().unwrap().insert(id.clone(), Vec::new());
        Ok(id)
    }

    async fn upload_part(
        &self,
        _b: &str,
        _k: &str,
        upload_id: &str,
        n: i32,
        body: Vec<u8>,
    ) -> Result<String, StoreError> {
        self.uploads.lock().unwrap().get_mut(upload_id).ok_or_else(missing)?.push((n, body));
        Ok(format!("\"p{n}\""))
    }

    async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        _parts: Vec<(i32, String)>,
    ) -> Result<(), StoreError> {
        let parts = self.uploads.lock().unwrap().remove(upload_id).ok_or_else(missing)?;
        let body = parts.into_iter().flat_map(|(_, b)| b).collect();
        self.store(bucket, key, body, &PutSpec::default());
        Ok(())
    }

    async fn abort_multipart(&self, _bucket: &str, _key: &str, upload_id: &str) -> Result<(), StoreError> {
        self.uploads.lock().unwrap().remove(upload_id);
        Ok(())
    }
}
