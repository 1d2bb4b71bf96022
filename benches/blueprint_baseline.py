#!/usr/bin/env python3
"""Speed baseline: the logic of AWS's Python CloudWatch-Logs Firehose blueprint, re-implemented
here from its description (no masking): for each record base64-decode, gunzip, parse the
CloudWatch Logs document, join the messages (one per line) and base64-encode; CONTROL_MESSAGE
is Dropped. Records that are not gzip get the identity transform of the process-record blueprint
(decode, re-encode). Event JSON parsing and response serialisation are included, as the Lambda
runtime does them for both implementations. Re-ingestion is not modelled.

usage: blueprint_baseline.py EVENT.json [EVENT.json ...]   (events: see benches/firehose.rs)
prints one line per event: MB/s in (event bytes) and MB/s out (response bytes).
"""
import base64
import gzip
import json
import sys
import time


def transform(event):
    out = []
    for record in event["records"]:
        raw = base64.b64decode(record["data"])
        if raw[:2] == b"\x1f\x8b":
            doc = json.loads(gzip.decompress(raw))
            if doc["messageType"] == "CONTROL_MESSAGE":
                out.append({"recordId": record["recordId"], "result": "Dropped"})
                continue
            joined = "".join(e["message"] + "\n" for e in doc["logEvents"])
            data = base64.b64encode(joined.encode("utf-8")).decode("ascii")
        else:
            data = base64.b64encode(raw).decode("ascii")
        out.append({"recordId": record["recordId"], "result": "Ok", "data": data})
    return {"records": out}


def measure(path, min_seconds=3.0):
    with open(path, "rb") as f:
        text = f.read()
    runs, elapsed, out_bytes = 0, 0.0, 0
    while elapsed < min_seconds or runs < 3:
        start = time.perf_counter()
        response = json.dumps(transform(json.loads(text)))
        elapsed += time.perf_counter() - start
        out_bytes = len(response)
        runs += 1
    per_run = elapsed / runs
    print(
        f"{path}: {len(text)} bytes in, {out_bytes} bytes out, {per_run * 1000:.1f} ms/event, "
        f"{len(text) / per_run / 1e6:.1f} MB/s in, {out_bytes / per_run / 1e6:.1f} MB/s out"
    )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        measure(arg)
