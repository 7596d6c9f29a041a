# frozen_string_literal: true

require 'json'

module Spikard
  # An app: routes with their schemas, lifecycle hooks, dependencies,
  # middleware and server options. Declarations only build the
  # configuration document (core/config, version 1) that libspikard
  # compiles; routing, validation, hooks order, dependency resolution, error
  # answers and middleware all run in the library, which calls back the
  # blocks by name.
  #
  #   app = Spikard::App.new
  #   app.get('/users/:id', path_params: { id: { type: 'integer' } }) do |req|
  #     { id: req.path_params['id'] }
  #   end
  #   app.run(port: 8000)
  class App
    HTTP_METHODS = %w[GET POST PUT PATCH DELETE HEAD OPTIONS TRACE].freeze
    HOOK_PHASES = %i[on_request pre_validation pre_handler on_response on_error].freeze

    ROUTE_OPTIONS = %i[handler_name path_params query headers cookies files parameters body request_schema
                       response response_schema content_type max_body_size middleware security summary
                       description tags operation_id dependencies hooks sse websocket].freeze
    private_constant :ROUTE_OPTIONS

    # The options of app.websocket that go to the route's "websocket" member
    # (core/config WebSocket).
    WEBSOCKET_OPTIONS = %i[message_schema on_invalid subprotocols max_message_bytes ping_interval_ms
                           pong_timeout_ms allowed_origins compression].freeze
    private_constant :WEBSOCKET_OPTIONS

    # One host handler the library calls by name: a route's block, a hook,
    # a dependency factory, or a block bound with #handle.
    # @api private
    Handler = Struct.new(:name, :kind, :method, :path, :block, :mode, :kwargs, :entry, :cleanup,
                         keyword_init: true)

    # How a block takes its arguments (decided once, from its parameters).
    # @api private
    module Mode
      NONE = 0    # do ... end
      REQUEST = 1 # do |req| ... end
      LEGACY = 2  # do |path_params, query, body| ... end (the original Spikard's)
    end

    attr_reader :server_options, :middleware_config
    attr_writer :logger

    class << self
      # The App most recently created: what `spikard run app.rb` serves when
      # the file does not end with the app.
      attr_accessor :last_created

      # An app from a configuration document (Hash or JSON text) whose
      # routes, hooks and factories name their handlers; bind each name with
      # #handle.
      def from_config(doc)
        doc = JSON.parse(doc) if doc.is_a?(String)
        new.tap { |app| app.__send__(:adopt, doc) }
      end
    end

    # server options (core/config Server): host, port, max_body_bytes,
    # max_json_depth, trailing_slash, validate_responses,
    # handler_timeout_ms, shutdown_timeout_ms, http2, tls, ...
    def initialize(server: {}, middleware: {}, openapi: nil, logger: nil, **server_options)
      @server_options = stringify(server).merge(stringify(server_options))
      @middleware_config = stringify(middleware)
      @openapi = openapi && stringify(openapi)
      @handlers = []     # Handler, in tag order
      @by_name = {}
      @routes = []       # the route Handlers, in declaration order
      @hooks = HOOK_PHASES.to_h { |p| [p, []] } # app-wide hook entries
      @dependencies = {} # key => document entry
      @adopted = nil     # a document given to from_config
      @logger = logger
      App.last_created = self
    end

    HTTP_METHODS.each do |m|
      define_method(m.downcase) do |path, **opts, &block|
        route(m, path, **opts, &block)
      end
    end

    # Declares a route. Options:
    #   path_params:, query:, headers:, cookies: { name => JSON Schema }
    #     (declaration keywords: required: false / optional: true, default:)
    #   body: (or request_schema:)      JSON Schema of the body
    #   response: (or response_schema:) JSON Schema of 2xx JSON answers
    #   dependencies: { key => value }  route-level value dependencies
    #   hooks: { pre_handler: ->(req) { ... }, ... }  route-level hooks
    #   content_type:, max_body_size:, middleware:, security:,
    #   summary:, description:, tags:, operation_id:, handler_name:
    #   sse: true or { keep_alive_ms:, retry_ms:, event_schema: }  an
    #     event-stream route (the block returns a Spikard::EventStream)
    #   websocket: { ... }  a WebSocket route (see #websocket)
    # The block gets a Spikard::Request (or nothing, or the original
    # Spikard's |path_params, query, body|) and the dependencies it names as
    # keyword arguments; it returns a Hash/Array (JSON), a String (text), nil
    # (no body), a Spikard::Response, or a stream (an Enumerator of String
    # chunks, a Spikard::StreamingResponse or Spikard::EventStream).
    def route(method, path, **opts, &block)
      raise ArgumentError, "spikard: #{method} #{path}: a route needs a block" unless block

      unknown = opts.keys - ROUTE_OPTIONS
      raise ArgumentError, "spikard: #{method} #{path}: unknown option(s) #{unknown.join(', ')}" unless unknown.empty?

      method = method.to_s.upcase
      name = (opts[:handler_name] || "#{method} #{path}").to_s
      entry = { 'method' => method, 'path' => path.to_s, 'handler' => name }
      params = stringify(opts[:parameters] || {})
      { path_params: 'path', query: 'query', headers: 'headers', cookies: 'cookies', files: 'files' }.each do |k, g|
        params[g] = stringify(opts[k]) if opts[k]
      end
      entry['parameters'] = params unless params.empty?
      body = opts[:body] || opts[:request_schema]
      entry['body_schema'] = schema(body) if body
      resp = opts[:response] || opts[:response_schema]
      entry['response_schema'] = schema(resp) if resp
      %i[content_type max_body_size middleware security summary description tags operation_id].each do |k|
        entry[k.to_s] = opts[k].is_a?(Hash) ? stringify(opts[k]) : opts[k] if opts.key?(k)
      end
      entry['dependencies'] = deps_document(opts[:dependencies]) if opts[:dependencies]
      entry['sse'] = sse_document(opts[:sse]) if opts[:sse]
      entry['websocket'] = websocket_document(opts[:websocket]) if opts[:websocket]
      kind = opts[:websocket] ? :websocket : :route
      h = add_handler(name, kind, block, entry: entry, method: method, path: path.to_s)
      @routes << h
      route_hooks(h, opts[:hooks]) if opts[:hooks]
      block
    end

    # A WebSocket route (GET, upgraded). The block runs for each connection
    # with a Spikard::WebSocket (ws.on_open / on_message / on_close,
    # ws.send_text / send_binary / send_json / close, ws.path_params ...).
    # Options: the route's (path_params:, query:, headers:, cookies:,
    # middleware:, handler_name: ...) and the WebSocket's: message_schema:
    # (JSON Schema of every message, parsed as JSON; an invalid one is
    # answered with a validation problem and never reaches the block),
    # on_invalid: 'close' (close with 1007 instead), subprotocols:,
    # max_message_bytes:, ping_interval_ms:, pong_timeout_ms:,
    # allowed_origins:, compression:.
    def websocket(path, **opts, &block)
      raise ArgumentError, "spikard: websocket #{path}: a route needs a block" unless block

      ws = opts.slice(*WEBSOCKET_OPTIONS)
      route('GET', path, **opts.except(*WEBSOCKET_OPTIONS), websocket: ws, &block)
    end

    # Binds a WebSocket route's handler name of a document given to
    # from_config: the block gets each connection's Spikard::WebSocket.
    def handle_websocket(name, &block)
      raise ArgumentError, 'spikard: handle_websocket needs a block' unless block

      add_handler(name.to_s, :websocket, block)
      block
    end

    # Binds a handler name of a document given to from_config (a route's,
    # a hook's or a factory's). The block gets the Request; what it returns
    # answers the invocation (nil: a hook goes on, a factory's value is
    # null); req.call says why it runs.
    def handle(name, &block)
      raise ArgumentError, 'spikard: handle needs a block' unless block

      add_handler(name.to_s, :generic, block)
      block
    end

    # Provides a dependency by key, for handlers and hooks that name it as a
    # keyword argument (do |req, db:| ... end).
    #
    #   app.provide(:db_url, 'postgres://localhost/app')       # a value (any JSON)
    #   app.provide(:db, cleanup: ->(db) { db.close }) do |db_url:|
    #     Database.connect(db_url)                              # a factory
    #   end
    #
    # A factory's keyword arguments are its dependencies (depends_on adds
    # more). cacheable (default): once per request; singleton: once per app
    # process; neither: at every use. cleanup: a callable that gets the value
    # after the response was sent. A factory may return any Ruby object:
    # JSON values are shared with the core as they are, other objects stay
    # in this process and the core holds a reference, released after the
    # response (cleanup: false saves that call back for factories that
    # return JSON only).
    def provide(key, value = NOT_GIVEN, depends_on: [], singleton: false, cacheable: true, cleanup: nil, &block)
      key = key.to_s
      if value.is_a?(Proc) && block.nil?
        block = value
        value = NOT_GIVEN
      end
      if block
        raise ArgumentError, "spikard: provide(#{key.inspect}): give a value or a block, not both" unless value.equal?(NOT_GIVEN)
        unless cleanup.nil? || cleanup == false || cleanup.respond_to?(:call)
          raise ArgumentError, "spikard: provide(#{key.inspect}): cleanup is a callable, or false"
        end

        name = "factory #{key}"
        h = add_handler(name, :factory, block)
        h.cleanup = cleanup
        deps = (Array(depends_on).map(&:to_s) + h.kwargs.map(&:first)).uniq
        entry = { 'type' => 'factory', 'factory' => name }
        entry['depends_on'] = deps unless deps.empty?
        entry['singleton'] = true if singleton
        entry['cacheable'] = true if cacheable && !singleton
        # A non-singleton value that is a Ruby object is released by its
        # cleanup invocation, so such factories are called back unless
        # declared cleanup: false (then their values must be JSON).
        entry['cleanup'] = true if cleanup || (cleanup.nil? && !singleton)
        @dependencies[key] = entry
      else
        raise ArgumentError, "spikard: provide(#{key.inspect}) needs a value or a block" if value.equal?(NOT_GIVEN)

        @dependencies[key] = { 'type' => 'value', 'value' => value_document(value) }
      end
      self
    end

    # App-wide lifecycle hooks, run for every route in the order declared:
    #
    #   app.pre_handler do |req|
    #     next Spikard::Response.new({ error: 'no token' }, status: 401) unless req.headers['authorization']
    #     req.set_state('user', 'u1')       # for later hooks and the handler
    #   end
    #   app.on_response { |req| req.response.headers['X-Frame-Options'] = 'DENY' }
    #
    # Returning a Spikard::Response answers (request phases: short-circuit;
    # on_response/on_error: replaces the answer); anything else lets the
    # request go on with what the hook set (req.set_header,
    # req.set_request_header, req.set_state, req.set_status, req.response).
    # Keyword arguments are dependencies. name: and config: (any JSON, in
    # req.call['config']) are optional.
    HOOK_PHASES.each do |phase|
      define_method(phase) do |name = nil, config: nil, &block|
        raise ArgumentError, "spikard: #{phase} needs a block" unless block

        @hooks[phase] << hook_entry(phase, name, config, block, "#{phase}:#{@hooks[phase].size}")
        self
      end
    end

    # Merges app-wide middleware configuration (the document's "middleware":
    # request_id, cors, rate_limit, jwt_auth, api_key_auth, body_limit,
    # request_timeout, compression, static_files).
    def middleware(config = nil, **kw)
      @middleware_config.merge!(stringify(config || {})).merge!(stringify(kw))
      self
    end

    # Serves the OpenAPI document and docs pages (core/openapi options).
    def openapi(options = {})
      @openapi = stringify(options)
      self
    end

    # The OpenAPI 3.1 document the library generates from the routes.
    def openapi_document
      Native.load!
      json = to_json
      out = FFI::MemoryPointer.new(:int64)
      Native.check!(Native.spikard_app_new(json, json.bytesize, out), 'spikard: the configuration document was refused')
      handle = out.read_int64
      begin
        JSON.parse(Native.read_buffer('spikard_app_openapi') { |buf, cap, n| Native.spikard_app_openapi(handle, buf, cap, n) })
      ensure
        Native.spikard_app_free(handle)
      end
    end

    # The routes, in declaration order.
    def routes
      @routes.map { |h| { method: h.method, path: h.path, handler_name: h.name } }
    end

    # The configuration document (a Hash with String keys).
    def to_config
      doc = @adopted ? deep_dup(@adopted) : { 'version' => Native::CONFIG_VERSION }
      doc['version'] ||= Native::CONFIG_VERSION
      server = stringify(doc['server'] || {}).merge(@server_options)
      doc['server'] = server unless server.empty?
      doc['routes'] = @routes.map { |h| h.entry.merge(handler_dependencies_for(h)) } unless @adopted
      mw = stringify(doc['middleware'] || {}).merge(@middleware_config)
      hooks = app_hooks_document(mw['lifecycle_hooks'])
      mw['lifecycle_hooks'] = hooks if hooks
      doc['middleware'] = mw unless mw.empty?
      doc['dependencies'] = stringify(doc['dependencies'] || {}).merge(deps_with_known_keys) unless @dependencies.empty?
      doc['openapi'] = @openapi if @openapi
      doc
    end

    def to_json(*_args)
      JSON.generate(to_config)
    end

    # Serves the app until SIGTERM/SIGINT (graceful stop) with `workers`
    # processes, each with its own library instance. Returns when every
    # worker stopped. Inside `spikard run` it only records the options.
    def run(host: nil, port: nil, workers: 1, grace: nil)
      opts = { host: host, port: port, workers: workers, grace: grace }.compact
      if Spikard::CLI.loading?
        Spikard::CLI.requested(self, **opts)
        return
      end
      Runner.new(self, **opts).run
    end

    # Starts serving on a background thread of this process and returns the
    # Server (#port, #stop). For tests and embedding.
    def start(host: '127.0.0.1', port: 0)
      Server.new(self, host: host, port: port).start
    end

    # The app's logger (default: a Logger on $stderr): handler exceptions
    # with their backtraces, answers the library refused, stops.
    def logger
      @logger ||= default_logger
    end

    NOT_GIVEN = Object.new.freeze
    private_constant :NOT_GIVEN

    private

    # Handlers in tag order (Server binds tag i to handlers[i]).
    def handlers
      @handlers
    end

    def adopt(doc)
      @adopted = stringify(doc)
    end

    def add_handler(name, kind, block, entry: nil, method: nil, path: nil)
      raise ArgumentError, "spikard: handler name #{name.inspect} is used twice" if @by_name.key?(name)

      params = block.parameters
      positional = params.count { |t, _| %i[req opt].include?(t) }
      rest = params.any? { |t, _| t == :rest }
      kwargs = params.select { |t, _| %i[keyreq key].include?(t) }.map { |t, n| [n.to_s, t == :keyreq] }
      mode = if positional >= 3 && kind == :route then Mode::LEGACY
             elsif positional >= 1 || rest then Mode::REQUEST
             else Mode::NONE
             end
      h = Handler.new(name: name, kind: kind, block: block, mode: mode, kwargs: kwargs, entry: entry,
                      method: method, path: path)
      @handlers << h
      @by_name[name] = h
      h
    end

    def hook_entry(phase, name, config, block, default_name)
      raise ArgumentError, "spikard: unknown hook phase #{phase}" unless HOOK_PHASES.include?(phase.to_sym)

      hname = "hook #{default_name}"
      h = add_handler(hname, :hook, block)
      e = { 'name' => (name || default_name).to_s, 'handler' => hname }
      e['config'] = stringify(config) unless config.nil?
      [e, h]
    end

    def route_hooks(route, hooks)
      lh = {}
      hooks.each do |phase, blocks|
        Array(blocks).each_with_index do |b, i|
          e, = hook_entry(phase.to_sym, nil, nil, b, "#{route.name} #{phase}:#{i}")
          (lh[phase.to_s] ||= []) << e
        end
      end
      mw = route.entry['middleware'] = stringify(route.entry['middleware'] || {})
      mw['lifecycle_hooks'] = lh
      route.instance_variable_set(:@route_hooks, lh)
    end

    # The app-wide lifecycle_hooks: a document's, then the declared ones.
    def app_hooks_document(given)
      out = stringify(given || {})
      @hooks.each do |phase, list|
        list.each do |e, h|
          e = e.merge(hook_dependencies_for(h))
          (out[phase.to_s] ||= []) << e
        end
      end
      route_hook_deps
      out.empty? ? nil : out
    end

    # Route-level hooks get their dependencies from their keywords too.
    def route_hook_deps
      @routes.each do |r|
        lh = r.entry.dig('middleware', 'lifecycle_hooks') || next
        lh.each_value do |list|
          list.each do |e|
            h = @by_name[e['handler']]
            e.merge!(hook_dependencies_for(h)) if h
          end
        end
      end
    end

    def hook_dependencies_for(h)
      keys = known_keywords(h, @dependencies.keys)
      keys.empty? ? {} : { 'dependencies' => keys }
    end

    # handler_dependencies: the keyword arguments of the block that name a
    # provided dependency (app-wide or the route's).
    def handler_dependencies_for(h)
      keys = known_keywords(h, @dependencies.keys + (h.entry['dependencies'] || {}).keys)
      keys.empty? ? {} : { 'handler_dependencies' => keys }
    end

    def known_keywords(h, known)
      keys = []
      h.kwargs.each do |name, required|
        if known.include?(name)
          keys << name
        elsif required
          raise ConfigError, "spikard: #{h.name}: the block takes keyword #{name}: but no dependency #{name.inspect} " \
                             "is provided (app.provide(:#{name}, ...))"
        end
      end
      keys
    end

    def deps_with_known_keys
      @dependencies.each_value do |e|
        next unless e['type'] == 'factory'

        h = @by_name[e['factory']]
        missing = h.kwargs.select { |n, req| req && !@dependencies.key?(n) }.map(&:first)
        unless missing.empty?
          raise ConfigError, "spikard: #{h.name}: the block takes keyword #{missing.first}: but no dependency " \
                             "#{missing.first.inspect} is provided"
        end
      end
      @dependencies
    end

    def deps_document(deps)
      deps.to_h do |k, v|
        v = stringify(v) if v.is_a?(Hash)
        [k.to_s, v.is_a?(Hash) && v.key?('type') ? v : { 'type' => 'value', 'value' => value_document(v) }]
      end
    end

    # A value dependency as the document holds it: JSON as it is, any other
    # Ruby object by reference (Server resolves it for the blocks).
    def value_document(value)
      return value if Server.__send__(:json_value?, value)

      @value_objects ||= {}
      id = -(@value_objects.size + 1)
      @value_objects[id] = value
      { Server::OBJECT_KEY => id }
    end

    # Ruby objects of value dependencies, by reference id (negative).
    def value_objects
      @value_objects || {}
    end

    def sse_document(opts)
      return {} if opts == true

      doc = stringify(opts)
      doc['event_schema'] = schema(opts[:event_schema] || opts['event_schema']) if doc.key?('event_schema')
      doc
    end

    def websocket_document(opts)
      doc = stringify(opts == true ? {} : opts)
      doc['message_schema'] = schema(opts[:message_schema] || opts['message_schema']) if doc.key?('message_schema')
      doc
    end

    def schema(s)
      return s.to_json_schema if s.respond_to?(:to_json_schema)

      stringify(s)
    end

    def stringify(v)
      case v
      when Hash then v.each_with_object({}) { |(k, x), h| h[k.to_s] = stringify(x) }
      when Array then v.map { |x| stringify(x) }
      when Symbol then v.to_s
      else v
      end
    end

    def deep_dup(v)
      Marshal.load(Marshal.dump(v))
    end

    def default_logger
      require 'logger'
      l = Logger.new($stderr)
      l.progname = 'spikard'
      l
    end
  end
end
