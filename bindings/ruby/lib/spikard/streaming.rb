# frozen_string_literal: true

require 'json'

module Spikard
  # A response whose body is produced while it is sent (chunked on
  # HTTP/1.1), as Sinatra's `stream` and Rack bodies that yield:
  #
  #   app.get('/export') do
  #     Spikard::StreamingResponse.new(content_type: 'application/x-ndjson') do |out|
  #       Item.find_each { |item| out << "#{item.to_json}\n" }
  #     end
  #   end
  #   app.get('/count') { (1..3).each.lazy.map { |i| "#{i}\n" } }   # an Enumerator streams too
  #
  # The body is an Enumerator (or any object with #each) yielding String
  # chunks, or a block that gets a Spikard::StreamWriter. The status and
  # headers go out first; the producer then runs on a thread of its own (the
  # server goes on serving other requests), each chunk sent as it comes. A
  # client that goes away makes the next write raise Spikard::ClosedError:
  # the producer stops there (its ensure blocks run) and the stream ends. A
  # producer that raises anything else cuts the body off (the client sees an
  # incomplete body, never a complete-looking one); the exception is logged.
  class StreamingResponse < Response
    def initialize(body = nil, status: 200, headers: nil, content_type: nil, cookies: nil, &producer)
      if body.nil? == producer.nil?
        raise ArgumentError, 'spikard: a StreamingResponse takes an Enumerator of chunks or a block, not both'
      end
      raise ArgumentError, "spikard: a stream's body must respond to #each, not #{body.class}" unless body.nil? || body.respond_to?(:each)

      super(body, status: status, headers: headers, content_type: content_type, cookies: cookies, &nil)
      @producer = producer
    end

    private

    # [status, header block] for spikard_stream_begin (Server calls it).
    def head
      [@status, header_block(@content_type)]
    end

    # The object the producer writes to.
    def writer(stream, _request)
      StreamWriter.new(stream)
    end

    # Runs the producer on the calling thread.
    def produce(out)
      if @producer
        @producer.call(out)
      else
        @content.each { |item| out << item }
      end
    end
  end

  # A Server-Sent Events stream (text/event-stream):
  #
  #   app.get('/events', sse: { event_schema: { type: 'object', required: ['n'] } }) do |req|
  #     Spikard::EventStream.new do |events|
  #       start = (events.last_event_id || '0').to_i
  #       (start + 1..start + 3).each { |n| events << Spikard::Event.new(data: { n: n }, id: n) }
  #     end
  #   end
  #
  # The block gets a Spikard::EventWriter; an Enumerator of Events (or of
  # Hashes of Event's fields, or of data Strings) does as well. The route's
  # `sse:` options (keep_alive_ms, retry_ms, event_schema) apply; without
  # them the stream is still an event stream. An event whose data the route's
  # event_schema rejects is not sent: its write raises
  # Spikard::InvalidEventError, and the stream goes on if the producer
  # rescues it.
  class EventStream < StreamingResponse
    CONTENT_TYPE = 'text/event-stream'

    def initialize(events = nil, status: 200, headers: nil, cookies: nil, &producer)
      super(events, status: status, headers: headers, content_type: CONTENT_TYPE, cookies: cookies, &producer)
    end

    private

    def writer(stream, request)
      EventWriter.new(stream, request&.last_event_id)
    end
  end

  # One Server-Sent Event. data: a String is sent as it is (each line a
  # data field), anything else as JSON; nil sends no data (clients then do
  # not dispatch the event, its id and retry still count). retry: the
  # client's reconnection delay in milliseconds. comment: comment lines sent
  # first (clients ignore them).
  class Event
    attr_reader :data, :event, :id, :retry, :comment

    def initialize(data: nil, event: nil, id: nil, retry: nil, comment: nil)
      @data = data
      @event = event&.to_s
      @id = id&.to_s
      @retry = binding.local_variable_get(:retry)&.then { |ms| Integer(ms) }
      @comment = comment&.to_s
    end

    # The data as it goes on the wire.
    def data_text
      case @data
      when nil then nil
      when String then @data
      else JSON.generate(@data)
      end
    end

    def inspect
      "#<Spikard::Event #{{ event: @event, id: @id, data: @data, retry: @retry, comment: @comment }.compact}>"
    end
  end

  # What a stream's writes share: a stream handle and how a failed call is
  # raised.
  module StreamCalls
    # Whether the client went away (or the app is shutting down): writing
    # would raise Spikard::ClosedError.
    def closed?
      @closed ||= Native.spikard_stream_write(@stream, nil, 0) != Native::OK
    end

    private

    # Raises for a failed call; the library's message names the call.
    def checked(rc)
      return if rc == Native::OK

      msg = Native.spikard_last_error
      case rc
      when Native::ECLOSED, Native::ESTATE, Native::EBADHANDLE
        @closed = true
        raise ClosedError.new(msg, code: rc)
      else
        raise Error.for_code(rc, msg)
      end
    end
  end

  # The `out` of a StreamingResponse block: each write is one chunk.
  class StreamWriter
    include StreamCalls

    def initialize(stream)
      @stream = stream
      @closed = false
    end

    # Sends a String chunk (an empty one sends nothing); returns its size.
    # Waits while the client is slow (16 chunks queued). Raises
    # Spikard::ClosedError when the client went away.
    def write(chunk)
      s = String.try_convert(chunk)
      raise TypeError, "spikard: a stream chunk must be a String, not #{chunk.class}" unless s

      checked(Native.spikard_stream_write(@stream, s, s.bytesize))
      s.bytesize
    end

    def <<(chunk)
      write(chunk)
      self
    end
  end

  # The `events` of an EventStream block.
  class EventWriter
    include StreamCalls

    # The client's Last-Event-ID header (a reconnecting client), or nil.
    attr_reader :last_event_id

    def initialize(stream, last_event_id)
      @stream = stream
      @last_event_id = last_event_id
      @closed = false
    end

    # Sends one event (Rails' `sse.write(data, event:, id:, retry:)`):
    #   events.write({ n: 1 }, event: 'tick', id: 1)
    # Raises Spikard::InvalidEventError when the route's event_schema
    # rejects the data (nothing was sent; the stream goes on), and
    # Spikard::ClosedError when the client went away.
    def write(data = nil, **fields)
      send_event(Event.new(data: data, **fields))
      self
    end

    # Sends an Event, a Hash of its fields, or a data String.
    def <<(event)
      e = case event
          when Event then event
          when Hash then Event.new(**event.transform_keys(&:to_sym))
          else Event.new(data: event)
          end
      send_event(e)
      self
    end

    # Sends comment lines only (clients ignore them; they keep proxies from
    # timing the connection out).
    def comment(text)
      send_event(Event.new(comment: text))
      self
    end

    private

    def send_event(e)
      data = e.data_text
      rc = Native.spikard_sse_send(@stream, e.event, e.event&.bytesize || 0, data, data&.bytesize || 0,
                                   e.id, e.id&.bytesize || 0, e.comment, e.comment&.bytesize || 0, e.retry || 0)
      if rc == Native::EINVAL && !data.nil?
        raise InvalidEventError.new("spikard: the event was not sent: #{Native.spikard_last_error}", code: rc)
      end

      checked(rc)
    end
  end
end
