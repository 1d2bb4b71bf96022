//! The two AWS services the handler calls, behind small traits: IAM for a user's groups, S3 for
//! one raw object.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Looks up the IAM groups of a user.
pub trait GroupDirectory: Send + Sync {
    /// Group names of `user_name` (`ListGroupsForUser`, every page).
    fn groups_for_user(&self, user_name: &str) -> impl Future<Output = Result<Vec<String>, String>> + Send;
}

/// Why an object could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// No such object (or no permission to know).
    NotFound,
    /// Stored size over the limit.
    TooLarge(u64),
    /// Anything else (the message names no data).
    Other(String),
}

/// Reads one object.
pub trait ObjectStore: Send + Sync {
    /// The object's bytes, refused when larger than `max_bytes`.
    fn get(&self, bucket: &str, key: &str, max_bytes: u64) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send;
}

/// IAM over the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsIam(pub aws_sdk_iam::Client);

impl GroupDirectory for AwsIam {
    async fn groups_for_user(&self, user_name: &str) -> Result<Vec<String>, String> {
        let mut pages = self.0.list_groups_for_user().user_name(user_name).into_paginator().send();
        let mut groups = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_sdk_iam::error::DisplayErrorContext(&e).to_string())?;
            groups.extend(page.groups().iter().map(|g| g.group_name().to_owned()));
        }
        Ok(groups)
    }
}

/// S3 over the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsS3(pub aws_sdk_s3::Client);

impl ObjectStore for AwsS3 {
    async fn get(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
        use aws_sdk_s3::operation::get_object::GetObjectError;
        let out = self.0.get_object().bucket(bucket).key(key).send().await.map_err(|e| match e.as_service_error() {
            Some(GetObjectError::NoSuchKey(_)) => FetchError::NotFound,
            _ if e.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 403 | 404)) => FetchError::NotFound,
            _ => FetchError::Other(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()),
        })?;
        let declared = out.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        if declared > max_bytes {
            return Err(FetchError::TooLarge(declared));
        }
        // The declared length is the server's word; the read is capped on its own as well.
        let mut body = out.body;
        let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
        while let Some(chunk) = body.try_next().await.map_err(|e| FetchError::Other(e.to_string()))? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > max_bytes {
                return Err(FetchError::TooLarge(bytes.len() as u64));
            }
        }
        Ok(bytes)
    }
}

/// Most users a warm container remembers; beyond that the cache starts over.
const CACHE_ENTRIES: usize = 1024;

/// A [`GroupDirectory`] that remembers answers for a short time (per warm container), so a
/// reader paging through an object does not call IAM for every page. Failures are not cached.
pub struct CachedDirectory<D> {
    inner: D,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl<D: GroupDirectory> CachedDirectory<D> {
    /// Caches `inner`'s answers for `ttl` (zero: no caching).
    pub fn new(inner: D, ttl: Duration) -> CachedDirectory<D> {
        CachedDirectory { inner, ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// The cached answer while fresh, else a new lookup.
    pub async fn groups_for_user(&self, user_name: &str) -> Result<Vec<String>, String> {
        if !self.ttl.is_zero() {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, groups)) = entries.get(user_name)
                && at.elapsed() < self.ttl
            {
                return Ok(groups.clone());
            }
        }
        let groups = self.inner.groups_for_user(user_name).await?;
        if !self.ttl.is_zero() {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if entries.len() >= CACHE_ENTRIES {
                entries.clear();
            }
            entries.insert(user_name.to_owned(), (Instant::now(), groups.clone()));
        }
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize);

    impl GroupDirectory for Counting {
        async fn groups_for_user(&self, user: &str) -> Result<Vec<String>, String> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if user == "broken" { Err("throttled".into()) } else { Ok(vec![format!("{user}-group")]) }
        }
    }

    #[tokio::test]
    async fn answers_are_cached_for_the_ttl_and_failures_not_at_all() {
        let cache = CachedDirectory::new(Counting(AtomicUsize::new(0)), Duration::from_millis(200));
        assert_eq!(cache.groups_for_user("alice").await.unwrap(), ["alice-group"]);
        assert_eq!(cache.groups_for_user("alice").await.unwrap(), ["alice-group"]);
        assert_eq!(cache.inner.0.load(Ordering::SeqCst), 1);
        assert!(cache.groups_for_user("broken").await.is_err());
        assert!(cache.groups_for_user("broken").await.is_err());
        assert_eq!(cache.inner.0.load(Ordering::SeqCst), 3);
        tokio::time::sleep(Duration::from_millis(250)).await;
        cache.groups_for_user("alice").await.unwrap();
        assert_eq!(cache.inner.0.load(Ordering::SeqCst), 4, "expired entries are looked up again");

        let uncached = CachedDirectory::new(Counting(AtomicUsize::new(0)), Duration::ZERO);
        uncached.groups_for_user("bob").await.unwrap();
        uncached.groups_for_user("bob").await.unwrap();
        assert_eq!(uncached.inner.0.load(Ordering::SeqCst), 2);
    }
}
