#!/usr/bin/env bash
# Lint the SAM template twice:
# - cfn-lint (AWS's CloudFormation linter: it runs the SAM transform and checks the result
#   against the CloudFormation resource schemas), errors only, every finding shown;
# - `sam validate --lint` (the SAM CLI's own transform plus cfn-lint), which is what
#   `sam deploy` users run and what docs/deploy.md names as the minimum SAM CLI.
#
# Installs what is missing from PyPI: aws-sam-cli (which depends on cfn-lint) into one virtualenv
# in the user's cache directory (outside the clone, so CI's fresh clones reuse it; a system
# Python that refuses `pip install` is fine), and a second run only checks that it is there.
# Set INFRA_LINT_VENV to put it elsewhere. `sam validate --lint` reads no credentials and
# calls no AWS API; it only needs a region, hence AWS_DEFAULT_REGION below.
#
# Fails on errors; cfn-lint warnings and informational findings are printed but do not fail, so
# a newer cfn-lint adding a rule cannot break CI on its own. The template is kept free of them.
set -euo pipefail
cd "$(dirname "$0")/.."

# The oldest SAM CLI this template is checked with (docs/deploy.md, "Prerequisites").
SAM_CLI_SPEC='aws-sam-cli>=1.170,<2'

venv="${INFRA_LINT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cvdw-etl/venv-infra-lint}"
if [ ! -x "$venv/bin/sam" ] || [ ! -x "$venv/bin/cfn-lint" ]; then
  echo "Installing $SAM_CLI_SPEC (with cfn-lint) into $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$SAM_CLI_SPEC" 'cfn-lint>=1,<2'
fi

"$venv/bin/cfn-lint" --version
# Every finding is shown; only errors set a non-zero exit code.
"$venv/bin/cfn-lint" --non-zero-exit-code error --include-checks I -- infra/template.yaml
echo "cfn-lint: infra/template.yaml has no errors"

"$venv/bin/sam" --version
# From infra/, like `sam deploy`: SAM reads infra/samconfig.toml. No telemetry, no update check.
(
  cd infra
  AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0 \
    "$venv/bin/sam" validate --lint --template template.yaml
)
echo "sam validate --lint: infra/template.yaml is valid"
