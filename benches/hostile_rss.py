#!/usr/bin/env python3
"""Peak RSS and wall time of `logmask firehose --event …` on hostile events (issue 14), against
the 64 MB target for the 128 MB Lambda tier. Run by hand (not in CI):

    cargo build --release -p logmask-cli
    python3 benches/hostile_rss.py [--keep] [--only NAME,…]

Each case is built in a temporary directory, run under `/usr/bin/time -v` and reported as one
table row: event size, peak RSS, wall time, the handler's summary line. Re-ingestion goes to a
moto_server started here on 127.0.0.1 when `moto_server` and boto3 are installed
(`pip install 'moto[server]'`), so the overflow path is measured too; without it the events name
no delivery stream and overflow becomes ProcessingFailed. Exit status 2 when a case passes 64 MB
or the process dies.
"""
import base64
import gzip
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "logmask"
RSS_LIMIT_KB = 64 * 1024
EVENT_LIMIT = 6 * 1024 * 1024
STREAM = "hostile-bench"
STREAM_ARN = f"arn:aws:firehose:ap-northeast-1:123456789012:deliverystream/{STREAM}"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def cwl_doc(group: str, events: list[str], stream: str = "s") -> bytes:
    head = json.dumps({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": group,
                       "logStream": stream, "subscriptionFilters": ["f"]})[:-1]
    return (head + ',"logEvents":[' + ",".join(events) + "]}").encode()


def cwl_repeat(group: str, event: str, count: int) -> bytes:
    """A gzip CloudWatch Logs document of `count` copies of `event`, built without holding it."""
    head = json.dumps({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": group,
                       "logStream": "s", "subscriptionFilters": ["f"]})[:-1] + ',"logEvents":['
    out = tempfile.SpooledTemporaryFile()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as z:
        z.write(head.encode())
        chunk = ("," + event) * 10_000
        z.write(event.encode())
        left = count - 1
        while left >= 10_000:
            z.write(chunk.encode())
            left -= 10_000
        z.write((("," + event) * left).encode())
        z.write(b"]}")
    out.seek(0)
    return out.read()


def event_json(records: list[bytes], reingest: bool) -> bytes:
    event = {"invocationId": "bench", "region": "ap-northeast-1",
             "records": [{"recordId": f"{i:056d}", "approximateArrivalTimestamp": 1714555805000,
                          "data": base64.b64encode(r).decode()} for i, r in enumerate(records)]}
    if reingest:
        event["deliveryStreamArn"] = STREAM_ARN
    return json.dumps(event, separators=(",", ":")).encode()


def fill(record_of, reingest: bool) -> bytes:
    """As many records `record_of(i)` as fit in a 6 MB event."""
    records, size = [], 200
    while True:
        r = record_of(len(records))
        size += len(base64.b64encode(r)) + 120
        if size > EVENT_LIMIT - 1024:
            return event_json(records, reingest)
        records.append(r)


def realistic_message(rng: random.Random) -> str:
    n = rng.randrange(1 << 30)
    return (f"INFO request id=req-{n:08x} user=user{n % 5000}@example.co.jp ip=192.0.2.{n % 254 + 1} "
            f"path=/api/orders/{n % 100000} status=200 ms={n % 900}")


