//! In-memory notifier and state store (feature `test-util`): they model the real behaviour
//! (routing to topics, conditional writes with etags), not canned answers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::message::Notification;
use crate::publish::{Notifier, NotifyError, Topics};
use crate::suppress::{Condition, PutOutcome, StateError, StateStore, Versioned};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Records every notification with the topics it was routed to.
#[derive(Clone)]
pub struct RecordingNotifier {
    topics: Topics,
    sent: Arc<Mutex<Vec<(Vec<String>, Notification)>>>,
    fail: Arc<Mutex<bool>>,
}

impl Default for RecordingNotifier {
    fn default() -> Self {
        Self::with_topics(Topics { operations: "operations".into(), dns_team: Some("dns-team".into()) })
    }
}

impl RecordingNotifier {
    pub fn with_topics(topics: Topics) -> Self {
        Self { topics, sent: Arc::default(), fail: Arc::default() }
    }
    /// (subject, message) pairs in order.
    pub fn sent(&self) -> Vec<(String, String)> {
        lock(&self.sent).iter().map(|(_, n)| (n.subject(), n.message())).collect()
    }
    pub fn notifications(&self) -> Vec<Notification> {
        lock(&self.sent).iter().map(|(_, n)| n.clone()).collect()
    }
    /// Topics of each sent notification.
    pub fn topics(&self) -> Vec<Vec<String>> {
        lock(&self.sent).iter().map(|(t, _)| t.clone()).collect()
    }
    /// Makes every later send fail (SNS down).
    pub fn fail_sends(&self, fail: bool) {
        *lock(&self.fail) = fail;
    }
}

impl Notifier for RecordingNotifier {
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        if *lock(&self.fail) {
            return Err(NotifyError { topic: self.topics.operations.clone(), message: "injected failure".into() });
        }
        let topics = self.topics.for_route(notification.route).into_iter().map(str::to_owned).collect();
        lock(&self.sent).push((topics, notification.clone()));
        Ok(())
    }
}

/// Objects with etags and S3's conditional-write semantics.
#[derive(Clone, Default)]
pub struct MemoryStateStore {
    objects: Arc<Mutex<BTreeMap<String, (Vec<u8>, u64)>>>,
    version: Arc<Mutex<u64>>,
    unavailable: Arc<Mutex<bool>>,
}

impl MemoryStateStore {
    pub fn keys(&self) -> Vec<String> {
        lock(&self.objects).keys().cloned().collect()
    }
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        lock(&self.objects).get(key).map(|(b, _)| b.clone())
    }
    pub fn remove(&self, key: &str) {
        lock(&self.objects).remove(key);
    }
    pub fn clear(&self) {
        lock(&self.objects).clear();
    }
    /// Every call fails (S3 unreachable).
    pub fn set_unavailable(&self, unavailable: bool) {
        *lock(&self.unavailable) = unavailable;
    }
    fn check(&self, operation: &'static str, key: &str) -> Result<(), StateError> {
        if *lock(&self.unavailable) {
            return Err(StateError { operation, key: key.into(), message: "injected: unreachable".into() });
        }
        Ok(())
    }
}

impl StateStore for MemoryStateStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        self.check("GetObject", key)?;
        Ok(lock(&self.objects).get(key).map(|(body, v)| Versioned { body: body.clone(), etag: format!("\"v{v}\"") }))
    }
    async fn put(&self, key: &str, body: Vec<u8>, condition: Condition) -> Result<PutOutcome, StateError> {
        self.check("PutObject", key)?;
        let mut objects = lock(&self.objects);
        let current = objects.get(key).map(|(_, v)| format!("\"v{v}\""));
        let ok = match (&condition, &current) {
            (Condition::Absent, None) => true,
            (Condition::Match(etag), Some(cur)) => etag == cur,
            _ => false,
        };
        if !ok {
            return Ok(PutOutcome::Conflict);
        }
        let mut version = lock(&self.version);
        *version += 1;
        objects.insert(key.to_owned(), (body, *version));
        Ok(PutOutcome::Written)
    }
    async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.check("DeleteObject", key)?;
        lock(&self.objects).remove(key);
        Ok(())
    }
}
