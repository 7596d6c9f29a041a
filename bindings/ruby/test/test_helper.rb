# frozen_string_literal: true

# Tests drive real servers over real sockets (Spikard::Testing, or a
# `spikard run` subprocess). They load whichever spikard `require` finds:
# test.sh runs them against the installed gem, from outside the source tree.

require 'json'
require 'logger'
require 'net/http'
require 'rbconfig'
require 'socket'
require 'stringio'
require 'tmpdir'
require 'minitest/autorun'
require 'spikard'

module SpikardTest
  module_function

  # A logger whose output the test can read.
  def logger
    io = StringIO.new
    l = Logger.new(io)
    [l, io]
  end

  # The command line of the spikard executable of the loaded gem (or of the
  # source tree when the tests run with -I lib).
  def spikard_command
    spec = Gem.loaded_specs['spikard']
    if spec
      [RbConfig.ruby, File.join(spec.full_gem_path, spec.bindir, 'spikard')]
    else
      lib = File.expand_path('../lib', __dir__)
      [RbConfig.ruby, '-I', lib, File.expand_path('../exe/spikard', __dir__)]
    end
  end

  # Waits for an event the test caused (never for time to pass): the limit
  # only turns a hang into a failure.
  def wait_until(what, limit: 60)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + limit
    until yield
      raise "gave up waiting: #{what}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.001
    end
  end

  # Whether the suite runs under RBS's runtime type checks (test.sh's second
  # run), which refuse ill-typed calls before the gem sees them.
  def type_checked?
    !ENV.fetch('RBS_TEST_TARGET', '').empty?
  end

  # Whether something accepts connections on 127.0.0.1:port.
  def accepting?(port)
    TCPSocket.new('127.0.0.1', port).close
    true
  rescue SystemCallError
    false
  end

  # Spawns `spikard run file args...` with stderr in a pipe; returns
  # [pid, port, stderr reader] once the server says where it listens.
  def spawn_server(file, *args, env: {})
    r, w = IO.pipe
    pid = Process.spawn(env, *spikard_command, 'run', file, '--port', '0', *args, err: w, out: w, in: File::NULL)
    w.close
    log = +''
    port = nil
    while (line = r.gets)
      log << line
      if (m = line.match(%r{listening on http://[^ ]+:(\d+)}))
        port = m[1].to_i
        break
      end
    end
    raise "the server did not start:\n#{log}" unless port

    [pid, port, r, log]
  end
end
