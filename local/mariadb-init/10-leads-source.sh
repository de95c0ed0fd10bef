#!/bin/sh
# Sourced by the MariaDB image's entrypoint on first start (see README.md here): loads the default
# leads source table, local/leads-source.sql (mounted at /opt/opsbase by docker-compose.dev.yml),
# into the MARIADB_DATABASE (`leads`) with the entrypoint's own client function.
docker_process_sql < /opt/opsbase/leads-source.sql
