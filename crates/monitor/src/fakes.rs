//! Fakes of the monitor's own clients (feature `test-util`): CloudWatch values and the DKIM
//! manager's Lambda. SES, DNS, the object store and the notifier fakes are the DKIM and notify
//! crates' (`logmask_dkim::fakes`, `logmask_notify::testing`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use serde_json::Value;

use crate::error::CheckError;
use crate::invoke::ManagerInvoker;
use crate::metrics::{MetricQuery, MetricsApi};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Fixed values per query id; `fail` makes the call fail like an API error.
#[derive(Clone, Default)]
pub struct FakeMetrics {
    values: Arc<Mutex<HashMap<String, f64>>>,
    fail: Arc<Mutex<Option<String>>>,
    calls: Arc<Mutex<Vec<(Vec<MetricQuery>, Timestamp, Timestamp)>>>,
}

impl FakeMetrics {
    pub fn with(values: &[(&str, f64)]) -> Self {
        let fake = Self::default();
        lock(&fake.values).extend(values.iter().map(|(k, v)| (k.to_string(), *v)));
        fake
    }
    pub fn fail(&self, message: &str) {
        *lock(&self.fail) = Some(message.into());
    }
    pub fn calls(&self) -> Vec<(Vec<MetricQuery>, Timestamp, Timestamp)> {
        lock(&self.calls).clone()
    }
}

impl MetricsApi for FakeMetrics {
    async fn values(
        &self,
        queries: &[MetricQuery],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<HashMap<String, Option<f64>>, CheckError> {
        lock(&self.calls).push((queries.to_vec(), start, end));
        if let Some(message) = lock(&self.fail).clone() {
            return Err(CheckError::new("CloudWatch GetMetricData", message));
        }
        let values = lock(&self.values);
        Ok(queries.iter().map(|q| (q.id().to_owned(), values.get(q.id()).copied())).collect())
    }
}

/// Records payloads; answers like the DKIM manager's GENERATE_ONLY.
#[derive(Clone, Default)]
pub struct FakeInvoker {
    payloads: Arc<Mutex<Vec<Value>>>,
    fail: Arc<Mutex<bool>>,
}

impl FakeInvoker {
    pub fn payloads(&self) -> Vec<Value> {
        lock(&self.payloads).clone()
    }
    pub fn fail(&self) {
        *lock(&self.fail) = true;
    }
}

impl ManagerInvoker for FakeInvoker {
    async fn invoke(&self, payload: &Value) -> Result<Value, CheckError> {
        lock(&self.payloads).push(payload.clone());
        if *lock(&self.fail) {
            return Err(CheckError::new("Lambda Invoke dkim-manager", "AccessDeniedException: not authorized"));
        }
        Ok(
            serde_json::json!({"statusCode": 200, "action": "rotate_dkim_keys", "selector": "next-20261201-1", "generated": true}),
        )
    }
}
