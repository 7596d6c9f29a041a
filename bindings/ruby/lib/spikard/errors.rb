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
end
