"""Translate a SAM template into the CloudFormation template that CloudFormation's SAM transform
would make, with the SAM translator (aws-sam-translator, in .venv-lint), and print it as JSON.

Usage: .venv-lint/bin/python tools/sam-translate.py template.yaml [Name=Value ...]

Parameters take their defaults unless given; a parameter without a default must be given. The
region is us-east-1 and the account 123456789012, as in the lint targets. The managed policy
lookup, which needs IAM, is never made: a template that names a managed policy by name fails.
Local CodeUri folders become placeholder S3 locations, standing for the upload sam deploy makes.
"""

import json
import os
import sys

import boto3
from samtranslator.sdk.parameter import SamParameterValues
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicyLookup:
    def load(self):
        raise SystemExit("sam-translate: the template names a managed policy by name, which needs IAM to look up")


def main():
    # The translator makes its own boto3 session for the pseudo parameters; no call is made.
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    if len(sys.argv) < 2:
        raise SystemExit(__doc__.strip().splitlines()[2])
    with open(sys.argv[1]) as f:
        template = yaml_parse(f.read())
    # sam deploy uploads each CodeUri folder and hands CloudFormation its S3 location, as the
    # translator requires; a placeholder location stands for that upload here.
    for name, res in template.get("Resources", {}).items():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://sam-translate-placeholder/" + name + ".zip"
    values = dict(arg.split("=", 1) for arg in sys.argv[2:])
    missing = [n for n, p in template.get("Parameters", {}).items() if "Default" not in p and n not in values]
    if missing:
        raise SystemExit("sam-translate: give a value for " + ", ".join(sorted(missing)))
    params = SamParameterValues(values)
    params.add_default_parameter_values(template)
    params.add_pseudo_parameter_values(boto3.session.Session(region_name="us-east-1"))
    params.parameter_values.setdefault("AWS::AccountId", "123456789012")
    out = transform(template, params.parameter_values, NoManagedPolicyLookup())
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
