# frozen_string_literal: true

require_relative 'test_helper'
require 'timeout'

# Streamed answers over real sockets: chunked bodies from Enumerators,
# StreamingResponse blocks; a client that leaves stops the producer; a
# producer that raises cuts the body off; a slow producer does not hold up
# other requests.
class StreamingTest < Minitest::Test
  # Raw HTTP/1.1 on a new connection: the status line and headers, then the
  # socket positioned at the body.
  def raw_get(port, path)
    s = TCPSocket.new('127.0.0.1', port)
    s.write("GET #{path} HTTP/1.1\r\nHost: x\r\n\r\n")
    head = +''
    head << s.readpartial(1) until head.end_with?("\r\n\r\n")
    [s, head]
  end

  # What a producer saw, for the test to wait on (Queue#pop, no sleeps).
  def await(queue)
    Timeout.timeout(30) { queue.pop }
  end

  def test_enumerators_and_blocks_stream_chunked
    app = Spikard::App.new
    app.get('/ndjson') do
      Spikard::StreamingResponse.new(content_type: 'application/x-ndjson', headers: { 'X-Export' => 'yes' },
                                     status: 206) do |out|
        3.times { |i| out << "{\"n\":#{i}}\n" }
        out.write('')          # an empty chunk sends nothing and does not end the body
        out.write("{\"n\":3}\n")
      end
    end
    app.get('/enum/:n', path_params: { n: { type: 'integer', maximum: 5 } }) do |req|
      (1..req.path_params['n']).each.lazy.map { |i| "line #{i}\n" }
    end
    app.get('/wrapped') do |req|
      req.set_header('X-From-Request', '1')
      Spikard::StreamingResponse.new(%w[a b c].each, content_type: 'text/plain')
        .set_cookie('sid', 'v', path: '/')
    end
    Spikard::Testing.serve(app) do |c|
      pieces = []
      r = c.stream('/ndjson') { |piece| pieces << piece }
      assert_equal 206, r.status
      assert_equal "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n", r.body
      assert_equal 'application/x-ndjson', r['content-type']
      assert_equal 'yes', r['x-export']
      assert_equal 'chunked', r['transfer-encoding']
      assert_nil r['content-length']

      r = c.get('/enum/3')
      assert_equal [200, "line 1\nline 2\nline 3\n", 'chunked'], [r.status, r.body, r['transfer-encoding']]
      assert_nil r['content-type'], 'a stream without content_type has no Content-Type'
      assert_equal 422, c.get('/enum/9').status, 'parameters are validated before the stream begins'

      r = c.get('/wrapped')
      assert_equal ['abc', 'text/plain', '1'], [r.body, r['content-type'], r['x-from-request']]
      assert_includes r.set_cookies.first, 'sid=v'
      assert_equal 200, c.head('/wrapped').status
    end
  end

  def test_the_request_stays_readable_in_the_producer
    app = Spikard::App.new
    app.get('/echo', query: { word: { type: 'string' } }) do |req|
      Enumerator.new do |y|
        y << req.query['word'] << ' ' << req.headers['x-extra'].to_s << ' ' << req.path
      end
    end
    Spikard::Testing.serve(app) do |c|
      assert_equal 'hi there /echo', c.get('/echo', query: { word: 'hi' }, headers: { 'X-Extra' => 'there' }).body
    end
  end

  def test_a_client_that_leaves_stops_the_producer
    events = Queue.new
    app = Spikard::App.new
    app.get('/forever') do
      Spikard::StreamingResponse.new(content_type: 'application/octet-stream') do |out|
        out << 'first'
        events << :first_written
        chunk = 'x' * 65_536
        loop { out << chunk } # until the client is gone: Spikard::ClosedError
      rescue Spikard::ClosedError => e
        events << [:closed, out.closed?, e.code]
        raise
      ensure
        events << :ensure_ran
      end
    end
    app.get('/after') { { ok: true } }
    server = app.start
    begin
      sock, head = raw_get(server.port, '/forever')
      assert_match(%r{\AHTTP/1.1 200}, head)
      assert_equal :first_written, await(events)
      sock.readpartial(16)
      sock.close
      assert_equal [:closed, true, Spikard::Native::ECLOSED], await(events)
      assert_equal :ensure_ran, await(events)
      sock2 = TCPSocket.new('127.0.0.1', server.port)
      sock2.write("GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
      assert_includes sock2.read, '{"ok":true}'
      sock2.close
    ensure
      server.stop
    end
  end

  def test_a_producer_that_raises_cuts_the_body_off_and_the_server_goes_on
    logger, log = SpikardTest.logger
    app = Spikard::App.new(logger: logger)
    app.get('/broken') do
      Spikard::StreamingResponse.new(content_type: 'text/plain') do |out|
        out << 'partial|'
        raise ArgumentError, 'the producer broke'
      end
    end
    app.get('/fine') { 'fine' }
    server = app.start
    begin
      sock, head = raw_get(server.port, '/broken')
      assert_match(/transfer-encoding: chunked/i, head)
      body = sock.read # until the server cuts the connection
      sock.close
      assert_includes body, 'partial|'
      refute body.end_with?("0\r\n\r\n"), "a failed stream must not look complete: #{body.inspect}"
      assert_includes log.string, 'ArgumentError: the producer broke'

      Spikard::Testing.serve(app) { |c| assert_equal 'fine', c.get('/fine').body }
    ensure
      server.stop
    end
  end

  def test_a_chunk_that_is_not_a_string_fails_the_stream
    skip 'under RBS runtime checks the checker refuses the chunk first' if SpikardTest.type_checked?
    logger, log = SpikardTest.logger
    app = Spikard::App.new(logger: logger)
    app.get('/bad-chunk') { [1, 2].each }
    server = app.start
    begin
      sock = TCPSocket.new('127.0.0.1', server.port)
      sock.write("GET /bad-chunk HTTP/1.1\r\nHost: x\r\n\r\n")
      refute sock.read.end_with?("0\r\n\r\n"), 'a chunk that is not a String fails the stream'
      sock.close
      assert_includes log.string, 'TypeError: spikard: a stream chunk must be a String, not Integer'
    ensure
      server.stop
    end
  end

  def test_a_slow_producer_does_not_hold_up_other_requests
    release = Queue.new
    started = Queue.new
    app = Spikard::App.new
    app.get('/slow') do
      Spikard::StreamingResponse.new(content_type: 'text/plain') do |out|
        out << 'waiting|'
        started << true
        out << release.pop # blocks this producer only
      end
    end
    app.get('/quick') { 'quick' }
    Spikard::Testing.serve(app) do |c|
      slow = Thread.new { Net::HTTP.get(URI("http://127.0.0.1:#{c.port}/slow")) }
      await(started)
      assert_equal 'quick', c.get('/quick').body
      release << 'done'
      assert_equal 'waiting|done', slow.value
    end
  end

  def test_streaming_response_arguments
    skip 'under RBS runtime checks the checker refuses the arguments first' if SpikardTest.type_checked?
    assert_raises(ArgumentError) { Spikard::StreamingResponse.new }
    assert_raises(ArgumentError) { Spikard::StreamingResponse.new([].each) { |_out| nil } }
    assert_raises(ArgumentError) { Spikard::StreamingResponse.new(42) }
  end
end
