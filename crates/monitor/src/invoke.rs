//! Asking the DKIM manager for a successor key (`BYODKIM_ROTATION_MODE=AUTO`).

use std::future::Future;

use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;

use crate::error::CheckError;

/// Invokes the DKIM manager synchronously and returns its response JSON.
pub trait ManagerInvoker: Send + Sync {
    fn invoke(&self, payload: &Value) -> impl Future<Output = Result<Value, CheckError>> + Send;
}

/// `aws-sdk-lambda` `Invoke` (RequestResponse).
pub struct LambdaManagerInvoker {
    client: aws_sdk_lambda::Client,
    function_name: String,
}

impl LambdaManagerInvoker {
    pub fn new(client: aws_sdk_lambda::Client, function_name: impl Into<String>) -> Self {
        Self { client, function_name: function_name.into() }
    }
}

impl ManagerInvoker for LambdaManagerInvoker {
    async fn invoke(&self, payload: &Value) -> Result<Value, CheckError> {
        let operation = format!("Lambda Invoke {}", self.function_name);
        let body = serde_json::to_vec(payload).map_err(|e| CheckError::new(&operation, e))?;
        let out = self
            .client
            .invoke()
            .function_name(&self.function_name)
            .payload(Blob::new(body))
            .send()
            .await
            .map_err(|e| CheckError::from_chain(&operation, &e))?;
        let response: Value = out
            .payload()
            .map(|p| serde_json::from_slice(p.as_ref()))
            .transpose()
            .map_err(|e| CheckError::new(&operation, format!("response is not JSON: {e}")))?
            .unwrap_or(Value::Null);
        if let Some(kind) = out.function_error() {
            let message = response.get("errorMessage").and_then(Value::as_str).unwrap_or("(no message)");
            return Err(CheckError::new(&operation, format!("{kind}: {message}")));
        }
        Ok(response)
    }
}
