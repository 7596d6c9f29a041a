# frozen_string_literal: true

require_relative 'test_helper'
require 'timeout'

# WebSockets over real sockets (Spikard::Testing's RFC 6455 client):
# echo of text, binary and JSON, the upgrade request's validated values,
# close codes both ways, a raising callback closing with 1011, sends from
# another thread, the message schema.
class WebSocketTest < Minitest::Test
  def pop(queue)
    Timeout.timeout(30) { queue.pop }
  end

  def app(closes = Queue.new, logger: nil)
    app = Spikard::App.new(logger: logger)
    app.websocket('/ws/:room', path_params: { room: { type: 'string', minLength: 2 } },
                               query: { n: { type: 'integer', default: 1 } }) do |ws|
      ws.on_open { ws.send_json({ room: ws.path_params['room'], n: ws.query['n'], agent: ws.headers['x-agent'] }) }
      ws.on_message do |msg|
        case msg
        when 'bye' then ws.close(4001, 'bye')
        when 'boom' then raise 'the handler broke'
        when 'json' then ws.send_json({ type: msg.text? ? 'text' : 'binary' })
        else msg.binary? ? ws.send_binary(msg) : ws.send_text(msg)
        end
      end
      ws.on_close { |code, reason| closes << [ws.path_params['room'], code, reason, ws.closed?] }
    end
    app.websocket('/chat', message_schema: { type: 'object', required: ['text'] }) do |ws|
      ws.on_message { |msg| ws.send_json({ echo: msg.json['text'] }) }
    end
    app.get('/plain') { 'plain' }
    app
  end

  def test_echo_values_and_a_client_close
    closes = Queue.new
    Spikard::Testing.serve(app(closes)) do |c|
      c.websocket('/ws/lobby?n=3', headers: { 'X-Agent' => 'test' }) do |ws|
        assert_equal({ 'room' => 'lobby', 'n' => 3, 'agent' => 'test' }, ws.receive_json)
        ws.send_text('héllo')
        m = ws.receive
        assert_equal ['héllo', true, Encoding::UTF_8], [m, m.text?, m.encoding]
        bytes = (0..255).to_a.pack('C*')
        ws.send_binary(bytes)
        m = ws.receive
        assert_equal [bytes, true], [m, m.binary?]
        ws.send_text('json')
        assert_equal({ 'type' => 'text' }, ws.receive_json)
        assert_equal 1000, ws.close(1000, 'done')
      end
      assert_equal ['lobby', 1000, 'done', true], pop(closes)
      assert_equal 'plain', c.get('/plain').body
    end
  end

  def test_the_handler_closes_with_its_code
    closes = Queue.new
    Spikard::Testing.serve(app(closes)) do |c|
      ws = c.websocket('/ws/room2')
      ws.receive
      ws.send_text('bye')
      assert_nil ws.receive
      assert_equal [4001, 'bye'], [ws.close_code, ws.close_reason]
      ws.disconnect
      assert_equal ['room2', 4001, 'bye', true], pop(closes)
    end
  end

  def test_a_raising_callback_closes_with_1011_and_the_server_goes_on
    logger, log = SpikardTest.logger
    closes = Queue.new
    Spikard::Testing.serve(app(closes, logger: logger)) do |c|
      c.websocket('/ws/room3') do |ws|
        ws.receive
        ws.send_text('boom')
        assert_nil ws.receive
        assert_equal 1011, ws.close_code
      end
      assert_equal 1011, pop(closes)[1]
      assert_includes log.string, 'RuntimeError: the handler broke'
      c.websocket('/ws/room4') { |ws| assert_equal 'room4', ws.receive_json['room'] }
    end
  end

  def test_the_upgrade_request_is_validated
    Spikard::Testing.serve(app) do |c|
      err = assert_raises(Spikard::Error) { c.websocket('/ws/x') }
      assert_includes err.message, '422'
    end
  end

  def test_the_message_schema_is_checked_by_the_core
    Spikard::Testing.serve(app) do |c|
      c.websocket('/chat') do |ws|
        ws.send_json({ text: 'hi' })
        assert_equal({ 'echo' => 'hi' }, ws.receive_json)
        ws.send_json({ other: 1 })
        problem = ws.receive_json
        assert_equal 'https://spikard.dev/errors/validation-error', problem['type']
        ws.send_json({ text: 'still open' })
        assert_equal({ 'echo' => 'still open' }, ws.receive_json)
      end
    end
  end

  def test_sends_from_another_thread_and_after_the_close
    conns = Queue.new
    closed = Queue.new
    app = Spikard::App.new
    app.websocket('/push') do |ws|
      ws.on_open { conns << ws }
      ws.on_close { closed << true }
    end
    Spikard::Testing.serve(app) do |c|
      client = c.websocket('/push')
      ws = pop(conns)
      pusher = Thread.new do
        ws.send_text('pushed')
        ws.send_binary("\x00\x01".b)
      end
      pusher.join
      assert_equal 'pushed', client.receive
      assert_equal "\x00\x01".b, client.receive
      assert_equal 1000, client.close
      pop(closed)
      assert ws.closed?
      assert_raises(Spikard::ClosedError) { ws.send_text('late') }
      ws.close # closing a closed connection does nothing
      client.disconnect
    end
  end

  def test_handle_websocket_binds_a_document_route
    doc = { version: 1, routes: [{ method: 'GET', path: '/doc-ws', handler: 'w', websocket: {} }] }
    app = Spikard::App.from_config(JSON.generate(doc))
    app.handle_websocket('w') { |ws| ws.on_message { |m| ws.send_text("got #{m}") } }
    Spikard::Testing.serve(app) do |c|
      c.websocket('/doc-ws') do |ws|
        ws.send_text('x')
        assert_equal 'got x', ws.receive
      end
    end
  end

  def test_bad_arguments
    conns = Queue.new
    app = Spikard::App.new
    app.websocket('/w') { |ws| ws.on_open { conns << ws } }
    Spikard::Testing.serve(app) do |c|
      c.websocket('/w') do
        ws = pop(conns)
        err = assert_raises(Spikard::Error) { ws.send_text("\xff".b) }
        assert_includes err.message, 'UTF-8'
        assert_raises(Spikard::Error) { ws.close(1005) }
      end
    end
  end
end
