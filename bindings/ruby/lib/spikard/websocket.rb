# frozen_string_literal: true

require 'json'

module Spikard
  # One WebSocket connection, as the block of `app.websocket` gets it:
  #
  #   app.websocket('/ws/:room', path_params: { room: { type: 'string' } },
  #                              message_schema: { type: 'object', required: ['text'] }) do |ws|
  #     room = ws.path_params['room']
  #     ws.on_open { ws.send_json({ joined: room }) }
  #     ws.on_message { |msg| ws.send_text(msg) }          # msg: a String, #text? / #binary? / #json
  #     ws.on_close { |code, reason| Rooms.leave(room, ws) }
  #   end
  #
  # The core does the protocol (handshake, subprotocols, origins, pings,
  # size limits, UTF-8, message_schema validation, close codes). The block
  # runs when a connection opens, then its on_open callbacks; on_message
  # and on_close callbacks follow, one event at a time and in order, on the
  # server's dispatch thread. A callback that raises closes the connection
  # with 1011 (the exception is logged). send_* and close work from any
  # thread, during an event or not.
  class WebSocket
    # A message received: a String (UTF-8 for text messages, ASCII-8BIT for
    # binary ones) that knows its type.
    class Message < String
      def initialize(data, binary:)
        super(data)
        force_encoding(binary ? Encoding::BINARY : Encoding::UTF_8)
        @binary = binary
      end

      def binary?
        @binary
      end

      def text?
        !@binary
      end

      # The message parsed as JSON.
      def json
        JSON.parse(self)
      end
    end

    TEXT = 1
    BINARY = 2

    # The connection's handle (spikard_request.conn).
    attr_reader :id
    # The upgrade request (its validated path, query, header and cookie
    # values), readable for the whole connection.
    attr_reader :request

    # @api private
    def initialize(id, request)
      @id = id
      @request = request
      @on_open = []
      @on_message = []
      @on_close = []
      @closed = false
    end

    def path_params
      @request.path_params
    end

    def query
      @request.query
    end

    def headers
      @request.headers
    end

    def cookies
      @request.cookies
    end

    # Callbacks: on_open { }, on_message { |msg| }, on_close { |code, reason| }
    # (code 1006 when the connection dropped without a close frame).
    def on_open(&block)
      @on_open << block if block
      self
    end

    def on_message(&block)
      @on_message << block if block
      self
    end

    def on_close(&block)
      @on_close << block if block
      self
    end

    # Sends a text message (UTF-8). Raises Spikard::ClosedError when the
    # connection is closing or closed.
    def send_text(text)
      s = text.to_s
      s = s.dup.force_encoding(Encoding::UTF_8) if s.encoding == Encoding::BINARY
      s = s.encode(Encoding::UTF_8) unless s.encoding == Encoding::UTF_8
      send_frame(TEXT, s)
    end

    # Sends a binary message.
    def send_binary(data)
      send_frame(BINARY, data.to_s)
    end

    # Sends a JSON value as a text message.
    def send_json(value)
      send_frame(TEXT, JSON.generate(value))
    end

    # Starts the closing handshake (code 1000-4999 but 1004-1006 and 1015;
    # reason at most 123 bytes); on_close follows. Closing a connection that
    # is already closing or closed does nothing.
    def close(code = 1000, reason = '')
      r = reason.to_s
      rc = Native.spikard_ws_close(@id, Integer(code), r, r.bytesize)
      return self if rc == Native::OK || rc == Native::ECLOSED

      raise Error.for_code(rc, Native.spikard_last_error)
    end

    # Whether on_close ran (the connection is over).
    def closed?
      @closed
    end

    def inspect
      "#<Spikard::WebSocket #{@id} #{@closed ? 'closed' : 'open'}>"
    end

    private

    def send_frame(opcode, data)
      rc = Native.spikard_ws_send(@id, opcode, data, data.bytesize)
      return self if rc == Native::OK

      raise Error.for_code(rc, Native.spikard_last_error)
    end

    # Server calls these for the connection's events.
    def opened
      @on_open.each(&:call)
    end

    def received(message)
      @on_message.each { |b| b.call(message) }
    end

    def closed(code, reason)
      @closed = true
      @on_close.each { |b| b.call(code, reason) }
    end
  end
end