def cases(reingest: bool):
    rng = random.Random(14)
    yield "1M empty log events (one record)", event_json([cwl_repeat("g", "{}", 1_000_000)], reingest)
    yield "5M empty log events (one record)", event_json([cwl_repeat("g", "{}", 5_000_000)], reingest)
    yield "100 KB logGroup x 10,000 events", event_json([cwl_repeat("g" * 100_000, "{}", 10_000)], reingest)
    yield "8 MB logGroup x 2M events", event_json([cwl_repeat("g" * 8_000_000, "{}", 2_000_000)], reingest)
    yield "7.5 MB of lines from 1 record (re-ingest budget)", event_json(
        [cwl_repeat("g" * 40, '{"message":"x"}', 70_000)], reingest)
    bomb = cwl_repeat("g", json.dumps({"id": "1", "timestamp": 1714555801000, "message": "a" * 1_000_000}), 15)
    yield "gzip bombs: 6 MB of 15 MB documents", fill(lambda i: bomb, reingest)
    big_message = gz(cwl_doc("g", [json.dumps({"id": "1", "timestamp": 1714555801000, "message": "a" * 15_000_000})]))
    yield "gzip bombs: 6 MB of one-15 MB-message documents", fill(lambda i: big_message, reingest)
    yield "180,000 empty records (response bound)", json.dumps(
        {"records": [{"recordId": f"{i:x}", "data": ""} for i in range(180_000)]}).encode()
    yield "4.4 MB text record of ':'", event_json([b":" * 4_400_000], reingest)
    lone = ('{"a":"\\ud800","b":"bob\\u0040example\\u002ecom 10\\u002e1\\u002e2\\u002e3"}\n').encode()
    yield "6 MB of JSON records with lone surrogates", fill(lambda i: lone * 20, reingest)
    yield "realistic CloudWatch Logs, 6 MB (gzip, 200 events/record)", fill(
        lambda i: gz(cwl_doc("/aws/lambda/ses-migration-production-mailer",
                             [json.dumps({"id": f"{i:028d}{k:028d}", "timestamp": 1714555801000 + k,
                                          "message": realistic_message(rng)}) for k in range(200)],
                             "2024/05/01/[$LATEST]0123456789abcdef")), reingest)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    if not shutil.which("moto_server"):
        return None, None
    try:
        import boto3
    except ImportError:
        return None, None
    port = free_port()
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.2)
    endpoint = f"http://127.0.0.1:{port}"
    kw = dict(endpoint_url=endpoint, region_name="ap-northeast-1",
              aws_access_key_id="testing", aws_secret_access_key="testing")
    boto3.client("s3", **kw).create_bucket(
        Bucket="hostile-bench", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    boto3.client("firehose", **kw).create_delivery_stream(
        DeliveryStreamName=STREAM, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                            "BucketARN": "arn:aws:s3:::hostile-bench"})
    return proc, endpoint


def measure(path: Path, endpoint):
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true", AWS_REGION="ap-northeast-1",
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    for name in ["MASK_ROLE", "TOKEN_KEY_SECRET_ID", "TOKEN_KEY_SSM_PARAMETER", "RUST_LOG"]:
        env.pop(name, None)
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-v", str(BINARY), "firehose", "--event", str(path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - started
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    status = re.search(r"Exit status: (\d+)", result.stderr)
    signal = re.search(r"Command terminated by signal (\d+)", result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("{") or line.startswith("error:")]
    outcome = lines[-1] if lines else "(no summary)"
    return kb, wall, len(result.stdout), (f"signal {signal.group(1)}" if signal else f"exit {status.group(1)}"), outcome


def main():
    if not BINARY.exists():
        sys.exit(f"{BINARY} not found: cargo build --release -p logmask-cli")
    only = None
    if "--only" in sys.argv:
        only = sys.argv[sys.argv.index("--only") + 1].split(",")
    moto, endpoint = start_moto()
    work = Path(tempfile.mkdtemp(prefix="logmask-hostile-"))
    failed = False
    try:
        print(f"binary: {BINARY}; re-ingestion: {'moto_server ' + endpoint if endpoint else 'none'}")
        print("\n| case | event | peak RSS | wall | response | status | summary |")
        print("|---|---|---|---|---|---|---|")
        for i, (name, event) in enumerate(cases(endpoint is not None)):
            if only and not any(o in name for o in only):
                continue
            path = work / f"case-{i}.json"
            path.write_bytes(event)
            size = len(event)
            del event
            kb, wall, response, status, outcome = measure(path, endpoint)
            path.unlink()
            verdict = "" if kb <= RSS_LIMIT_KB else " **over 64 MB**"
            failed |= kb > RSS_LIMIT_KB or status.startswith("signal")
            print(f"| {name} | {size:,} B | {kb / 1024:.1f} MB{verdict} | {wall:.2f} s "
                  f"| {response:,} B | {status} | `{outcome}` |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if moto:
            moto.terminate()
    sys.exit(2 if failed else 0)


if __name__ == "__main__":
    main()
