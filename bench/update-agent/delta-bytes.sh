#!/usr/bin/env bash
# Delta update bytes (not a test): for v1 -> v2 (one package added: jq and its two libraries, and a
# new version) and v1 -> v3 (only the version changed) of the default image, the bytes a machine
# running v1 downloads, as a share of the full usr.img, side by side in one run:
#   basalt   `basalt delta plan` (the agent's planning code): missing chunks + the chunk index
#   casync   Debian's casync, 64 KiB average chunks: `casync make` a store of v1 and of v2, the
#            compressed chunks (.cacnk) of v2 not in v1's store + v2's .caibx index
#   block4k  a 4 KiB block-hash index (RAUC adaptive's block-hash-index method): the 4 KiB blocks
#            of v2 whose sha256 is nowhere in v1 (the index itself, 32 bytes a block, shown apart)
# The byte counts are deterministic (same images, same bytes), so one run is the median.
# Usage: bench/run delta-bytes [DIR]
#   DIR holds v1/, v2/, v3/ (build outputs with usr.img); missing ones are built with
#   SOURCE_DATE_EPOCH=1700000000 (minutes per image; the first needs the mmdebstrap base tree).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${1:-$ROOT/update-agent/target/delta-bytes}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
command -v casync >/dev/null || { echo "delta-bytes: needs casync (apt-get install casync)" >&2; exit 2; }

spec() {
  case $1 in
    v1) printf 'version: 0.1.0\noutputs: [usr.img, update]\n' ;;
    v2) printf 'version: 0.2.0\noutputs: [usr.img, update]\ndebian:\n  extra-packages: [jq]\n' ;;
    v3) printf 'version: 0.1.1\noutputs: [usr.img, update]\n' ;;
  esac
}
for v in v1 v2 v3; do
  if [ ! -f "$DIR/$v/usr.img" ]; then
    spec $v > "$DIR/$v.yaml"
    echo "delta-bytes: building $v into $DIR/$v" >&2
    SOURCE_DATE_EPOCH=1700000000 "$ROOT/basalt" build --spec "$DIR/$v.yaml" --out "$DIR/$v" >&2
  fi
done

WORK=$(mktemp -d "$DIR/.work-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# casync: a store per image (default chunk sizes: 16/64/256 KiB), new chunks of the new image
casync_store() { # IMG NAME
  mkdir -p "$WORK/$2.castr"
  casync make --store="$WORK/$2.castr" "$WORK/$2.caibx" "$1" >/dev/null
}
casync_store "$DIR/v1/usr.img" v1
casync_fetch() { # NAME -> bytes of its chunks not in v1's store, plus its index
  casync_store "$DIR/$1/usr.img" "$1"
  local new=0 f rel
  while IFS= read -r f; do
    rel=${f#"$WORK/$1.castr/"}
    [ -e "$WORK/v1.castr/$rel" ] || new=$((new + $(stat -c %s "$f")))
  done < <(find "$WORK/$1.castr" -name '*.cacnk' -type f)
  echo "$new $(stat -c %s "$WORK/$1.caibx")"
}

block4k() { # OLD NEW -> missing-bytes index-bytes
  python3 - "$1" "$2" <<'PY'
import hashlib, sys
B = 4096
def hashes(p):
    with open(p, 'rb') as f:
        while True:
            b = f.read(B)
            if not b:
                return
            yield hashlib.sha256(b).digest(), len(b)
old = {h for h, _ in hashes(sys.argv[1])}
missing, seen, blocks = 0, set(), 0
for h, n in hashes(sys.argv[2]):
    blocks += 1
    if h not in old and h not in seen:
        seen.add(h)
        missing += n
print(missing, blocks * 32)
PY
}

pct() { echo "scale=3; 100 * $1 / $2" | bc; }
printf '%-22s %14s %9s | %14s %9s | %14s %9s | %s\n' pair "basalt B" "%" "casync B" "%" "block4k B" "%" "basalt/casync"
for pair in "v1 v2 one-package" "v1 v3 version-only"; do
  set -- $pair
  json=$("$ROOT/basalt" delta plan --from "$DIR/$1/usr.img" --to "$DIR/$2" --json)
  fetch=$(sed -E 's/.*"fetch_bytes": ([0-9]+).*/\1/' <<< "$json")
  index=$(sed -E 's/.*"index_bytes": ([0-9]+).*/\1/' <<< "$json")
  total=$(sed -E 's/.*"total_bytes": ([0-9]+).*/\1/' <<< "$json")
  ours=$((fetch + index))
  read -r cnew cidx < <(casync_fetch "$2")
  theirs=$((cnew + cidx))
  read -r bnew bidx < <(block4k "$DIR/$1/usr.img" "$DIR/$2/usr.img")
  printf '%-22s %14d %8s%% | %14d %8s%% | %14d %8s%% | %s\n' "$1->$2 ($3)" "$ours" "$(pct $ours $total)" \
    "$theirs" "$(pct $theirs $total)" "$bnew" "$(pct $bnew $total)" "$(echo "scale=3; $ours / $theirs" | bc)"
  echo "  basalt: $fetch B of chunks + $index B index; casync: $cnew B of chunks + $cidx B index;" \
    "block4k index: $bidx B; usr.img $total B"
done
