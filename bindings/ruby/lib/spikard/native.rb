# frozen_string_literal: true

require 'ffi'

module Spikard
  # The C ABI of libspikard (include/spikard.h), through ruby-ffi.
  #
  # The library is loaded on first use, never at require time: `app.run`
  # forks its workers before any of them loads it (one Go runtime per
  # process, and a Go runtime does not survive fork).
  #
  # Found, in order: ENV['SPIKARD_LIB'], then spikard/libspikard.so on the
  # load path (the gem installs it next to its extension, `rake compile`
  # puts it in lib/spikard/).
  module Native
    extend FFI::Library

    ABI_VERSION = 2
    CONFIG_VERSION = 1

    OK = 0
    EINVAL = -1
    EBADHANDLE = -2
    EVERSION = -3
    ECONFIG = -4
    ETIMEOUT = -5
    ESTATE = -6
    ERANGE = -7
    ECLOSED = -8
    EIO = -9
    ENOTIMPL = -10
    EINTERNAL = -11

    KIND_HTTP = 0
    KIND_WS_MESSAGE = 1
    KIND_WS_CLOSE = 2
    KIND_WS_OPEN = 4

    # spikard_request (ABI version 2): two uint32, three 64-bit numbers,
    # eight (pointer, size_t) pairs, then the WebSocket connection. Offsets
    # are checked against the library's own `size` at the first batch.
    REQUEST_SIZE = 168
    OFF_SIZE = 0
    OFF_KIND = 4
    OFF_ID = 8
    OFF_TAG = 16
    OFF_HANDLER = 32
    OFF_METHOD = 48
    OFF_PATH = 64
    OFF_QUERY = 80
    OFF_HEADERS = 96
    OFF_REQUEST_ID = 112
    OFF_VALUES = 128
    OFF_BODY = 144
    OFF_CONN = 160

    LIB_NAME = 'libspikard.so'

    @loaded = false
    @load_mutex = Mutex.new

    class << self
      # The path of the library that is (or would be) loaded.
      def library_path
        env = ENV.fetch('SPIKARD_LIB', '')
        return env unless env.empty?

        $LOAD_PATH.each do |dir|
          candidate = File.join(dir, 'spikard', LIB_NAME)
          return candidate if File.file?(candidate)
        end
        nil
      end

      def loaded?
        @loaded
      end

      # Loads libspikard once per process and checks its ABI version.
      def load!
        return true if @loaded

        @load_mutex.synchronize do
          return true if @loaded

          path = library_path
          unless path && File.file?(path)
            raise LoadError, <<~MSG
              spikard: libspikard.so was not found.
                Looked at: ENV['SPIKARD_LIB'] (#{ENV['SPIKARD_LIB'].inspect}) and spikard/#{LIB_NAME} on $LOAD_PATH.
                Install the gem (it builds the library with Go during `gem install`),
                or build it yourself and point SPIKARD_LIB at it:
                  go build -buildmode=c-shared -o build/libspikard.so ./capi   # in the spikard-go repository
                  export SPIKARD_LIB=$PWD/build/libspikard.so
            MSG
          end
          attach(path)
          got = spikard_abi_version
          if got != ABI_VERSION
            raise LoadError, "spikard: #{path} speaks ABI version #{got}; this gem speaks version #{ABI_VERSION}: " \
                             'reinstall the gem or rebuild the library from the same source'
          end
          @loaded = true
        end
      end

      private

      def attach(path)
        ffi_lib path
        attach_function :spikard_abi_version, [], :uint32
        attach_function :spikard_version, [], :string
        attach_function :spikard_last_error, [], :string
        attach_function :spikard_strerror, [:int], :string
        attach_function :spikard_app_new, %i[buffer_in size_t pointer], :int, blocking: true
        attach_function :spikard_app_free, [:int64], :int, blocking: true
        attach_function :spikard_app_handle_queued, %i[int64 string uint64], :int, blocking: true
        attach_function :spikard_app_config, %i[int64 pointer size_t pointer], :int, blocking: true
        attach_function :spikard_app_openapi, %i[int64 pointer size_t pointer], :int, blocking: true
        attach_function :spikard_app_listen, %i[int64 string uint16 pointer], :int, blocking: true
        attach_function :spikard_app_shutdown, %i[int64 int], :int, blocking: true
        # Releases the GVL while it waits: other Ruby threads (signal
        # handling, the caller of stop) run meanwhile.
        attach_function :spikard_next, %i[int64 int pointer size_t pointer], :int, blocking: true
        attach_function :spikard_try_next, %i[int64 pointer size_t pointer], :int
        # Plain C, a mutex and a copy: cheaper to call with the GVL held.
        attach_function :spikard_respond, %i[uint64 int buffer_in size_t buffer_in size_t], :int
        attach_function :spikard_respond_error, %i[uint64 string], :int
        attach_function :spikard_continue, %i[uint64 buffer_in size_t], :int
        # Streams, events and WebSocket sends enter the Go runtime and may
        # wait (a full queue, a slow client): the GVL is released meanwhile.
        attach_function :spikard_stream_begin, %i[uint64 int buffer_in size_t pointer], :int, blocking: true
        attach_function :spikard_stream_write, %i[uint64 buffer_in size_t], :int, blocking: true
        attach_function :spikard_stream_end, [:uint64], :int, blocking: true
        attach_function :spikard_stream_fail, %i[uint64 string], :int, blocking: true
        attach_function :spikard_sse_send,
                        %i[uint64 buffer_in size_t buffer_in size_t buffer_in size_t buffer_in size_t int64], :int,
                        blocking: true
        attach_function :spikard_ws_send, %i[uint64 int buffer_in size_t], :int, blocking: true
        attach_function :spikard_ws_close, %i[uint64 int buffer_in size_t], :int, blocking: true
      end
    end

    # Reads a document the library writes into a caller's buffer
    # (spikard_app_config, spikard_app_openapi): the block makes the call.
    def self.read_buffer(what)
      n = FFI::MemoryPointer.new(:size_t)
      rc = yield(nil, 0, n)
      check!(rc, what) unless rc == OK || rc == ERANGE
      len = n.get_uint64(0)
      buf = FFI::MemoryPointer.new(:char, [len, 1].max)
      check!(yield(buf, len, n), what)
      buf.get_bytes(0, len).force_encoding(Encoding::UTF_8)
    end

    # Raises the Spikard::Error for a failed call (code < 0) with the
    # library's message.
    def self.check!(code, what)
      return code if code >= 0

      raise Spikard::Error.for_code(code, "#{what}: #{spikard_last_error}")
    end
  end
end
