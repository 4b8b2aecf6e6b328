#!/bin/sh
# Install iec-poller from a source tree into a self-contained virtual environment.
# The Dockerfile's build stage runs exactly this, and so does the test that checks
# it (tests/packaging), so what the image installs is what CI has installed.
#   usage: packaging/install.sh PREFIX [SOURCE]
set -eu
prefix=${1:?usage: install.sh PREFIX [SOURCE]}
source=${2:-.}
python3 -m venv "$prefix"
"$prefix/bin/python" -m pip install --quiet --no-cache-dir --upgrade pip
"$prefix/bin/python" -m pip install --quiet --no-cache-dir "$source"
"$prefix/bin/iec-poller" --version
