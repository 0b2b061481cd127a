#!/usr/bin/env bash
# The S3 server (MinIO) belongs to the local cloud package; this path is kept for scripts/test.sh
# and for anyone used to it. Prints the binary's path, as the package's script does.
exec bash "$(dirname "${BASH_SOURCE[0]}")/../packages/localcloud/scripts/s3-server.sh" "$@"
