# frozen_string_literal: true

module Spikard
  # app.run: serves in this process (workers: 1) or in `workers` forked
  # processes, each with its own libspikard, all listening on the same port
  # (SO_REUSEPORT). SIGTERM/SIGINT stop gracefully: no new connections,
  # in-flight requests are answered, background work finishes.
  class Runner
    DEFAULT_PORT = 8000

    def initialize(app, host: nil, port: nil, workers: 1, grace: nil)
      @app = app
      @host = (host || app.server_options['host'] || '127.0.0.1').to_s
      @port = Integer(port || app.server_options['port'] || DEFAULT_PORT)
      @workers = Integer(workers)
      @grace = grace
      raise ArgumentError, 'spikard: workers must be at least 1' if @workers < 1
      raise ArgumentError, 'spikard: workers > 1 share one port: give a port other than 0' if @workers > 1 && @port.zero?
    end

    def run
      @workers == 1 ? serve_here(reuse_port: false) : supervise
    end

    private

    def serve_here(reuse_port:)
      server = Server.new(@app, host: @host, port: @port, reuse_port: reuse_port)
      @app.logger.info("listening on #{server.url} (pid #{Process.pid})")
      previous = %w[INT TERM].to_h do |sig|
        # Runs on the main thread, which is the dispatch thread: stop()
        # shuts down from a new thread while this one keeps answering.
        [sig, trap(sig) { server.stop(grace: @grace) }]
      end
      Signals.onstack!
      server.serve
      @app.logger.info("stopped (pid #{Process.pid})")
    ensure
      previous&.each { |sig, handler| trap(sig, handler || 'DEFAULT') }
    end

    def supervise
      if Native.loaded?
        raise Error, 'spikard: run(workers: > 1) must fork before libspikard is loaded in this process ' \
                     '(a Go runtime does not survive fork): do not start a server before app.run'
      end
      stopping = false
      pids = []
      %w[INT TERM].each do |sig|
        trap(sig) do
          stopping = true
          pids.each { |pid| Process.kill('TERM', pid) rescue nil } # rubocop:disable Style/RescueModifier
        end
      end
      @workers.times do |i|
        pids << fork do
          %w[INT TERM].each { |sig| trap(sig, 'DEFAULT') }
          $PROGRAM_NAME = "spikard worker #{i + 1}/#{@workers}"
          begin
            serve_here(reuse_port: true)
            exit!(0)
          rescue Exception => e # rubocop:disable Lint/RescueException
            @app.logger.error("worker #{i + 1}: #{e.class}: #{e.message}")
            exit!(1)
          end
        end
      end
      failed = false
      until pids.empty?
        pid, status = Process.wait2
        pids.delete(pid)
        next if stopping || status.success?

        failed = true
        stopping = true
        @app.logger.error("worker #{pid} exited (#{status.exitstatus || status.termsig}); stopping the others")
        pids.each { |p| Process.kill('TERM', p) rescue nil } # rubocop:disable Style/RescueModifier
      end
      raise Error, 'spikard: a worker failed (see the log above)' if failed
    ensure
      %w[INT TERM].each { |sig| trap(sig, 'DEFAULT') }
    end
  end
end
