"""Count the CloudFormation resources each SAM template becomes after the SAM transform.

CloudFormation allows 500 resources per stack; every service is its own nested stack, so
each template is counted on its own. Uses the SAM translator from the SAM CLI venv (.venv-sam),
offline (managed policy names are not looked up: our templates use inline statements).
Prints {"template": count, ...} as JSON.
"""
import json
import os
import sys

import yaml
from samtranslator.translator.transform import transform
from samtranslator.public.translator import ManagedPolicyLoader


class OfflinePolicies(ManagedPolicyLoader):
    def __init__(self):
        pass

    def load(self):
        return {}


def cfn_loader():
    class Loader(yaml.SafeLoader):
        pass

    def tag(loader, suffix, node):
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    Loader.add_multi_constructor("!", tag)
    return Loader


os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
def as_packaged(doc):
    """Local code and template paths become S3 locations, as `sam package` leaves them."""
    glob = doc.get("Globals", {}).get("Function", {})
    if "CodeUri" in glob:
        glob["CodeUri"] = "s3://bucket/code.zip"
    for res in doc.get("Resources", {}).values():
        props = res.setdefault("Properties", {})
        kind = res.get("Type")
        if kind == "AWS::Serverless::Function":
            props["CodeUri"] = "s3://bucket/code.zip"
        elif kind == "AWS::Serverless::Application":
            props["Location"] = "https://s3.amazonaws.com/bucket/nested.yaml"
        elif kind == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            props["DefinitionUri"] = "s3://bucket/definition.asl.json"
    return doc


counts = {}
for path in sys.argv[1:]:
    with open(path) as f:
        doc = as_packaged(yaml.load(f, Loader=cfn_loader()))
    out = transform(doc, {"AWS::Region": "us-east-1"}, OfflinePolicies())
    counts[path] = len(out["Resources"])
json.dump(counts, sys.stdout)
