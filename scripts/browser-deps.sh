# Chromium and ChromeDriver for the browser test (tests/browser), and the other clients it drives
# the counter example with (curl, python3). Sourced by scripts/test; not run on its own.
#
#   ensure_browser      installs Debian's `chromium` and `chromium-driver` with apt-get when they
#                       are missing and we run as root (otherwise prints what to install and exits
#                       non-zero), then exports TS_CHROMIUM and TS_CHROMEDRIVER for the test
#
# TS_CHROMIUM and TS_CHROMEDRIVER, when already set, name the binaries to use instead of
# /usr/bin/chromium and /usr/bin/chromedriver; nothing is installed for them.

ensure_browser() {
  local chromium=${TS_CHROMIUM:-/usr/bin/chromium}
  local chromedriver=${TS_CHROMEDRIVER:-/usr/bin/chromedriver}
  local missing=()

  if [ -n "${TS_CHROMIUM:-}" ] && [ ! -x "$chromium" ]; then
    echo "scripts/test: TS_CHROMIUM=$chromium is not an executable file" >&2
    exit 1
  fi
  if [ -n "${TS_CHROMEDRIVER:-}" ] && [ ! -x "$chromedriver" ]; then
    echo "scripts/test: TS_CHROMEDRIVER=$chromedriver is not an executable file" >&2
    exit 1
  fi
  [ -x "$chromium" ] || missing+=(chromium)
  [ -x "$chromedriver" ] || missing+=(chromium-driver)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)

  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      echo "scripts/test: the browser test needs Chromium, ChromeDriver, curl and python3; install" \
        "the Debian packages: sudo apt-get install ${missing[*]}" >&2
      exit 1
    fi
    printf '    installing %s\n' "${missing[*]}"
    # With the packages' recommends (fonts among them), as the test was developed with.
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
      echo "scripts/test: apt-get install ${missing[*]} failed; install them by hand:" \
        "sudo apt-get install ${missing[*]}" >&2
      exit 1
    fi
    if [ ! -x "$chromium" ] || [ ! -x "$chromedriver" ]; then
      echo "scripts/test: still no $chromium or $chromedriver after apt-get install" \
        "${missing[*]}" >&2
      exit 1
    fi
  fi

  # ChromeDriver drives only the Chromium of its own major version.
  local browser_version driver_version
  browser_version=$("$chromium" --version 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+)+' | head -n 1)
  driver_version=$("$chromedriver" --version 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+)+' | head -n 1)
  if [ -z "$browser_version" ] || [ -z "$driver_version" ]; then
    echo "scripts/test: $chromium or $chromedriver does not run (no --version);" \
      "reinstall them: sudo apt-get install --reinstall chromium chromium-driver" >&2
    exit 1
  fi
  if [ "${browser_version%%.*}" != "${driver_version%%.*}" ]; then
    echo "scripts/test: Chromium $browser_version and ChromeDriver $driver_version differ;" \
      "install matching ones: sudo apt-get install chromium chromium-driver" >&2
    exit 1
  fi

  TS_CHROMIUM=$chromium
  TS_CHROMEDRIVER=$chromedriver
  export TS_CHROMIUM TS_CHROMEDRIVER
  printf '    chromium       %s (%s)\n' "$TS_CHROMIUM" "$browser_version"
  printf '    chromedriver   %s (%s)\n' "$TS_CHROMEDRIVER" "$driver_version"
}
