# Shared by the ./basalt and ./basaltctl launchers: host packages, jar freshness, running a jar.
# Sourced, not executed. Expects ROOT to be the repository root.

# Prints the packages of .ci/host-packages (comments and blanks dropped).
basalt_all_packages() {
  sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$ROOT/.ci/host-packages"
}

# Installs, with apt-get, those of the named Debian packages that are not installed yet.
basalt_ensure_packages() {
  local missing=() p
  for p in "$@"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      echo "basalt: missing host packages: ${missing[*]} (run as root or install sudo)" >&2
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "basalt: missing host packages: ${missing[*]}; this launcher installs them on Debian/Ubuntu only" >&2
    return 1
  fi
  echo "basalt: installing host packages: ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# basalt_ensure_jar JAR MODULE SOURCE_DIR...: (re)builds MODULE with Maven when JAR is missing or
# older than any pom.xml or main source/resource file under the named module folders.
basalt_ensure_jar() {
  local jar=$1 module=$2; shift 2
  local dirs=() d
  for d in "$@"; do dirs+=("$ROOT/$d"); done
  if [ -f "$jar" ] && [ -z "$(find "$ROOT/pom.xml" "${dirs[@]}" \
        \( -path '*/target' -prune \) -o \( \( -path '*/src/main/*' -o -name pom.xml \) -type f -newer "$jar" -print \) \
        2>/dev/null | head -n 1)" ]; then
    return 0
  fi
  basalt_ensure_packages default-jdk-headless maven
  mkdir -p "$ROOT/$module/target"
  (
    flock 9
    echo "basalt: building $module (first run or sources changed)..." >&2
    mvn -B -q -Dstyle.color=never -f "$ROOT/pom.xml" -pl "$module" -am -Dmaven.test.skip=true package >&2
  ) 9>"$ROOT/$module/target/.build.lock"
}
