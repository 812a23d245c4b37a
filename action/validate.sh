#!/usr/bin/env bash
# The step of the kaizen-agentic GitHub Action (../action.yml): install the tool from the action's
# own checkout into a virtual environment, then validate the repository's manifests, printing one
# ::error annotation per problem. Exit 0 valid, 1 invalid. Inputs arrive as environment:
#   KAIZEN_FILES        manifests, separated by spaces (default: .kaizen/schedule.yml)
#   KAIZEN_PYTHON       the Python to install with (default: python3)
#   KAIZEN_SOURCE       what pip installs (default: $GITHUB_ACTION_PATH, this action's checkout)
#   KAIZEN_PIP_OPTIONS  more pip options, e.g. for a runner without PyPI: --no-index --find-links DIR
set -euo pipefail
source="${KAIZEN_SOURCE:-${GITHUB_ACTION_PATH:?set by the action runner, or set KAIZEN_SOURCE}}"
venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/kaizen-agentic-action"
"${KAIZEN_PYTHON:-python3}" -m venv "$venv"
# shellcheck disable=SC2086 # KAIZEN_PIP_OPTIONS is words
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ${KAIZEN_PIP_OPTIONS:-} "$source"
read -r -a files <<< "${KAIZEN_FILES:-}"
exec "$venv/bin/kaizen-agentic" schedule validate --format github "${files[@]}"
