#!/usr/bin/env python3
"""Deploys the logmask stacks with `sam deploy`, in order, from the same Sceptre configs.

    cargo lambda build --release
    python3 infra/sam-deploy.py prod               # every stack: base → … → access
    python3 infra/sam-deploy.py prod functions     # one stack
    python3 infra/sam-deploy.py prod --dry-run     # print the commands only (no AWS calls)

Parameter values come from config/<env>/config.yaml (`params`) and, for the `!stack_output`
entries of config/<env>/<stack>.yaml, from the outputs of the stacks already deployed, so Sceptre
and this script deploy the same thing. Needs the SAM CLI, and boto3 unless --dry-run.
"""

import argparse
import os
import re
import subprocess
import sys

import yaml

ORDER = ["base", "pipeline", "functions", "query", "monitoring", "access"]
INFRA = os.path.dirname(os.path.abspath(__file__))
JINJA = re.compile(r"\{\{\s*stack_group_config\.(params\.)?([A-Za-z0-9_]+)\s*\}\}")


class StackOutput(str):
    """A `!stack_output env/stack.yaml::Output` reference."""


class Loader(yaml.SafeLoader):
    pass


Loader.add_constructor("!stack_output", lambda loader, node: StackOutput(loader.construct_scalar(node)))


def render(text, group):
    def value(match):
        source = group["params"] if match.group(1) else group
        return str(source[match.group(2)])

    return JINJA.sub(value, text)


def load_stack(env, stack, group):
    with open(os.path.join(INFRA, "config", env, f"{stack}.yaml"), encoding="utf-8") as f:
        return yaml.load(render(f.read(), group), Loader)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("env", choices=["dev", "prod"])
    parser.add_argument("stacks", nargs="*", choices=ORDER + [[]], default=[])
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()

    group = {}
    for path in [os.path.join(INFRA, "config", "config.yaml"), os.path.join(INFRA, "config", args.env, "config.yaml")]:
        with open(path, encoding="utf-8") as f:
            group.update(yaml.safe_load(f))
    configs = {stack: load_stack(args.env, stack, group) for stack in ORDER}
    for stack, config in configs.items():
        # Sceptre's own naming (its !stack_output resolver assumes it): project_code-env-stack.
        config["stack_name"] = f"{group['project_code']}-{args.env}-{stack}"

    def output(reference):
        source, name = reference.split("::")
        stack_name = configs[os.path.basename(source)[: -len(".yaml")]]["stack_name"]
        if args.dry_run:
            return f"<{stack_name}:{name}>"
        import boto3

        stacks = boto3.client("cloudformation", region_name=group["region"]).describe_stacks(StackName=stack_name)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks["Stacks"][0].get("Outputs", [])}
        return outputs[name]

    for stack in args.stacks or ORDER:
        config = configs[stack]
        template = config.get("sceptre_user_data", {}).get("template") or config["template"]["path"]
        overrides = []
        for key, value in config.get("parameters", {}).items():
            value = output(value) if isinstance(value, StackOutput) else str(value)
            overrides.append(f'{key}="{value}"')
        command = [
            "sam", "deploy",
            "--template-file", os.path.join(INFRA, "templates", template),
            "--stack-name", config["stack_name"],
            "--region", group["region"],
            "--capabilities", "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND",
            "--no-fail-on-empty-changeset",
        ]
        if "sceptre_user_data" in config:
            # Uploads the `cargo lambda build` output (CodeUri ../../target/lambda/<fn>/).
            command += ["--s3-bucket", output(config["sceptre_user_data"]["artifact_bucket"]), "--s3-prefix", "lambda"]
        command += ["--parameter-overrides", *overrides]
        print("+", " ".join(command), flush=True)
        if not args.dry_run:
            subprocess.run(command, check=True)


if __name__ == "__main__":
    sys.exit(main())
