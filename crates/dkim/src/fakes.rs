//! In-memory implementations of the manager's traits, for tests (feature `test-util`).
//! They model behaviour (an object store, a DNS zone, SES's DKIM state), not canned answers.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::dns::{TxtRecord, TxtResolver};
use crate::error::{DnsError, SesError, StoreError};
use crate::keys::SesSigningKey;
use crate::ses::{DkimSigningAttributesOrigin, DkimStatus, SesDkimApi, SesDkimState};
use crate::store::ObjectStore;
pub use logmask_notify::testing::RecordingNotifier;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Clone, Default)]
pub struct MemoryStore {
    objects: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    puts: Arc<Mutex<usize>>,
}

impl MemoryStore {
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        lock(&self.objects).get(key).cloned()
    }
    pub fn keys(&self) -> Vec<String> {
        lock(&self.objects).keys().cloned().collect()
    }
    pub fn put_count(&self) -> usize {
        *lock(&self.puts)
    }
    pub fn remove(&self, key: &str) {
        lock(&self.objects).remove(key);
    }
}

impl ObjectStore for MemoryStore {
    async fn put(&self, key: &str, body: Vec<u8>, _content_type: &str) -> Result<(), StoreError> {
        *lock(&self.puts) += 1;
        lock(&self.objects).insert(key.to_owned(), body);
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.object(key))
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(lock(&self.objects).keys().filter(|k| k.starts_with(prefix)).cloned().collect())
    }
}

/// A DNS zone keyed by owner name (without trailing dot).
#[derive(Clone, Default)]
pub struct FakeDns {
    records: Arc<Mutex<HashMap<String, Vec<TxtRecord>>>>,
}

impl FakeDns {
    pub fn set(&self, name: &str, records: Vec<TxtRecord>) {
        lock(&self.records).insert(name.trim_end_matches('.').to_owned(), records);
    }
    /// Publishes a single TXT record made of `value` split into 255-byte strings.
    pub fn publish(&self, name: &str, value: &str) {
        let strings = crate::record::split_character_strings(value).into_iter().map(String::into_bytes).collect();
        self.set(name, vec![TxtRecord { strings }]);
    }
}

impl TxtResolver for FakeDns {
    async fn lookup_txt(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        Ok(lock(&self.records).get(name.trim_end_matches('.')).cloned().unwrap_or_default())
    }
}

/// One call SES received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SesCall {
    Get,
    PutExternal {
        selector: String,
        /// What SES received as `DomainSigningPrivateKey` (kept to assert on it in tests; wiped
        /// on drop, like every copy of a private key).
        private_key_b64: zeroize::Zeroizing<String>,
    },
    PutEasyDkim,
    SetSigningEnabled(bool),
}

/// SES's DKIM state for one identity. `fail_call(n)` makes the n-th call (0-based) fail.
#[derive(Clone)]
pub struct FakeSes {
    state: Arc<Mutex<SesDkimState>>,
    calls: Arc<Mutex<Vec<SesCall>>>,
    fail_at: Arc<Mutex<Option<usize>>>,
    /// Status SES reports right after a BYODKIM change (PENDING in reality).
    status_after_put: Arc<Mutex<DkimStatus>>,
}

impl FakeSes {
    /// A fresh identity with Easy DKIM enabled, as CreateEmailIdentity leaves it.
    pub fn easy_dkim() -> Self {
        Self::with_state(SesDkimState {
            signing_enabled: true,
            status: DkimStatus::Success,
            tokens: vec!["easytoken1".into(), "easytoken2".into(), "easytoken3".into()],
            origin: Some(DkimSigningAttributesOrigin::AwsSes),
        })
    }

    pub fn with_state(state: SesDkimState) -> Self {
        Self {
            state: Arc::new(Mutex::new(state)),
            calls: Arc::default(),
            fail_at: Arc::default(),
            status_after_put: Arc::new(Mutex::new(DkimStatus::Pending)),
        }
    }

    pub fn state(&self) -> SesDkimState {
        lock(&self.state).clone()
    }
    /// `status` as SES spells it (`SUCCESS`, `PENDING`, …).
    pub fn set_status(&self, status: &str) {
        lock(&self.state).status = DkimStatus::from(status);
    }
    pub fn set_status_after_put(&self, status: &str) {
        *lock(&self.status_after_put) = DkimStatus::from(status);
    }
    pub fn calls(&self) -> Vec<SesCall> {
        lock(&self.calls).clone()
    }
    pub fn fail_call(&self, index: usize) {
        *lock(&self.fail_at) = Some(index);
    }

    fn record(&self, call: SesCall, operation: &'static str) -> Result<(), SesError> {
        let mut calls = lock(&self.calls);
        let index = calls.len();
        calls.push(call);
        if *lock(&self.fail_at) == Some(index) {
            return Err(SesError { operation, message: "injected failure".into() });
        }
        Ok(())
    }
}

impl SesDkimApi for FakeSes {
    async fn get_dkim(&self, _identity: &str) -> Result<SesDkimState, SesError> {
        self.record(SesCall::Get, "GetEmailIdentity")?;
        Ok(self.state())
    }

    async fn put_external_signing_key(
        &self,
        _identity: &str,
        selector: &str,
        key: &SesSigningKey,
    ) -> Result<(), SesError> {
        self.record(
            SesCall::PutExternal {
                selector: selector.into(),
                private_key_b64: zeroize::Zeroizing::new(key.expose_secret().into()),
            },
            "PutEmailIdentityDkimSigningAttributes",
        )?;
        let status = lock(&self.status_after_put).clone();
        let mut state = lock(&self.state);
        state.origin = Some(DkimSigningAttributesOrigin::External);
        state.tokens = vec![selector.into()];
        state.status = status;
        Ok(())
    }

    async fn put_easy_dkim_signing(&self, _identity: &str) -> Result<(), SesError> {
        self.record(SesCall::PutEasyDkim, "PutEmailIdentityDkimSigningAttributes")?;
        let mut state = lock(&self.state);
        state.origin = Some(DkimSigningAttributesOrigin::AwsSes);
        state.tokens = vec!["easytoken1".into(), "easytoken2".into(), "easytoken3".into()];
        state.status = DkimStatus::Pending;
        Ok(())
    }

    async fn set_signing_enabled(&self, _identity: &str, enabled: bool) -> Result<(), SesError> {
        self.record(SesCall::SetSigningEnabled(enabled), "PutEmailIdentityDkimAttributes")?;
        lock(&self.state).signing_enabled = enabled;
        Ok(())
    }
}
