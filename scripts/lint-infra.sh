#!/usr/bin/env bash
# Lint the SAM template with cfn-lint (AWS's CloudFormation linter; it runs the SAM transform
# and checks the result against the CloudFormation resource schemas).
#
# Installs cfn-lint from PyPI when it is not on PATH: into a virtualenv under target/ (so a
# system Python that refuses `pip install` is fine), falling back to `pip install --user`.
# Fails on errors; warnings and informational findings are printed but do not fail, so a
# newer cfn-lint adding a rule cannot break CI on its own. The template is kept free of them.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v cfn-lint >/dev/null 2>&1; then
  CFN_LINT=cfn-lint
else
  venv="${CARGO_TARGET_DIR:-target}/venv-cfn-lint"
  if [ ! -x "$venv/bin/cfn-lint" ]; then
    echo "Installing cfn-lint into $venv"
    if python3 -m venv "$venv" >/dev/null 2>&1; then
      "$venv/bin/pip" install --quiet --disable-pip-version-check 'cfn-lint>=1,<2'
    else
      python3 -m pip install --quiet --user 'cfn-lint>=1,<2'
      venv="$(python3 -m site --user-base)"
    fi
  fi
  CFN_LINT="$venv/bin/cfn-lint"
fi

"$CFN_LINT" --version
# Every finding is shown; only errors set a non-zero exit code.
"$CFN_LINT" --non-zero-exit-code error --include-checks I -- infra/template.yaml
echo "cfn-lint: infra/template.yaml has no errors"
