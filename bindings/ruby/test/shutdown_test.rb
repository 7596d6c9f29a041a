# frozen_string_literal: true

require_relative 'test_helper'

class ShutdownTest < Minitest::Test
  def test_stop_lets_the_request_in_flight_finish_and_closes_the_listener
    started = Queue.new
    release = Queue.new
    app = Spikard::App.new
    app.get('/slow') do
      started << true
      release.pop
      { finished: true }
    end
    server = app.start
    port = server.port
    client = Thread.new { Net::HTTP.get_response(URI(server.url('/slow'))) }
    started.pop
    stopper = Thread.new { server.stop(grace: 30) }
    SpikardTest.wait_until('the listener closes') { !SpikardTest.accepting?(port) }
    assert stopper.alive?, 'stop returned while a request was in flight'
    release << true
    res = client.value
    assert_equal ['200', '{"finished":true}'], [res.code, res.body]
    stopper.join
    refute server.running?
    refute SpikardTest.accepting?(port)
  end

  def test_requests_still_unanswered_after_the_grace_period_get_503
    started = Queue.new
    release = Queue.new
    app = Spikard::App.new
    app.get('/stuck') do
      started << true
      release.pop
      'late'
    end
    server = app.start
    client = Thread.new { Net::HTTP.get_response(URI(server.url('/stuck'))) }
    started.pop
    stopper = Thread.new { server.stop(grace: 0) }
    res = client.value # answered 503 by the core while the handler still runs
    assert_equal '503', res.code
    release << true
    stopper.join
  end

  def test_two_apps_one_after_the_other_in_one_process
    2.times do |i|
      app = Spikard::App.new
      app.get('/i') { { i: i } }
      Spikard::Testing.serve(app) { |c| assert_equal({ 'i' => i }, c.get('/i').json) }
    end
  end

  def test_a_port_in_use_is_a_listen_error
    app = Spikard::App.new
    app.get('/') { nil }
    server = app.start
    other = Spikard::App.new
    other.get('/') { nil }
    assert_raises(Spikard::ListenError) { other.start(port: server.port) }
  ensure
    server&.stop
  end

  def test_handlers_installed_by_the_server_use_sa_onstack
    skip 'Linux only' unless Spikard::Signals::SUPPORTED
    old = trap('USR2') { nil }
    assert_equal 0, Spikard::Signals.flags('USR2') & Spikard::Signals::SA_ONSTACK
    Spikard::Signals.onstack!
    refute_equal 0, Spikard::Signals.flags('USR2') & Spikard::Signals::SA_ONSTACK
  ensure
    trap('USR2', old || 'DEFAULT')
  end

  APP_FILE = <<~RUBY
    require 'spikard'
    app = Spikard::App.new
    app.get('/pid') { { pid: Process.pid } }
    app.get('/slow') do
      File.write(ENV.fetch('STARTED'), 'x')
      sleep 0.01 until File.exist?(ENV.fetch('RELEASE'))
      { finished: true }
    end
    app.run(port: 1) # under `spikard run`, the command line's --port wins
  RUBY

  %w[TERM INT].each do |sig|
    define_method("test_sig#{sig.downcase}_stops_gracefully") do
      Dir.mktmpdir do |dir|
        file = File.join(dir, 'app.rb')
        File.write(file, APP_FILE)
        env = { 'STARTED' => File.join(dir, 'started'), 'RELEASE' => File.join(dir, 'release') }
        pid, port, log_io, = SpikardTest.spawn_server(file, env: env)
        begin
          http = Net::HTTP.start('127.0.0.1', port)
          assert_equal pid, JSON.parse(http.get('/pid').body)['pid']
          client = Thread.new { Net::HTTP.get_response(URI("http://127.0.0.1:#{port}/slow")) }
          SpikardTest.wait_until('the request reaches the handler') { File.exist?(env['STARTED']) }
          Process.kill(sig, pid)
          SpikardTest.wait_until('the listener closes') { !SpikardTest.accepting?(port) }
          File.write(env['RELEASE'], 'x')
          res = client.value
          assert_equal ['200', '{"finished":true}'], [res.code, res.body]
          _, status = Process.wait2(pid)
          log = log_io.read
          assert status.success?, "exit #{status.inspect}:\n#{log}"
          assert_includes log, "stopped (pid #{pid})"
        ensure
          Process.kill('KILL', pid) rescue nil # rubocop:disable Style/RescueModifier
          Process.wait(pid) rescue nil # rubocop:disable Style/RescueModifier
        end
      end
    end
  end

  def test_cli
    out = IO.popen([*SpikardTest.spikard_command, 'version'], &:read)
    assert_equal "spikard #{Spikard::VERSION}\n", out
    Dir.mktmpdir do |dir|
      file = File.join(dir, 'empty.rb')
      File.write(file, "1\n")
      r = IO.popen([*SpikardTest.spikard_command, 'run', file, err: %i[child out]], &:read)
      assert_includes r, 'defines no Spikard::App'
      refute $?.success? # rubocop:disable Style/SpecialGlobalVars
    end
  end

  def test_workers
    Dir.mktmpdir do |dir|
      file = File.join(dir, 'app.rb')
      File.write(file, "require 'spikard'\napp = Spikard::App.new\napp.get('/pid') { { pid: Process.pid } }\napp\n")
      probe = TCPServer.new('127.0.0.1', 0)
      port = probe.addr[1]
      probe.close
      r, w = IO.pipe
      pid = Process.spawn(*SpikardTest.spikard_command, 'run', file, '--port', port.to_s, '--workers', '2', err: w, out: w)
      w.close
      log = +''
      started = []
      while (line = r.gets)
        log << line
        started << line[/\(pid (\d+)\)/, 1].to_i if line.include?('listening on')
        break if started.size == 2
      end
      assert_equal 2, started.uniq.size, log
      refute_includes started, pid
      drain = Thread.new { r.read.to_s }
      # 20 requests, each on a new connection: all answer 200, each from one
      # of the workers. The kernel spreads connections by hash, so one round
      # can land on a single worker: new rounds (new connections) until both
      # have answered.
      seen = []
      25.times do
        20.times do
          res = Net::HTTP.get_response(URI("http://127.0.0.1:#{port}/pid"))
          assert_equal '200', res.code, res.body
          seen |= [JSON.parse(res.body)['pid']]
        end
        break if seen.size == 2
      end
      assert_equal started.sort, seen.sort
      Process.kill('TERM', pid)
      _, status = Process.wait2(pid)
      log << drain.value
      assert status.success?, log
      started.each do |wpid|
        assert_raises(Errno::ESRCH, "worker #{wpid} still running") { Process.kill(0, wpid) }
        assert_includes log, "stopped (pid #{wpid})"
      end
    ensure
      Process.kill('KILL', pid) rescue nil # rubocop:disable Style/RescueModifier
    end
  end

  def test_workers_need_a_port
    app = Spikard::App.new
    app.get('/') { nil }
    assert_raises(ArgumentError) { app.run(port: 0, workers: 2) }
  end
end
