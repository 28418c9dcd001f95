#!/usr/bin/env bash
# Meters end to end: a development node bridged to a mosquitto broker, a swtpm holding a
# meter's signing key, the enrolment CA and firmware allowed by the meters authority, the
# meter registered with a TPM quote and publishing TPM-signed readings over MQTT, a
# virtual (INSECURE) meter reporting over the API, a query of the committed readings, and
# bad input refused with its code: an AK from an untrusted CA, a reading signed by another
# meter, a replayed reading, a rolled-back register, a malformed MQTT payload.
source "$(dirname "$0")/lib.sh"
for tool in mosquitto mosquitto_pub swtpm swtpm_setup swtpm_localca; do
  command -v "$tool" >/dev/null || { echo "examples/meters.sh needs $tool (scripts/install-deps.sh)" >&2; exit 2; }
done

# A loopback port P with P+1 free as well (swtpm listens on both), drawn below the
# ephemeral range so that sockets left in TIME_WAIT by earlier tests cannot hold it.
free_port_pair() {
  python3 -c '
import random, socket
while True:
    port = random.randint(20000, 30000)
    socks = [socket.socket() for _ in range(2)]
    try:
        for i, s in enumerate(socks):
            s.bind(("127.0.0.1", port + i))
        print(port)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
'
}
# listening PID PORT: waits until PORT accepts; fails as soon as PID has exited.
listening() {
  for _ in $(seq 100); do
    kill -0 "$1" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
broker_pid=""
swtpm_pid=""
stop_services() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null || true
  [ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null && wait "$swtpm_pid" 2>/dev/null || true
  cleanup
}
trap stop_services EXIT

say "a mosquitto broker on loopback (persistent sessions kept in $work/broker)"
mkdir -p "$work/broker"
for attempt in $(seq 10); do  # another process may take the port first: draw again
  mqtt_port=$(free_port_pair)
  cat > "$work/broker/mosquitto.conf" <<EOF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $work/broker/
log_dest file $work/broker/mosquitto.log
user $(id -un)
EOF
  mosquitto -c "$work/broker/mosquitto.conf" &
  broker_pid=$!
  listening "$broker_pid" "$mqtt_port" && break
  kill "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null || true; broker_pid=""
done
[ -n "$broker_pid" ] || { cat "$work/broker/mosquitto.log" >&2; echo "mosquitto did not start" >&2; exit 1; }

say "a swtpm, manufactured with an EK certificate by its own local CA"
tpm=$work/tpm
mkdir -p "$tpm/ca" "$tpm/state"
cat > "$tpm/localca.conf" <<EOF
statedir = $tpm/ca
signingkey = $tpm/ca/signkey.pem
issuercert = $tpm/ca/issuercert.pem
certserial = $tpm/ca/certserial
EOF
echo "--platform-manufacturer GridPact" > "$tpm/localca.options"
cat > "$tpm/setup.conf" <<EOF
create_certs_tool = /usr/bin/swtpm_localca
create_certs_tool_config = $tpm/localca.conf
create_certs_tool_options = $tpm/localca.options
active_pcr_banks = sha256
EOF
swtpm_setup --tpm2 --tpmstate "$tpm/state" --create-ek-cert --config "$tpm/setup.conf" --overwrite >"$tpm/setup.log" 2>&1
for attempt in $(seq 10); do
  tpm_port=$(free_port_pair)
  swtpm socket --tpm2 --tpmstate "dir=$tpm/state" --server "type=tcp,port=$tpm_port,bindaddr=127.0.0.1" \
    --ctrl "type=tcp,port=$((tpm_port + 1)),bindaddr=127.0.0.1" --flags not-need-init,startup-clear \
    >>"$tpm/swtpm.log" 2>&1 &
  swtpm_pid=$!
  listening "$swtpm_pid" "$tpm_port" && break
  kill "$swtpm_pid" 2>/dev/null; wait "$swtpm_pid" 2>/dev/null || true; swtpm_pid=""
done
[ -n "$swtpm_pid" ] || { cat "$tpm/swtpm.log" >&2; echo "swtpm did not start" >&2; exit 1; }
export TSS2_LOG=all+none
TCTI="swtpm:host=127.0.0.1,port=$tpm_port"

data=$work/chain
# 2-second settlement periods: a meter's first reading counts only from its registration
# period, so the readings below are of periods that pass while the example runs.
start_node "$data"
stop_node
sed -i 's/^period_ms = .*/period_ms = 2000/' "$data/genesis.toml"
rm -rf "$data/db"
rm -f "$work/port"
"$GRIDPACT" node --data "$data" --listen 127.0.0.1:0 --port-file "$work/port" --mqtt "127.0.0.1:$mqtt_port" 2>"$work/node.log" &
node_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { cat "$work/node.log" >&2; exit 1; }
NODE="http://127.0.0.1:$(cat "$work/port")"
say "node at $NODE, relaying readings from MQTT 127.0.0.1:$mqtt_port"
alice=$data/keys/alice.json
authority=$data/keys/issuer.json  # the development chain's meters authority

say "the meters authority trusts an enrolment CA and allows firmware 1.4.2"
"$GRIDPACT" meter-ca --out "$work/ca" | jq -c .
printf 'meter firmware 1.4.2\n' > "$work/firmware.bin"
measurement=$(sha256sum "$work/firmware.bin" | cut -d' ' -f1)
"$GRIDPACT" tx meter-policy --node "$NODE" --key "$authority" --add-root "$work/ca/ca.pem" | jq -c '.receipt.code_name'
"$GRIDPACT" tx meter-policy --node "$NODE" --key "$authority" --add-measurement "$measurement" | jq -c '.receipt.code_name'
"$GRIDPACT" query --node "$NODE" module meters/params | jq -c '{period_ms, trusted_roots: (.trusted_roots|length), allowed_measurements}'

say "provision the tpm2 meter: AK enrolled (EK certificate checked, credential activated), firmware measured into PCR 16, signing key created in the TPM"
"$GRIDPACT" meter-provision --tpm "$TCTI" --state "$work/meter1" --ca "$work/ca" \
  --ek-root "$tpm/ca/swtpm-localca-rootca-cert.pem" --ek-intermediate "$tpm/ca/issuercert.pem" \
  --firmware "$work/firmware.bin" > "$work/prov.json"
jq -c . "$work/prov.json"
meter1=$(jq -r .meter "$work/prov.json")

say "alice registers it: the TPM quotes PCR 16 over a nonce binding chain, key and registration"
"$GRIDPACT" tx meter-register --node "$NODE" --key "$alice" --platform tpm2 --tpm "$TCTI" --state "$work/meter1" \
  --microgrid mg-north --source pv --location "roof, Keizersgracht 12" --firmware-version 1.4.2 > "$work/reg1.json"
jq -c '.receipt | {code_name, events}' "$work/reg1.json"
[ "$(jq -r .receipt.code_name "$work/reg1.json")" = OK ]

now_period() { echo $(( $(date +%s%3N) / 2000 )); }
registered=$("$GRIDPACT" query --node "$NODE" module "meters/meter/$meter1" | jq .registered_period)
until [ "$(now_period)" -ge $((registered + 5)) ]; do sleep 0.2; done
say "the meter agent publishes the 6 periods since registration of a PV profile over MQTT (QoS 1)"
"$GRIDPACT" meter --node "$NODE" --platform tpm2 --tpm "$TCTI" --state "$work/meter1" \
  --source profile:pv --count 6 --publish mqtt --mqtt "127.0.0.1:$mqtt_port" 2>"$work/agent.log" | jq -c .
for _ in $(seq 100); do
  seq=$("$GRIDPACT" query --node "$NODE" module "meters/latest/$meter1" | jq .seq)
  [ "$seq" -ge 6 ] && break
  sleep 0.1
done
say "committed readings of meter ${meter1:0:16}..."
"$GRIDPACT" query --node "$NODE" readings "$meter1" > "$work/readings.json"
jq -c '.readings[] | {period, seq, import_wh, export_wh, export_delta_wh, contiguous}' "$work/readings.json"
[ "$(jq '.readings | length' "$work/readings.json")" = 6 ]

say "run the agent again: it resumes after the last committed sequence number, nothing is resent (only periods since)"
"$GRIDPACT" meter --node "$NODE" --platform tpm2 --tpm "$TCTI" --state "$work/meter1" \
  --source profile:pv --count 6 --publish mqtt --mqtt "127.0.0.1:$mqtt_port" 2>>"$work/agent.log" | jq -c .

say "a virtual meter (INSECURE: software key; accepted because this development genesis allows it)"
"$GRIDPACT" keygen --out "$work/vmeter.json" >/dev/null
"$GRIDPACT" tx meter-register --node "$NODE" --key "$alice" --platform virtual --meter-key "$work/vmeter.json" \
  --microgrid mg-north --source consumer --initial-import 5000 2>/dev/null > "$work/reg2.json"
meter2=$(jq -r '.receipt.events[0].data.meter' "$work/reg2.json")
# Its registration period and the next (the first reading counts from registration on).
r2=$("$GRIDPACT" query --node "$NODE" module "meters/meter/$meter2" | jq .registered_period)
until [ "$(now_period)" -ge $((r2 + 2)) ]; do sleep 0.2; done
now_period=$((r2 + 3))  # the readings below are for now_period - 3 .. now_period - 1
printf 'period,import_wh,export_wh\n%s,5200,0\n%s,5450,0\n' $((now_period - 3)) $((now_period - 2)) > "$work/v.csv"
"$GRIDPACT" meter --node "$NODE" --platform virtual --meter-key "$work/vmeter.json" --source "csv:$work/v.csv" \
  --publish api --key "$alice" 2>/dev/null | jq -c .
"$GRIDPACT" query --node "$NODE" meters --microgrid mg-north | jq -c '.meters[] | {id: .id[0:16], source, platform, insecure}'
"$GRIDPACT" query --node "$NODE" module "meters/energy/$meter2/$((now_period - 2))" > "$work/energy.json"
jq -c . "$work/energy.json"
[ "$(jq .import_wh "$work/energy.json")" = 250 ]

expect_code() {  # expect_code NAME FILE: refused with NAME (in the receipt or at admission)
  local got
  got=$(jq -r '.receipt.code_name // .error.name' "$2")
  echo "refused: $got ($(jq -r '.receipt.message // .error.message' "$2"))"
  [ "$got" = "$1" ] || { echo "expected $1" >&2; exit 1; }
}
vreading() {  # vreading PERIOD SEQ IMPORT OUT: a reading signed by the virtual meter
  "$GRIDPACT" tx reading --node "$NODE" --key "$alice" --platform virtual --meter-key "$work/vmeter.json" \
    --period "$1" --seq "$2" --import "$3" --export 0 > "$4" 2>/dev/null || true
}

say "bad input, each refused with its code; nothing else changes"
# An AK certified by a CA the chain does not trust (a genuine TPM, a genuine quote).
"$GRIDPACT" meter-ca --out "$work/rogue-ca" >/dev/null
"$GRIDPACT" meter-provision --tpm "$TCTI" --state "$work/meter3" --ca "$work/rogue-ca" \
  --ek-root "$tpm/ca/swtpm-localca-rootca-cert.pem" --ek-intermediate "$tpm/ca/issuercert.pem" \
  --firmware "$work/firmware.bin" >/dev/null
"$GRIDPACT" tx meter-register --node "$NODE" --key "$alice" --platform tpm2 --tpm "$TCTI" --state "$work/meter3" \
  --microgrid mg-north > "$work/bad1.json" 2>/dev/null || true
expect_code UNTRUSTED_CA "$work/bad1.json"
# A reading for the virtual meter signed by the tpm2 meter's key.
"$GRIDPACT" tx reading --node "$NODE" --key "$alice" --platform tpm2 --tpm "$TCTI" --state "$work/meter1" \
  --meter "$meter2" --period $((now_period - 1)) --seq 3 --import 9999 --export 0 > "$work/bad2.json" 2>/dev/null || true
expect_code READING_BAD_SIGNATURE "$work/bad2.json"
# The last committed reading again (Ed25519 is deterministic: the very same bytes).
vreading $((now_period - 2)) 2 5450 "$work/bad3.json"
expect_code READING_REPLAYED "$work/bad3.json"
# A rolled-back import register, and a period that has not started.
vreading $((now_period - 1)) 3 5000 "$work/bad4.json"
expect_code REGISTER_BACKWARDS "$work/bad4.json"
vreading $((now_period + 100)) 3 6000 "$work/bad5.json"
expect_code PERIOD_IN_FUTURE "$work/bad5.json"
# A malformed MQTT payload: logged by the node's bridge with its code (no payload, no key).
before=$("$GRIDPACT" query --node "$NODE" readings "$meter1" | jq '.readings | length')
mosquitto_pub -p "$mqtt_port" -q 1 -t "gridpact/meters/$meter1/readings" -m '{"import_wh": 1}'
for _ in $(seq 50); do grep -q MALFORMED_READING "$work/node.log" && break; sleep 0.1; done
grep -o 'dropped a message.*' "$work/node.log" | sed 's/meters\/\([0-9a-f]\{16\}\)[0-9a-f]*/meters\/\1.../' | head -1
grep -q MALFORMED_READING "$work/node.log"
"$GRIDPACT" query --node "$NODE" readings "$meter1" | jq -e --argjson n "$before" '.readings | length == $n' >/dev/null
"$GRIDPACT" query --node "$NODE" module "meters/latest/$meter2" | jq -e '.seq == 2 and .import_wh == 5450' >/dev/null
echo "meter 1 still has its 6 readings, meter 2 its 2"
vreading $((now_period - 1)) 3 5600 "$work/ok.json"
[ "$(jq -r .receipt.code_name "$work/ok.json")" = OK ]
echo "and the honest next reading of meter 2 is accepted"
