//! A local Lambda Runtime API (a small HTTP/1.1 server on 127.0.0.1 answering
//! `GET /2018-06-01/runtime/invocation/next` and the `response` / `error` posts) that runs a
//! real function binary for one invocation, as the Lambda service would: the binary starts with
//! a Lambda environment, polls for the event, posts its response, and is stopped at its next
//! poll (by then the invocation's output is flushed).

use std::ffi::OsStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The request id of the one invocation served.
pub const REQUEST_ID: &str = "req-1";

/// What the function did with its invocation.
#[derive(Debug)]
pub struct Invocation {
    /// The body the function posted to `invocation/req-1/response`.
    pub response: Vec<u8>,
    /// Process start to its first `/next` poll: the cold-start init time.
    pub init: Duration,
    pub stdout: String,
    pub stderr: String,
}

enum Seen {
    Next(Instant),
    Response(String, Vec<u8>),
    Error(String, Vec<u8>),
}

/// Runs `binary` as the Lambda function `function` (`AWS_LAMBDA_FUNCTION_NAME`, log group,
/// ARN), with an otherwise empty environment: the Lambda variables, [`crate::moto::REGION`],
/// dummy credentials, no instance metadata, then `env` (the function's own configuration).
/// Serves `event` once and returns what came back.
///
/// # Panics
/// When the function posts an invocation error, or exits or stays silent for 60 s before
/// responding (with its stderr in the message).
pub fn invoke_once(binary: impl AsRef<OsStr>, function: &str, env: &[(&str, &str)], event: &[u8]) -> Invocation {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(run(binary.as_ref(), function, env, event))
}

async fn run(binary: &OsStr, function: &str, env: &[(&str, &str)], event: &[u8]) -> Invocation {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let served =
        Arc::new(Served { event: event.to_vec(), function: function.to_owned(), answered: AtomicBool::new(false) });
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, served.clone(), tx.clone()));
        }
    });

    let started = Instant::now();
    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/01/[$LATEST]test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
        .env("AWS_REGION", crate::moto::REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().unwrap_or_else(|err| panic!("start {binary:?}: {err}"));

    let mut init = None;
    let response = loop {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(Seen::Next(at))) => {
                init.get_or_insert(at - started);
            }
            Ok(Some(Seen::Response(path, body))) => {
                assert!(path.contains(&format!("/invocation/{REQUEST_ID}/")), "{path}");
                break body;
            }
            Ok(Some(Seen::Error(path, body))) => panic!("{path}: {}", String::from_utf8_lossy(&body)),
            other => {
                let _ = child.start_kill();
                let output = child.wait_with_output().await.unwrap();
                panic!(
                    "no response ({}): stderr:\n{}",
                    if other.is_ok() { "server gone" } else { "timed out" },
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
    };

    // The next poll means the invocation is over and its output written; then stop the process.
    while let Ok(Some(seen)) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
        if matches!(seen, Seen::Next(_)) {
            break;
        }
    }
    child.start_kill().unwrap();
    let output = child.wait_with_output().await.unwrap();
    Invocation {
        response,
        init: init.expect("a response follows a poll"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

struct Served {
    event: Vec<u8>,
    function: String,
    answered: AtomicBool,
}

/// One HTTP/1.1 request: (method, path, body), with a `content-length` or chunked body.
async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).await.ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).await.ok()?;
    }
    Some((method, path, body))
}

async fn serve(stream: TcpStream, served: Arc<Served>, seen: mpsc::UnboundedSender<Seen>) {
    let mut reader = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut reader).await {
        let reply: Vec<u8> = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let _ = seen.send(Seen::Next(Instant::now()));
            // One invocation only: a later poll waits, as on an idle Lambda, until the process
            // is stopped (a second event would race the stop and log a second invocation).
            if served.answered.swap(true, Ordering::SeqCst) {
                return std::future::pending().await;
            }
            let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() + 300_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 lambda-runtime-aws-request-id: {REQUEST_ID}\r\nlambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:{}:123456789012:function:{}\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\r\n",
                served.event.len(),
                crate::moto::REGION,
                served.function,
            );
            [head.as_bytes(), &served.event].concat()
        } else if method == "POST" && path.contains("/runtime/") {
            let _ = seen.send(if path.ends_with("/response") {
                Seen::Response(path, body)
            } else {
                Seen::Error(path, body)
            });
            b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}\n".to_vec()
        } else {
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec()
        };
        if reader.get_mut().write_all(&reply).await.is_err() {
            return;
        }
    }
}
