#!/usr/bin/env bash
# The Ruby binding's whole check, as CI runs it:
#   1. the Debian packages it needs (installed when missing; RubyGems.org is
#      never used),
#   2. gem build + gem install --local into a fresh GEM_HOME: the install
#      builds libspikard with this machine's Go,
#   3. `require 'spikard'` from another directory finds the installed gem,
#   4. the minitest suite against the installed gem, then again under RBS's
#      runtime type checks (sig/spikard.rbs),
#   5. the conformance corpus through the fixture app (go run
#      ./cmd/conformance -binding ruby): every scenario must pass, streams,
#      event streams and WebSockets included.
# Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

need=()
for p in ruby ruby-dev ruby-ffi ruby-minitest rake; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "== installing ${need[*]}"
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need[@]}"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset SPIKARD_LIB RUBYLIB RUBYOPT
export GEM_HOME="$work/gems"

echo "== gem build"
(cd "$here" && gem build spikard.gemspec -o "$work/spikard.gem")
echo "== gem install --local (builds libspikard with $(go env GOVERSION))"
gem install --local --no-document "$work/spikard.gem"

echo "== require 'spikard' from elsewhere"
(cd "$work" && ruby -e '
  require "spikard"
  Spikard::Native.load!
  path = Spikard::Native.library_path
  abort "loaded #{path}, not the installed gem" unless path.start_with?(ENV["GEM_HOME"])
  puts "spikard #{Spikard::VERSION}, libspikard #{Spikard::Native.spikard_version} from #{path}"')

tests=$(ls "$here"/test/*_test.rb)
echo "== minitest (installed gem)"
(cd "$work" && ruby -e 'ARGV.each { |f| require f }' $tests)

echo "== minitest under RBS runtime type checks"
(cd "$work" && RBS_TEST_TARGET='Spikard::*' RBS_TEST_SKIP='::Spikard::App' RBS_TEST_OPT="-I $here/sig" \
	RBS_TEST_LOGLEVEL=error RBS_TEST_RAISE=true ruby -rrbs/test/setup -e 'ARGV.each { |f| require f }' $tests)

echo "== conformance (-binding ruby)"
(cd "$root" && go run ./cmd/conformance -binding ruby)
