# frozen_string_literal: true

require 'optparse'

module Spikard
  # The `spikard` command.
  #
  #   spikard run app.rb [--host 0.0.0.0] [--port 8000] [--workers 2] [--grace 10]
  #   spikard version
  #
  # app.rb defines the app; it is the file's last value, or else the
  # Spikard::App it created last. A `app.run(...)` in the file does not
  # block under `spikard run`: its options are used, the command line's win.
  module CLI
    @loading = false
    @requested = nil

    class << self
      def loading?
        @loading
      end

      # @api private
      def requested(app, **opts)
        @requested = [app, opts]
      end

      def start(argv)
        cmd = argv.shift
        case cmd
        when 'run' then run(argv)
        when 'version', '--version', '-v'
          puts "spikard #{Spikard::VERSION}"
          0
        else
          warn usage
          cmd.nil? || %w[-h --help help].include?(cmd) ? 0 : 2
        end
      end

      def usage
        <<~USAGE
          usage: spikard run APP.rb [--host HOST] [--port PORT] [--workers N] [--grace SECONDS]
                 spikard version
        USAGE
      end

      private

      def run(argv)
        opts = {}
        parser = OptionParser.new do |o|
          o.banner = usage
          o.on('--host HOST') { |v| opts[:host] = v }
          o.on('--port PORT', Integer) { |v| opts[:port] = v }
          o.on('--workers N', Integer) { |v| opts[:workers] = v }
          o.on('--grace SECONDS', Float) { |v| opts[:grace] = v }
        end
        rest = parser.parse(argv)
        file = rest.first
        unless file && File.file?(file)
          warn(file ? "spikard: no such file: #{file}" : usage)
          return 2
        end
        app = load_app(File.expand_path(file))
        unless app.is_a?(Spikard::App)
          warn "spikard: #{file} defines no Spikard::App"
          return 2
        end
        file_opts = @requested && @requested[0].equal?(app) ? @requested[1] : {}
        app.run(**file_opts.merge(opts))
        0
      end

      def load_app(path)
        @loading = true
        $LOAD_PATH.unshift(File.dirname(path))
        value = TOPLEVEL_BINDING.eval(File.read(path), path, 1)
        return value if value.is_a?(Spikard::App)
        return @requested[0] if @requested

        Spikard::App.last_created
      ensure
        @loading = false
      end
    end
  end
end
