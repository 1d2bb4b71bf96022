#!/usr/bin/env python3
"""The Firehose Lambda's speed and memory against its targets, in one table.

Steps (each prints what it runs):
  1. `cargo bench -p logmask-benches --bench firehose`: criterion, the handler on 1 MB and 6 MB
     events of gzip CloudWatch Logs records and of SES JSON; the events are written to
     $FIREHOSE_BENCH_DIR (default: <tmp>/logmask-firehose-bench).
  2. `blueprint_baseline.py` on the same events: AWS's Python CloudWatch-Logs blueprint logic;
     the same logic in Rust (criterion, `<event>/blueprint-in-rust`) is the ceiling of step 1.
  3. Peak RSS of `logmask firehose --event <6 MB event>` (`--profile max`, the profile of the
     published figures and the Lambda artefacts; CLI feature `aws`) with /usr/bin/time -v.
     Re-ingestion goes to a moto_server started here on 127.0.0.1 when `moto_server` is
     installed (`pip install 'moto[server]'`), so the overflow path is part of the measurement.
  4. Cold start: the firehose-transform binary (`--profile max`) through the local Runtime API test.

usage: python3 benches/firehose_report.py [--skip-bench]
exit status 2 when a target is missed.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
EVENTS = Path(os.environ.get("FIREHOSE_BENCH_DIR", Path(tempfile.gettempdir()) / "logmask-firehose-bench"))
NAMES = ["cwl-gzip-1mb", "cwl-gzip-6mb", "ses-json-1mb", "ses-json-6mb"]
RSS_LIMIT_KB = 64 * 1024
SPEEDUP_TARGET = 10.0


def run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def criterion_mb_s(name):
    base = TARGET / "criterion" / "firehose" / name / "new"
    median_ns = json.loads((base / "estimates.json").read_text())["median"]["point_estimate"]
    size = json.loads((base / "benchmark.json").read_text())["throughput"]["Bytes"]
    return size / (median_ns * 1e-9) / 1e6, median_ns * 1e-6


def blueprint_mb_s(path):
    out = subprocess.run([sys.executable, str(ROOT / "benches" / "blueprint_baseline.py"), str(path)],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"([0-9.]+) ms/event, ([0-9.]+) MB/s in", out)
    return float(m.group(2)), float(m.group(1))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    if not shutil.which("moto_server"):
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
    import boto3  # installed with moto

    kw = dict(endpoint_url=endpoint, region_name="ap-northeast-1",
              aws_access_key_id="testing", aws_secret_access_key="testing")
    boto3.client("s3", **kw).create_bucket(
        Bucket="bench-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    boto3.client("firehose", **kw).create_delivery_stream(
        DeliveryStreamName="ses-migration-production-events", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                            "BucketARN": "arn:aws:s3:::bench-bucket"})
    return proc, endpoint


def peak_rss(event, endpoint):
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true", AWS_REGION="ap-northeast-1",
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    result = subprocess.run(["/usr/bin/time", "-v", str(TARGET / "max" / "logmask"), "firehose", "--event", str(event)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    summary = [line for line in result.stderr.splitlines() if line.startswith("{")][-1]
    return kb, json.loads(summary)


def main():
    if "--skip-bench" not in sys.argv:
        run(["cargo", "bench", "-p", "logmask-benches", "--bench", "firehose"], env=dict(os.environ, FIREHOSE_BENCH_DIR=str(EVENTS)))
    # The profile of the published figures (fat LTO); `--release` is the everyday build.
    run(["cargo", "build", "--profile", "max", "-p", "logmask-cli", "-p", "firehose-transform",
         "--features", "logmask-cli/aws"])

    missed = False
    # The blueprint's own logic in Rust (no masking) bounds what any transformation can reach.
    print("\n| event | bytes | logmask (criterion) | blueprint (Python) | speed-up | blueprint in Rust (ceiling) |")
    print("|---|---|---|---|---|---|")
    for name in NAMES:
        path = EVENTS / f"{name}.json"
        ours, ours_ms = criterion_mb_s(name)
        theirs, theirs_ms = blueprint_mb_s(path)
        floor, floor_ms = criterion_mb_s(f"{name}_blueprint-in-rust")  # criterion writes "/" as "_"
        ratio = ours / theirs
        verdict = "" if ratio >= SPEEDUP_TARGET else " (MISSED)"
        missed |= ratio < SPEEDUP_TARGET
        print(f"| {name} | {path.stat().st_size:,} | {ours:.0f} MB/s ({ours_ms:.1f} ms) | {theirs:.0f} MB/s ({theirs_ms:.1f} ms) "
              f"| {ratio:.1f}×{verdict} | {floor_ms:.1f} ms = {floor / theirs:.1f}× the Python |")

    moto, endpoint = start_moto()
    try:
        print("\n| event | peak RSS | summary |")
        print("|---|---|---|")
        for name in ["cwl-gzip-6mb", "ses-json-6mb"]:
            kb, summary = peak_rss(EVENTS / f"{name}.json", endpoint)
            verdict = "" if kb <= RSS_LIMIT_KB else " (MISSED: > 64 MB)"
            missed |= kb > RSS_LIMIT_KB
            print(f"| {name} | {kb / 1024:.1f} MB{verdict} | {json.dumps(summary)} |")
        if not endpoint:
            print("(no moto_server: overflow records could not be re-ingested and became ProcessingFailed)")
    finally:
        if moto:
            moto.terminate()

    out = subprocess.run(["cargo", "test", "-p", "firehose-transform", "--test", "runtime_api", "--", "--nocapture"],
                         cwd=ROOT, env=dict(os.environ, FIREHOSE_TRANSFORM_BIN=str(TARGET / "max" / "firehose-transform")),
                         capture_output=True, text=True, check=True).stdout
    cold = re.search(r"cold-start init[^:]*: (.*)", out)
    print(f"\ncold start of the `max` binary (process start → first /next poll): {cold.group(1) if cold else 'not printed'}")
    sys.exit(2 if missed else 0)


if __name__ == "__main__":
    main()
