#!/usr/bin/env bash
# The kafka service of docker-compose.yml. The image formats a new volume without SCRAM
# users, and KRaft reads them only from the metadata log, so the admin's is added here when
# the volume is new; the image's own start then finds it formatted and goes on.
set -euo pipefail

# The healthcheck's login (kafka-broker-api-versions.sh --command-config).
umask 077
cat > /tmp/admin.properties <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${GIGSTREAM_KAFKA_ADMIN_PASSWORD}";
EOF

if [ ! -e "${KAFKA_LOG_DIRS}/meta.properties" ]; then
  # Only what formatting reads: the node, its quorum and listeners, the data directory.
  cat > /tmp/format.properties <<EOF
process.roles=${KAFKA_PROCESS_ROLES}
node.id=${KAFKA_NODE_ID}
controller.quorum.voters=${KAFKA_CONTROLLER_QUORUM_VOTERS}
controller.listener.names=${KAFKA_CONTROLLER_LISTENER_NAMES}
listeners=${KAFKA_LISTENERS}
listener.security.protocol.map=${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP}
inter.broker.listener.name=${KAFKA_INTER_BROKER_LISTENER_NAME}
log.dirs=${KAFKA_LOG_DIRS}
EOF
  # argparse4j reads @file one argument a line: the password stays off the command line.
  printf -- '--add-scram\nSCRAM-SHA-512=[name=admin,password=%s]' \
    "${GIGSTREAM_KAFKA_ADMIN_PASSWORD}" > /tmp/format.args
  KAFKA_HEAP_OPTS=-Xmx128m /opt/kafka/bin/kafka-storage.sh format \
    --cluster-id "${CLUSTER_ID}" --config /tmp/format.properties @/tmp/format.args
  rm /tmp/format.properties /tmp/format.args
fi
umask 022

exec /etc/kafka/docker/run
