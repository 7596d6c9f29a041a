# frozen_string_literal: true

require_relative 'lib/spikard/version'
require_relative 'ext/spikard/vendor'

# Inside the spikard-go repository, the gem carries a fresh copy of the Go
# sources libspikard is built from (ext/spikard/go): `gem install` builds
# the library with the machine's Go.
if (root = SpikardVendor.repo_root(__dir__))
  SpikardVendor.sync!(root)
elsif !File.file?(File.join(__dir__, 'ext/spikard/go/go.mod'))
  raise 'spikard.gemspec: no Go sources in ext/spikard/go and no spikard-go repository above: cannot build the gem'
end

Gem::Specification.new do |s|
  s.name = 'spikard'
  s.version = Spikard::VERSION
  s.summary = 'Spikard HTTP/API runtime (libspikard, Go) with handlers as Ruby blocks'
  s.description = 'Routing, JSON Schema validation, RFC 9457 errors and middleware run in libspikard; ' \
                  'handlers are Ruby blocks served by one Ruby thread that takes requests in batches.'
  s.authors = ['Spikard contributors']
  s.license = 'MIT'
  s.homepage = 'https://github.com/spikard/spikard-go'
  s.required_ruby_version = '>= 3.1'

  s.files = Dir.chdir(__dir__) do
    Dir['lib/**/*.rb', 'exe/*', 'sig/**/*.rbs', 'README.md', 'ext/spikard/extconf.rb', 'ext/spikard/vendor.rb'] +
      Dir.glob('ext/spikard/go/**/*', File::FNM_DOTMATCH).select { |f| File.file?(f) }
  end
  s.bindir = 'exe'
  s.executables = ['spikard']
  s.require_paths = ['lib']
  s.extensions = ['ext/spikard/extconf.rb']

  # Debian's ruby-ffi (1.15.5) satisfies it: `gem install --local` finds it
  # among the system's gems and downloads nothing.
  s.add_dependency 'ffi', '~> 1.15'
end
