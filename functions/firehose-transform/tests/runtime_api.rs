//! The real `firehose-transform` binary served by a local Lambda Runtime API (a small HTTP/1.1
//! server on 127.0.0.1 implementing `invocation/next` and `invocation/{id}/response`): one
//! invocation with the demo batch, the response checked, EMF read from stdout, and the cold-start
//! init time (process start → first `/next` poll) printed. `FIREHOSE_TRANSFORM_BIN` may point at
//! another build (e.g. the release binary) to measure it.

use std::time::{Duration, Instant};

use logmask_firehose::{FirehoseResponse, RecordResult, demo};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

enum Seen {
    Next(Instant),
    Response(String, Vec<u8>),
    Error(String, Vec<u8>),
}

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

async fn serve(stream: TcpStream, event: std::sync::Arc<Vec<u8>>, seen: mpsc::UnboundedSender<Seen>) {
    let mut reader = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut reader).await {
        let reply: Vec<u8> = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let first = seen.send(Seen::Next(Instant::now())).is_ok();
            if !first {
                return;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nlambda-runtime-aws-request-id: req-1\r\n\
                 lambda-runtime-deadline-ms: {}\r\nlambda-runtime-invoked-function-arn: arn:aws:lambda:ap-northeast-1:123456789012:function:firehose-transform\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\r\n",
                event.len(),
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 300_000
            );
            [head.into_bytes(), event.to_vec()].concat()
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

#[test]
fn the_binary_transforms_an_invocation_through_the_runtime_api() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let event = demo::demo_event();
        let payload = std::sync::Arc::new(serde_json::to_vec(&event).unwrap());
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, payload.clone(), tx.clone()));
            }
        });

        let binary = std::env::var("FIREHOSE_TRANSFORM_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_firehose-transform").to_owned());
        let started = Instant::now();
        let mut child = tokio::process::Command::new(binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "firehose-transform")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2024/05/01/[$LATEST]test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/firehose-transform")
            .env("AWS_REGION", "ap-northeast-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("MASK_ROLE", "operator")
            .env("PROJECT_CODE", "ses-migration")
            .env("ENVIRONMENT", "production")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();

        let mut init = None;
        let response = loop {
            match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
                Ok(Some(Seen::Next(at))) => {
                    init.get_or_insert(at - started);
                }
                Ok(Some(Seen::Response(path, body))) => {
                    assert!(path.contains("/invocation/req-1/"), "{path}");
                    break body;
                }
                Ok(Some(Seen::Error(path, body))) => panic!("{path}: {}", String::from_utf8_lossy(&body)),
                other => {
                    let _ = child.start_kill();
                    let output = child.wait_with_output().await.unwrap();
                    panic!("no response ({}): stderr:\n{}", other.is_ok(), String::from_utf8_lossy(&output.stderr));
                }
            }
        };
        println!("cold-start init (process start → first /next): {:?}", init.unwrap());

        let response: FirehoseResponse = serde_json::from_slice(&response).unwrap();
        let ids: Vec<&str> = response.records.iter().map(|r| r.record_id.as_str()).collect();
        let expected: Vec<&str> = event.records.iter().map(|r| r.record_id.as_str()).collect();
        assert_eq!(ids, expected);
        let results: Vec<RecordResult> = response.records.iter().map(|r| r.result).collect();
        let n = results.len();
        assert!(results[..n - 2].iter().all(|r| *r == RecordResult::Ok), "{results:?}");
        assert_eq!(results[n - 2..], [RecordResult::Dropped, RecordResult::ProcessingFailed]);
        let first = String::from_utf8(response.records[0].decoded_data().unwrap()).unwrap();
        assert!(first.contains(r#""destination":["t***@example.co.jp"]"#), "{first}");

        // Wait for the second poll (the batch is done and its output flushed), then stop it.
        while let Ok(Some(seen)) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            if matches!(seen, Seen::Next(_)) {
                break;
            }
        }
        child.start_kill().unwrap();
        let output = child.wait_with_output().await.unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let emf: Vec<serde_json::Value> =
            stdout.lines().map(|l| serde_json::from_str(l).expect("stdout carries only EMF")).collect();
        assert!(emf.len() >= 3, "{stdout}");
        assert!(emf.iter().all(|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ses-migration/production/SES"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("truncated gzip data"), "the corrupt record's reason is logged:\n{stderr}");
        assert!(!stderr.contains("taro.yamada"), "no record content in the function log");
    });
}
