# frozen_string_literal: true

module Spikard
  # A failed libspikard call. #code is the library's negative result code
  # (Spikard::Native::EINVAL ...).
  class Error < StandardError
    attr_reader :code

    def initialize(message = nil, code: nil)
      super(message)
      @code = code
    end

    # The exception class for a result code.
    def self.for_code(code, message)
      klass = case code
              when Native::ECONFIG, Native::EVERSION then ConfigError
              when Native::EIO then ListenError
              when Native::ENOTIMPL then NotSupportedError
              when Native::ECLOSED then ClosedError
              else Error
              end
      klass.new(message, code: code)
    end
  end

  # The configuration document was refused: a bad schema, clashing routes,
  # an unknown middleware, a handler name that cannot be bound.
  class ConfigError < Error; end

  # The address cannot be listened on (in use, bad host).
  class ListenError < Error; end

  # The loaded libspikard does not implement what was asked.
  class NotSupportedError < Error; end

  # The other end is gone: a stream's client went away (or the app is
  # shutting down), or a WebSocket connection is closing or closed. Raised
  # by a stream's writes and WebSocket sends; a stream producer that gets it
  # stops (its ensure blocks run) and the stream ends.
  class ClosedError < Error; end

  # The route's sse.event_schema rejects an event's data: the event was not
  # sent, the stream goes on.
  class InvalidEventError < Error; end
end
