#!/bin/sh
# Generates what docker-compose.sasl-ssl.yml mounts, into docker/sasl-ssl/secrets/ (ignored by git):
#   ca.pem                 the test CA clients trust (ssl.ca.location / SslOptions.CaLocation)
#   broker.p12             the broker's key and certificate (localhost, 127.0.0.1, kafka), PKCS#12
#   broker.env             the broker's secrets as KAFKA_* settings: the keystore password and the listener's JAAS
#                          (PLAIN with the user; SCRAM, whose users live in the cluster metadata)
#   credentials.env        the client user and password (SCRAM-SHA-256/512 and PLAIN), for compose and for you
# Run it again to start over with new keys and a new password (then recreate the container: down -v, up).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/secrets"
user="${MESSAGING_SASL_USERNAME:-messaging}"
days=365

command -v openssl > /dev/null 2>&1 || { echo "generate.sh needs openssl" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

password=$(openssl rand -hex 16)
keystore_password=$(openssl rand -hex 16)

# The CA: a self-signed root whose key stays in the temporary directory.
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days "$days" \
  -subj "/CN=Messaging Docker Test CA" \
  -keyout "$tmp/ca.key" -out "$out/ca.pem" 2> /dev/null

# The broker's certificate, for every name a client may use to reach it.
cat > "$tmp/broker.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:kafka
EXT
openssl req -newkey rsa:2048 -sha256 -nodes -subj "/CN=localhost" \
  -keyout "$tmp/broker.key" -out "$tmp/broker.csr" 2> /dev/null
openssl x509 -req -sha256 -days "$days" -in "$tmp/broker.csr" \
  -CA "$out/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -CAserial "$tmp/ca.srl" \
  -extfile "$tmp/broker.ext" -out "$tmp/broker.pem" 2> /dev/null
openssl pkcs12 -export -name broker -inkey "$tmp/broker.key" -in "$tmp/broker.pem" -certfile "$out/ca.pem" \
  -passout "pass:$keystore_password" -out "$out/broker.p12"
# The apache/kafka image turns KAFKA_* variables into settings: '.' is '_', '_' is '__', '-' is '___'.
cat > "$out/broker.env" <<ENV
KAFKA_SSL_KEYSTORE_PASSWORD=$keystore_password
KAFKA_SSL_KEY_PASSWORD=$keystore_password
KAFKA_LISTENER_NAME_SASL__SSL_PLAIN_SASL_JAAS_CONFIG=org.apache.kafka.common.security.plain.PlainLoginModule required user_$user="$password";
KAFKA_LISTENER_NAME_SASL__SSL_SCRAM___SHA___256_SASL_JAAS_CONFIG=org.apache.kafka.common.security.scram.ScramLoginModule required;
KAFKA_LISTENER_NAME_SASL__SSL_SCRAM___SHA___512_SASL_JAAS_CONFIG=org.apache.kafka.common.security.scram.ScramLoginModule required;
ENV

cat > "$out/credentials.env" <<ENV
MESSAGING_SASL_USERNAME=$user
MESSAGING_SASL_PASSWORD=$password
ENV

# The broker's container runs as another user: it must be able to read what it mounts.
chmod 644 "$out"/*
chmod 755 "$out"
echo "Wrote $out: ca.pem, broker.p12, broker.env, credentials.env (user $user)."
