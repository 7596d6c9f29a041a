# frozen_string_literal: true

require_relative 'test_helper'
require 'timeout'

# Server-Sent Events over real sockets: Spikard::EventStream from a block
# or an Enumerator, every event field, Last-Event-ID, the route's
# event_schema refusing an event at the send.
class SSETest < Minitest::Test
  SCHEMA = { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } }.freeze

  def app
    app = Spikard::App.new
    app.get('/feed', sse: { keep_alive_ms: -1 }) do |req|
      Spikard::EventStream.new do |events|
        events << Spikard::Event.new(data: { n: 1 }, event: 'tick', id: 1, retry: 2500)
        events.write("two lines\nof text", id: 2)
        events.comment('a comment')
        events << { data: 'from a hash', event: 'hashed' }
        events << 'just data'
        events.write(nil, id: 'no-data') # sets the last id, dispatches nothing
        events << Spikard::Event.new(data: req.last_event_id.to_s, comment: "note\nsecond")
      end
    end
    app.get('/typed', sse: { event_schema: SCHEMA }) do
      Spikard::EventStream.new do |events|
        events.write({ n: 1 })
        begin
          events.write({ n: 'not a number' })
        rescue Spikard::InvalidEventError => e
          events.write({ n: 2 }, event: 'refused', id: e.message.include?('event_schema') ? 'schema' : 'other')
        end
        events.write({ n: 3 })
      end
    end
    app.get('/resume') do |req|
      from = req.last_event_id.to_i
      Spikard::EventStream.new(((from + 1)..(from + 2)).map { |i| Spikard::Event.new(data: "event #{i}", id: i) }.each)
    end
    app
  end

  def test_every_field_of_an_event
    Spikard::Testing.serve(app) do |c|
      res, events = c.events('/feed', headers: { 'Last-Event-ID' => '41' })
      assert_equal 200, res.status
      assert_equal 'text/event-stream', res['content-type']
      assert_equal 'no-cache', res['cache-control']
      assert_nil res['content-length']
      got = events.map { |e| [e.event, e.id, e.data] }
      assert_equal [['tick', '1', '{"n":1}'], [nil, '2', "two lines\nof text"], ['hashed', '2', 'from a hash'],
                    [nil, '2', 'just data'], [nil, 'no-data', '41']], got
      assert_equal 2500, events.last.retry
      assert_includes res.body, ": a comment\n"
      assert_includes res.body, ": note\n: second\n"
      assert_includes res.body, "event: tick\nid: 1\nretry: 2500\ndata: {\"n\":1}\n\n"
    end
  end

  def test_the_event_schema_refuses_an_event_and_the_stream_goes_on
    Spikard::Testing.serve(app) do |c|
      _, events = c.events('/typed')
      assert_equal [[nil, '{"n":1}'], %w[refused {"n":2}], [nil, '{"n":3}']], events.map { |e| [e.event, e.data] }
      assert_equal 'schema', events[1].id
    end
  end

  def test_an_enumerator_of_events_and_last_event_id
    Spikard::Testing.serve(app) do |c|
      _, events = c.events('/resume', headers: { 'Last-Event-ID' => '7' })
      assert_equal [['8', 'event 8'], ['9', 'event 9']], events.map { |e| [e.id, e.data] }
      _, events = c.events('/resume')
      assert_equal %w[1 2], events.map(&:id)
    end
  end

  def test_a_client_that_leaves_stops_the_event_producer
    done = Queue.new
    app = Spikard::App.new
    app.get('/ticks', sse: true) do
      Spikard::EventStream.new do |events|
        n = 0
        loop { events.write({ n: n += 1 }, id: n) }
      rescue Spikard::ClosedError
        done << events.closed?
        raise
      end
    end
    Spikard::Testing.serve(app) do |c|
      sock = TCPSocket.new('127.0.0.1', c.port)
      sock.write("GET /ticks HTTP/1.1\r\nHost: x\r\n\r\n")
      got = +''
      got << sock.readpartial(4096) until got.include?('id: 3')
      sock.close
      assert_equal true, Timeout.timeout(30) { done.pop }
    end
  end
end
