"""Print deploy/template.yaml (or the template on stdin) translated from SAM to plain CloudFormation, as JSON.

Runs in .venv-deploy, where the SAM translator lives (it pins a pydantic older than ours):
    .venv-deploy/bin/python tests/static/translate_sam.py < deploy/template.yaml
"""

import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names no managed policies by name, so nothing needs looking up in IAM."""

    def load(self) -> dict:
        return {}


if __name__ == "__main__":
    template = yaml_parse(sys.stdin.read())
    print(json.dumps(transform(template, {}, NoManagedPolicies())))
