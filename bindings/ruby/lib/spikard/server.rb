# frozen_string_literal: true

require 'json'

module Spikard
  # One app served by this process's libspikard.
  #
  # Dispatch: every handler name is bound to the library's queue; ONE Ruby
  # thread takes requests in batches of up to 64 with spikard_next (attached
  # `blocking: true`, so the GVL is released while it waits), runs each
  # handler and answers with spikard_respond. Ruby code never runs on a
  # library thread.
  class Server
    BATCH = 64
    # How long one spikard_next waits before the loop looks at Ruby again
    # (signals, Thread#kill). Requests wake it at once.
    POLL_MS = 200
    DEFAULT_GRACE = 10.0

    attr_reader :host, :port, :app

    def initialize(app, host: '127.0.0.1', port: 0, reuse_port: false)
      Native.load!
      Signals.onstack!
      @app = app
      @log = app.logger
      @host = host
      @handlers = app.send(:handlers)
      doc = app.to_config
      doc['server'] = (doc['server'] || {}).merge('reuse_port' => true) if reuse_port
      @grace = ((doc['server'] || {})['shutdown_timeout_ms'] || (DEFAULT_GRACE * 1000)).to_f / 1000
      json = JSON.generate(doc)
      out = FFI::MemoryPointer.new(:int64)
      Native.check!(Native.spikard_app_new(json, json.bytesize, out), 'spikard: the configuration document was refused')
      @handle = out.read_int64
      begin
        check_reuse_port if reuse_port
        @handlers.each_with_index do |h, tag|
          Native.check!(Native.spikard_app_handle_queued(@handle, h.name, tag), "spikard: handler #{h.name.inspect}")
        end
        pp = FFI::MemoryPointer.new(:uint16)
        Native.check!(Native.spikard_app_listen(@handle, host.to_s, Integer(port), pp), "spikard: listening on #{host}:#{port}")
        @port = pp.read_uint16
      rescue StandardError
        Native.spikard_app_free(@handle)
        @handle = nil
        raise
      end
      @stopping = false
      @done = false
      @mutex = Mutex.new
      @objects = app.__send__(:value_objects).dup
      @next_object = 0
      # A JSON generator state of this server's dispatch thread: reusing it
      # costs half of JSON.generate, which makes one per call.
      @json = JSON::State.new
      @sockets = {}        # open WebSocket connections: conn => WebSocket (dispatch thread only)
      @producers = {}      # stream producer threads still running
      @producers_mutex = Mutex.new
    end

    # The configuration document as the library understood it.
    def config
      JSON.parse(Native.read_buffer('spikard_app_config') { |buf, cap, n| Native.spikard_app_config(@handle, buf, cap, n) })
    end

    # Serves on a new Ruby thread; returns self.
    def start
      @thread = Thread.new do
        Thread.current.name = 'spikard-dispatch'
        Thread.current.report_on_exception = true
        serve
      end
      self
    end

    # Serves on the calling thread until the app is stopped (#stop from
    # another thread or a signal handler), then frees it.
    def serve
      @thread ||= Thread.current
      loop_batches
    ensure
      free
    end

    # Graceful stop: no new connections, in-flight requests get `grace`
    # seconds (default server.shutdown_timeout_ms, else 10) to be answered,
    # then 503. Call it from any thread but the dispatch one (a signal
    # handler may: the stop then runs on a new thread). Waits for the
    # dispatch thread unless called from a trap context.
    def stop(grace: nil)
      grace = (grace || @grace).to_f
      if @thread.nil? || Thread.current == @thread
        # From a handler or a trap on the dispatch thread (or before it
        # runs): the stop cannot wait here, the dispatch loop must keep
        # answering.
        Thread.new { shutdown(grace) }
        return self
      end
      shutdown(grace)
      @thread&.join unless @thread == Thread.current
      self
    end

    def running?
      !@done
    end

    # Waits until the dispatch thread ends.
    def wait
      @thread&.join
      self
    end

    def url(path = '/')
      h = @host.to_s.include?(':') ? "[#{@host}]" : @host
      "http://#{h}:#{@port}#{path}"
    end

    private

    def shutdown(grace)
      @mutex.synchronize do
        return if @stopping || @handle.nil?

        @stopping = true
      end
      ms = (grace * 1000).round.clamp(0, 2**31 - 1)
      rc = Native.spikard_app_shutdown(@handle, ms)
      @log.warn('graceful stop: the grace period ended; unanswered requests got 503') if rc == Native::ETIMEOUT
    end

    def loop_batches
      buf = FFI::MemoryPointer.new(Native::REQUEST_SIZE * BATCH)
      count = FFI::MemoryPointer.new(:size_t)
      handle = @handle
      checked = false
      loop do
        rc = Native.spikard_next(handle, POLL_MS, buf, BATCH, count)
        if rc == Native::OK
          n = count.get_uint64(0)
          unless checked
            size = buf.get_uint32(Native::OFF_SIZE)
            raise Error, "spikard: the library's spikard_request is #{size} bytes, this gem expects #{Native::REQUEST_SIZE}" if size != Native::REQUEST_SIZE

            checked = true
          end
          i = 0
          while i < n
            dispatch(buf, i * Native::REQUEST_SIZE)
            i += 1
          end
        elsif rc == Native::ETIMEOUT
          next
        elsif rc == Native::ECLOSED
          break
        else
          Native.check!(rc, 'spikard_next')
        end
      end
    end

    # Runs one invocation's block and answers it.
    def dispatch(buf, base)
      id = buf.get_uint64(base + Native::OFF_ID)
      h = @handlers[buf.get_uint64(base + Native::OFF_TAG)]
      kind = buf.get_uint32(base + Native::OFF_KIND)
      req = nil
      begin
        unless kind == Native::KIND_HTTP
          req = Request.new(buf, base, h, self)
          return websocket_event(buf, base, id, kind, h, req)
        end

        case h.kind
        when :route
          req = Request.new(buf, base, h, self) unless h.mode == App::Mode::NONE && h.kwargs.empty?
          result = invoke(h, req)
          result.nil? ? continue(id, req, h) : respond(id, result, h, req)
        when :hook
          req = Request.new(buf, base, h, self)
          result = invoke(h, req)
          if result.is_a?(Response) && !result.equal?(req.__send__(:response_if_any))
            respond(id, result, h, req)
          else
            continue(id, req, h)
          end
        when :factory
          req = Request.new(buf, base, h, self)
          factory(id, req, h)
        when :websocket
          raise Error, "#{h.name} is bound with handle_websocket, but its route is not a WebSocket route"
        else # :generic (App#handle): the answer, or nothing
          req = Request.new(buf, base, h, self)
          result = invoke(h, req)
          result.nil? ? continue(id, req, h) : respond(id, result, h, req)
        end
      rescue Exception => e # rubocop:disable Lint/RescueException
        failed(id, h, buf, base, e)
        raise if e.is_a?(SignalException) || e.is_a?(SystemExit)
      ensure
        req&.__send__(:close!)
      end
    end

    def invoke(h, req)
      case h.mode
      when App::Mode::REQUEST
        h.kwargs.empty? ? h.block.call(req) : h.block.call(req, **deps(req, h))
      when App::Mode::NONE
        h.kwargs.empty? ? h.block.call : h.block.call(**deps(req, h))
      else
        args = [req.path_params, req.query, req.body]
        h.kwargs.empty? ? h.block.call(*args) : h.block.call(*args, **deps(req, h))
      end
    end

    # A factory invocation produces the value; its cleanup invocation gets
    # it back.
    def factory(id, req, h)
      call = req.call || {}
      if call['kind'] == 'cleanup'
        value = call['value']
        # Released before the user's cleanup runs (which still gets the
        # object): once a cleanup was seen, nothing of it is held.
        obj = begin
          resolve_object(value)
        ensure
          release_object(value)
        end
        h.cleanup&.call(obj)
        return continue(id, nil, h)
      end
      value = invoke(h, req)
      if value.is_a?(Response)
        return respond(id, value, h, req)
      end

      unless json_value?(value)
        if h.cleanup == false
          raise Error, "spikard: #{h.name} returned a #{value.class}, not JSON: a factory declared cleanup: false " \
                       'cannot hand Ruby objects to the core'
        end
        value = hold_object(value)
      end
      body = dump(value)
      rc = Native.spikard_respond(id, 200, JSON_HEADERS, JSON_HEADERS.bytesize, body, body.bytesize)
      answered(id, rc, h) unless rc == Native::OK
    end

    JSON_HEADERS = "Content-Type: application/json\n"
    TEXT_HEADERS = "Content-Type: text/plain; charset=utf-8\n"

    def respond(id, result, h, req)
      case result
      when StreamingResponse then return stream(id, result, h, req)
      when Enumerator then return stream(id, StreamingResponse.new(result), h, req)
      when Hash, Array
        body = dump(result)
        headers = JSON_HEADERS
      when String
        body = result
        headers = TEXT_HEADERS
      when Response
        status, headers, body = result.__send__(:render, self)
      else
        body = dump(result)
        headers = JSON_HEADERS
      end
      if req && (extra = req.__send__(:extra_headers))
        headers = headers + extra
      end
      rc = Native.spikard_respond(id, status || 200, headers, headers.bytesize, body, body.bytesize)
      answered(id, rc, h) unless rc == Native::OK
    end

    # Answers with a stream: the status and headers now, the body from a
    # producer thread of its own, so that a slow producer never holds up the
    # dispatch thread.
    def stream(id, res, h, req)
      status, headers = res.__send__(:head)
      if req && (extra = req.__send__(:extra_headers))
        headers += extra
      end
      req&.__send__(:detach!) # the producer reads it after the request was answered
      out = FFI::MemoryPointer.new(:uint64)
      rc = Native.spikard_stream_begin(id, status, headers, headers.bytesize, out)
      return answered(id, rc, h) unless rc == Native::OK

      sid = out.read_uint64
      begin
        writer = res.__send__(:writer, sid, req)
        @producers_mutex.synchronize do
          t = Thread.new { produce(sid, res, writer, h, req) }
          t.report_on_exception = false
          @producers[t] = true
        end
      rescue StandardError => e # no thread (ThreadError): the stream begun must still end
        @log.error("#{h.name}: the stream's producer could not start: #{e.class}: #{e.message}")
        Native.spikard_stream_fail(sid, "#{h.name}: #{e.class}: #{e.message}")
      end
    end

    # A producer thread: runs the stream's body, then ends the stream; a
    # client that went away (Spikard::ClosedError) ends it too, an exception
    # cuts it off.
    def produce(sid, res, writer, h, req)
      Thread.current.name = 'spikard-stream'
      res.__send__(:produce, writer)
      Native.spikard_stream_end(sid)
    rescue ClosedError
      Native.spikard_stream_end(sid)
    rescue Exception => e # rubocop:disable Lint/RescueException
      rid = req ? " (request id #{req.request_id})" : ''
      @log.error("#{h.name}: the stream's producer raised#{rid}: #{e.class}: #{e.message}\n\t" +
                 (e.backtrace || []).join("\n\t"))
      Native.spikard_stream_fail(sid, "#{h.name}: #{e.class}: #{e.message}")
    ensure
      @producers_mutex.synchronize { @producers.delete(Thread.current) }
    end

    # One WebSocket event: opens (runs the route's block, then on_open),
    # delivers a message, or closes the connection's Spikard::WebSocket,
    # and finishes the event. A block that raises closes the connection
    # with 1011.
    def websocket_event(buf, base, id, kind, h, req)
      conn = buf.get_uint64(base + Native::OFF_CONN)
      case kind
      when Native::KIND_WS_OPEN
        raise Error, "#{h.name} got a WebSocket connection: bind it with app.websocket or app.handle_websocket" unless h.kind == :websocket

        ws = WebSocket.new(conn, req.__send__(:detach!))
        @sockets[conn] = ws
        h.mode == App::Mode::NONE ? h.block.call : h.block.call(ws)
        ws.__send__(:opened)
      when Native::KIND_WS_MESSAGE
        @sockets[conn]&.__send__(:received, WebSocket::Message.new(req.raw_body, binary: req.request_method == 'BINARY'))
      when Native::KIND_WS_CLOSE
        body = req.raw_body
        code = body.bytesize >= 2 ? body.unpack1('n') : 1005
        @sockets.delete(conn)&.__send__(:closed, code, body.byteslice(2..).to_s.force_encoding(Encoding::UTF_8))
      end
      rc = Native.spikard_continue(id, nil, 0)
      answered(id, rc, h) unless rc == Native::OK
    end

    # Finishes an invocation without an answer: a hook goes on with its
    # changes, a handler leaves the response as hooks set it.
    def continue(id, req, h)
      ch = req&.__send__(:continue_changes)
      rc = if ch
             json = JSON.generate(ch)
             Native.spikard_continue(id, json, json.bytesize)
           else
             Native.spikard_continue(id, nil, 0)
           end
      answered(id, rc, h) unless rc == Native::OK
    end

    def answered(id, rc, h)
      case rc
      when Native::EINVAL
        msg = "#{h.name}: the answer was refused: #{Native.spikard_last_error}"
        @log.error(msg)
        Native.spikard_respond_error(id, msg)
      when Native::ETIMEOUT
        @log.warn("#{h.name}: answered after the handler timeout; the client got 504")
      when Native::ECLOSED
        @log.info("#{h.name}: answered after the shutdown cut the request off; the client got 503")
      else
        @log.error("#{h.name}: spikard_respond: #{Native.spikard_strerror(rc)}: #{Native.spikard_last_error}")
      end
    end

    def failed(id, h, buf, base, err)
      len = buf.get_uint64(base + Native::OFF_REQUEST_ID + 8)
      rid = len.zero? ? '' : buf.get_pointer(base + Native::OFF_REQUEST_ID).get_bytes(0, len)
      @log.error("#{h.name} raised (request id #{rid}): #{err.class}: #{err.message}\n\t" +
                 (err.backtrace || []).join("\n\t"))
      Native.spikard_respond_error(id, "#{h.name}: #{err.class}: #{err.message}")
    end

    # JSON.generate with this thread's generator state.
    def dump(obj)
      @json.generate(obj)
    rescue StandardError
      @json.depth = 0 # a failed generate leaves it where it stopped
      raise
    end

    def deps(req, h)
      d = req.dependencies
      out = {}
      h.kwargs.each { |name, _| out[name.to_sym] = d[name] if d.key?(name) }
      out
    end

    # Ruby objects a factory produced: the core holds {"$spikard_object": n}.
    OBJECT_KEY = '$spikard_object'

    def hold_object(obj)
      n = (@next_object += 1)
      @objects[n] = obj
      { OBJECT_KEY => n }
    end

    def resolve_object(v)
      return v unless v.is_a?(Hash) && v.size == 1 && v.key?(OBJECT_KEY)

      @objects.fetch(v[OBJECT_KEY]) { raise Error, "spikard: dependency object #{v[OBJECT_KEY]} was released" }
    end

    def release_object(v)
      @objects.delete(v[OBJECT_KEY]) if v.is_a?(Hash) && v.size == 1 && v.key?(OBJECT_KEY)
    end

    # Whether a value crosses to the core as JSON (else by reference).
    def self.json_value?(v)
      case v
      when nil, true, false, String, Integer, Float, Symbol then true
      when Array then v.all? { |x| json_value?(x) }
      when Hash then v.all? { |k, x| (k.is_a?(String) || k.is_a?(Symbol)) && json_value?(x) }
      else false
      end
    end
    private_class_method :json_value?

    def json_value?(v)
      Server.__send__(:json_value?, v)
    end

    def check_reuse_port
      return if config.dig('server', 'reuse_port')

      raise NotSupportedError, "spikard: workers > 1 need libspikard to listen with SO_REUSEPORT (server.reuse_port); " \
                               "libspikard #{Native.spikard_version} does not: run with workers: 1"
    end

    # Streams still producing after the shutdown find their writes refused
    # (Spikard::ClosedError) and end: wait a little for them.
    def join_producers(limit = 2.0)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + limit
      @producers_mutex.synchronize { @producers.keys }.each do |t|
        left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
        break if left <= 0

        t.join(left)
      end
    end

    def free
      handle = @mutex.synchronize do
        h = @handle
        @handle = nil
        @stopping = true
        h
      end
      return unless handle

      join_producers
      Native.spikard_app_free(handle)
      @done = true
      Background.drain
    end
  end
end
