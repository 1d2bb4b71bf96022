"""Sceptre template handler for the SAM templates whose functions point at local build output.

`pipeline.yaml` and `functions.yaml` reference `cargo lambda build --release` output as
`CodeUri: ../../target/lambda/<function>/`, which `sam deploy` packages by itself. Sceptre does
not, so the stack configs use this file as their template: it zips each such directory
reproducibly (fixed timestamps and modes), uploads it to the artifacts bucket under its SHA-256
(unchanged code keeps its key, so CloudFormation sees no change), and returns the template text
with those CodeUri lines pointing at S3. Nothing else in the template is touched.

sceptre_user_data: template (file name next to this one), artifact_bucket, region.
"""

import hashlib
import io
import os
import re
import zipfile

CODE_URI = re.compile(r"^(\s*)CodeUri:\s*(\.\./\S+/)\s*$", re.MULTILINE)
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def zip_directory(directory):
    """A zip of every file under `directory`, byte-for-byte the same for the same files."""
    if not os.path.isfile(os.path.join(directory, "bootstrap")):
        raise RuntimeError(
            f"{directory} has no bootstrap: run `cargo lambda build --release` (or --arm64) first"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                info = zipfile.ZipInfo(os.path.relpath(path, directory), FIXED_TIME)
                # The runtime executes bootstrap, so every file keeps an executable mode.
                info.external_attr = 0o100755 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(path, "rb") as source:
                    archive.writestr(info, source.read())
    return buffer.getvalue()


def package(text, template_dir, upload):
    """Replaces each local CodeUri in `text` with the S3 URI that `upload(name, data)` returns."""

    def replace(match):
        indent, relative = match.groups()
        directory = os.path.normpath(os.path.join(template_dir, relative))
        return f"{indent}CodeUri: {upload(os.path.basename(directory), zip_directory(directory))}"

    return CODE_URI.sub(replace, text)


def sceptre_handler(sceptre_user_data):
    import boto3  # Sceptre brings boto3; imported here so `package` is testable without it.

    template_dir = os.path.dirname(os.path.abspath(__file__))
    bucket = sceptre_user_data["artifact_bucket"]
    s3 = boto3.client("s3", region_name=sceptre_user_data.get("region"))

    def upload(name, data):
        key = f"lambda/{name}/{hashlib.sha256(data).hexdigest()}.zip"
        # `sceptre generate` may hand over a resolver placeholder instead of the bucket (it
        # does not need real outputs); that is no bucket name, so show the URI and upload nothing.
        if BUCKET_NAME.match(bucket):
            s3.put_object(Bucket=bucket, Key=key, Body=data)
        return f"s3://{bucket}/{key}"

    with open(os.path.join(template_dir, sceptre_user_data["template"]), encoding="utf-8") as source:
        return package(source.read(), template_dir, upload)
