#!/bin/sh
# dinfo.sh: `docker info` as one JSON object, with any Docker client (`--format json`
# needs a client of Docker 23 or later; Debian 12's docker.io is 20.10).
exec docker info --format '{{json .}}'
