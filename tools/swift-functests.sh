#!/usr/bin/env bash
# swift-functests.sh - run Swift's own functional tests (openstack/swift 2.30.1, test/functional)
# against a Swift-compatible endpoint and print pass/fail/skip counts per module.
#
#   SWIFT_FUNC_TREE=/tmp/swift-func tools/swift-functests.sh http://127.0.0.1:8080/auth/v1.0 [module ...]
#   SWIFT_FUNC_TREE=/tmp/swift-func tools/swift-functests.sh --cairn [module ...]
#
# SWIFT_FUNC_TREE: a directory holding Swift's `test/` tree at tag 2.30.1, made outside this repo
#   (`git archive 2.30.1 test | tar -x -C <dir>`); this script never fetches or copies it.
# Modules default to the seven of issue 3: test_account test_container test_object tests
#   test_dlo test_slo test_tempurl.
# --cairn starts Cairn from this checkout on a free loopback port with a throw-away data dir and
#   creates, through `cairn user-add`, what tempauth's sample users are on a real Swift:
#   test:tester (admin role), test2:tester2 (admin role), test:tester3 (member role). With
#   CAIRN_STORAGE_OPERATOR_ROLES=admin only the first two own their accounts, so tester3 is
#   tempauth's non-.admin user of account test (let in by ACLs only).
# The endpoint must know the same three users with the passwords testing, testing2, testing3.
# Output (junit XML and pytest logs) goes to SWIFT_FUNC_OUT (default: a new temp dir).
# Needs Debian's python3-swift (2.30.1), python3-mock, python3-pytest.
# Careful: at teardown the suite deletes every container of account 1 (and of account 2).
set -euo pipefail

TREE=${SWIFT_FUNC_TREE:?set SWIFT_FUNC_TREE to a directory holding swift 2.30.1 test/}
[ -f "$TREE/test/functional/__init__.py" ] || { echo "no test/functional in $TREE" >&2; exit 2; }
[ $# -ge 1 ] || { sed -n 2,18p "$0" >&2; exit 2; }
TARGET=$1
shift
MODULES=("$@")
[ ${#MODULES[@]} -gt 0 ] || MODULES=(test_account test_container test_object tests test_dlo test_slo test_tempurl)
OUT=${SWIFT_FUNC_OUT:-$(mktemp -d /tmp/swift-functests.XXXXXX)}
mkdir -p "$OUT"
HERE=$(cd "$(dirname "$0")/.." && pwd)

CAIRN_PID=""
cleanup() {
  if [ -n "$CAIRN_PID" ]; then
    kill "$CAIRN_PID" 2>/dev/null || true
    wait "$CAIRN_PID" 2>/dev/null || true
    rm -rf "$CAIRN_DATA"
  fi
}
trap cleanup EXIT

if [ "$TARGET" = --cairn ]; then
  PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  CAIRN_DATA=$(mktemp -d /tmp/cairn-functests.XXXXXX)
  export CAIRN_PORT=$PORT CAIRN_DATA_DIR=$CAIRN_DATA CAIRN_STORAGE_OPERATOR_ROLES=admin
  cairn() { (cd "$HERE" && node --import tsx services/cli.ts "$@"); }
  cairn user-add test tester testing admin
  cairn user-add test2 tester2 testing2 admin
  cairn user-add test tester3 testing3 member
  (cd "$HERE" && exec node --import tsx services/cli.ts start) >"$OUT/cairn.log" 2>&1 &
  CAIRN_PID=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$PORT/healthcheck" >/dev/null 2>&1 && break
    kill -0 "$CAIRN_PID" 2>/dev/null || { cat "$OUT/cairn.log" >&2; exit 1; }
    sleep 0.2
  done
  AUTH_URI="http://127.0.0.1:$PORT/auth/v1.0"
  echo "Cairn on port $PORT (log: $OUT/cairn.log)"
else
  AUTH_URI=$TARGET
fi

# tempauth's naming: account:user logs in; the suite reads the account's storage URL from the
# auth response, so `account` is the tempauth account (a Cairn project name), not AUTH_<id>.
CONF="$OUT/test.conf"
cat >"$CONF" <<CONF
[func_test]
auth_uri = $AUTH_URI
auth_version = 1
account = test
username = tester
password = testing
account2 = test2
username2 = tester2
password2 = testing2
username3 = tester3
password3 = testing3
collate = C
CONF

cd "$TREE"
printf '%-16s %7s %7s %7s %7s\n' module items passed failed skipped
for m in "${MODULES[@]}"; do
  SWIFT_TEST_CONFIG_FILE=$CONF SWIFT_TEST_IN_PROCESS=0 nice /usr/bin/python3 -m pytest -q -rA -p no:cacheprovider \
    --junitxml="$OUT/$m.xml" "test/functional/$m.py" >"$OUT/$m.log" 2>&1 || true
  /usr/bin/python3 - "$OUT/$m.xml" "$m" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(f"{sys.argv[2]:<16} no junit output (see {sys.argv[1][:-4]}.log)"); sys.exit(0)
n = p = f = s = 0
for tc in root.iter('testcase'):
    n += 1
    kinds = {c.tag for c in tc}
    if kinds & {'failure', 'error'}: f += 1
    elif 'skipped' in kinds: s += 1
    else: p += 1
print(f"{sys.argv[2]:<16} {n:7d} {p:7d} {f:7d} {s:7d}")
PY
done
echo "details: $OUT"
