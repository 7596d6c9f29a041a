# frozen_string_literal: true

require 'fileutils'
require 'open3'

# Copies the Go sources libspikard is built from (the packages ./capi
# depends on in github.com/spikard/spikard-go, their C files, embedded
# assets, include/spikard.h, go.mod, go.sum) from the repository into
# ext/spikard/go, so that the gem carries them and `gem install` can build
# the library with the machine's Go anywhere. Used by spikard.gemspec (when
# the gem is built inside the repository) and by `rake vendor`.
module SpikardVendor
  MODULE = 'github.com/spikard/spikard-go'
  DEST = File.expand_path('go', __dir__)
  EXTRA = %w[go.mod go.sum LICENSE include/spikard.h capi/libspikard.map].freeze
  LIST_FORMAT = '{{if .Module}}{{if eq .Module.Path "' + MODULE + '"}}{{.Dir}}' \
                '{{range .GoFiles}} {{.}}{{end}}{{range .CgoFiles}} {{.}}{{end}}' \
                '{{range .CFiles}} {{.}}{{end}}{{range .HFiles}} {{.}}{{end}}' \
                '{{range .SFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}' \
                '{{range .IgnoredGoFiles}} {{.}}{{end}}' \
                "\n{{end}}{{end}}"

  module_function

  # The repository root above dir, or nil.
  def repo_root(dir = __dir__)
    dir = File.expand_path(dir)
    loop do
      mod = File.join(dir, 'go.mod')
      return dir if File.file?(mod) && File.read(mod)[/^module\s+(\S+)/, 1] == MODULE

      parent = File.dirname(dir)
      return nil if parent == dir

      dir = parent
    end
  end

  # The files (relative to root) libspikard is built from.
  def files(root, go: ENV.fetch('GO', 'go'))
    out, err, st = Open3.capture3(go, 'list', '-deps', '-f', LIST_FORMAT, './capi', chdir: root)
    raise "spikard: `go list -deps ./capi` failed in #{root}:\n#{err}" unless st.success?

    list = EXTRA.select { |f| File.file?(File.join(root, f)) }
    out.each_line do |line|
      dir, *names = line.split
      next unless dir

      rel = dir.delete_prefix("#{root}/")
      names.each { |n| list << File.join(rel, n) unless n.end_with?('_test.go') }
    end
    list.uniq.sort
  end

  # Makes DEST hold exactly the files of root that libspikard needs.
  def sync!(root, dest = DEST)
    wanted = files(root)
    wanted.each do |rel|
      src = File.join(root, rel)
      dst = File.join(dest, rel)
      next if File.file?(dst) && File.size(dst) == File.size(src) && FileUtils.compare_file(src, dst)

      FileUtils.mkdir_p(File.dirname(dst))
      FileUtils.cp(src, dst)
    end
    keep = wanted.to_h { |f| [f, true] }
    Dir.glob('**/*', File::FNM_DOTMATCH, base: dest).each do |rel|
      path = File.join(dest, rel)
      FileUtils.rm_f(path) if File.file?(path) && !keep[rel]
    end
    Dir.glob('**/', base: dest).sort_by { |d| -d.length }.each do |d|
      path = File.join(dest, d)
      Dir.rmdir(path) if Dir.empty?(path)
    end
    wanted
  end
end
