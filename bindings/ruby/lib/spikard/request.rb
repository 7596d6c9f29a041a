# frozen_string_literal: true

require 'json'
require 'uri'

module Spikard
  # What a handler receives: the request as libspikard validated it.
  #
  # path_params, query, headers, cookies and body are the validated, coerced
  # values of the route's declarations (an integer parameter is an Integer,
  # a defaulted one is there with its default). Members a route does not
  # declare are read from the raw request, as Strings: all headers (names in
  # lower case), all cookies, every query parameter when the route declares
  # no query. Keys are Strings.
  #
  # A Request is valid while its handler runs: it reads the request from the
  # library's memory, which is released when the answer is sent. Keep the
  # values, not the Request.
  class Request
    EMPTY = {}.freeze
    private_constant :EMPTY

    # @api private
    def initialize(view, base, handler, server)
      @view = view # the batch buffer; this request's view starts at base
      @base = base
      @route = handler
      @server = server
      @open = true
      @changes = nil
    end

    # The route's handler name (the configuration document's).
    def handler_name
      @route.name
    end

    # The route's path pattern as declared ("/users/:id").
    def route_path
      @route.path
    end

    # "GET", "POST", ... (Rack's name: #method stays Object#method).
    def request_method
      @request_method ||= raw(Native::OFF_METHOD)
    end

    # The path, percent-decoded and normalised.
    def path
      @path ||= raw(Native::OFF_PATH).force_encoding(Encoding::UTF_8)
    end

    # The query string without '?', as received.
    def raw_query
      @raw_query ||= raw(Native::OFF_QUERY)
    end

    # The client's X-Request-ID, or the one the server generated.
    def request_id
      @request_id ||= raw(Native::OFF_REQUEST_ID)
    end

    # The body as received (binary String).
    def raw_body
      @raw_body ||= raw(Native::OFF_BODY)
    end

    # The header block as received ("Name: value" lines, CRLF separated).
    def raw_headers
      @raw_headers ||= raw(Native::OFF_HEADERS)
    end

    # The validated values as JSON text, as the core hands them over.
    def values_json
      @values_json ||= raw(Native::OFF_VALUES).force_encoding(Encoding::UTF_8)
    end

    # The validated values document: {"path"=>..., "query"=>..., "headers"=>...,
    # "cookies"=>..., "body"=>..., "dependencies"=>...}.
    def values
      @values ||= JSON.parse(values_json)
    end

    # Path parameters, coerced to their declared (or {id:int}) types.
    def path_params
      @path_params ||= values['path'] || EMPTY
    end

    # Query parameters: the validated ones when the route declares any,
    # else every parameter of the query string (Strings; a repeated name
    # gives an Array).
    def query
      @query ||= values['query'] || parse_query
    end

    # Every request header (lower-case names), with the declared ones
    # replaced by their validated values under their declared names.
    def headers
      @headers ||= begin
        h = {}
        raw_headers.split("\r\n").each do |line|
          name, value = line.split(':', 2)
          next unless value

          key = name.downcase
          h[key] = h.key?(key) ? "#{h[key]}, #{value.strip}" : value.strip
        end
        declared = values['headers']
        declared ? h.merge!(declared) : h
      end
    end

    # Every cookie, with the declared ones replaced by their validated values.
    def cookies
      @cookies ||= begin
        c = {}
        (headers['cookie'] || '').split(/;\s*/).each do |pair|
          k, v = pair.split('=', 2)
          c[k] = v || '' if k && !k.empty?
        end
        declared = values['cookies']
        declared ? c.merge!(declared) : c
      end
    end

    # The body: validated and decoded (JSON, form, multipart) when the core
    # decoded it, else the raw body (nil when empty).
    def body
      return @body if defined?(@body)

      v = values
      @body = if v.key?('body') then v['body']
              elsif raw_body.empty? then nil
              else raw_body
              end
    end
    alias json body

    # The dependencies resolved for this invocation (what its keyword
    # arguments name), as Ruby values.
    def dependencies
      @dependencies ||= begin
        d = values['dependencies']
        d ? d.transform_values { |v| @server.__send__(:resolve_object, v) } : EMPTY
      end
    end

    # Why the library called this block: nil for a route's handler, else
    # {"kind" => "hook" | "factory" | "cleanup", "phase", "name", "handler",
    # "config", "response" (on_response, on_error), "error" (on_error), ...}.
    def call
      values['call']
    end

    # The client's Last-Event-ID header (an event stream's reconnection),
    # nil when absent.
    def last_event_id
      headers['last-event-id']
    end

    # The request state hooks stored (set_state), for later hooks and the
    # handler.
    def state
      values['state'] || EMPTY
    end

    # In on_response and on_error hooks: the answer so far, as a
    # Spikard::Response with its status and headers (not its body). Change
    # them to change the answer; return another Response to replace it.
    def response
      @response ||= begin
        r = (call || EMPTY)['response'] || EMPTY
        Response.new(status: r['status'] || 200, headers: r['headers'] || EMPTY).tap { |x| x.content = nil }
      end
    end

    # In on_error hooks: the problem document the core answered (a Hash).
    def error
      (call || EMPTY)['error']
    end

    # Sets a response header (hooks; handlers: added to their answer).
    def set_header(name, value)
      ((changes['headers'] ||= {})[name.to_s] = value.to_s)
      self
    end

    # Changes a request header for what runs later (a pre_validation hook's
    # change is what header parameters are validated from).
    def set_request_header(name, value)
      ((changes['request_headers'] ||= {})[name.to_s] = value.to_s)
      self
    end

    # Stores request state for later hooks and the handler (req.state).
    def set_state(key, value)
      ((changes['state'] ||= {})[key.to_s] = value)
      self
    end

    # Sets the response status (hooks).
    def set_status(status)
      changes['status'] = Integer(status)
      self
    end

    # The original Spikard's hash access: req[:path_params], req[:query],
    # req[:headers], req[:cookies], req[:body], req[:method], req[:path].
    def [](key)
      case key.to_sym
      when :path_params then path_params
      when :query then query
      when :headers then headers
      when :cookies then cookies
      when :body then body
      when :method then request_method
      when :path then path
      when :raw_query then raw_query
      when :params then params
      end
    end

    # Path, query, header and cookie values merged (path wins).
    def params
      cookies.merge(headers).merge(query).merge(path_params)
    end

    def inspect
      "#<Spikard::Request #{@open ? "#{request_method} #{path}" : '(answered)'}>"
    end

    private

    # The library released this request's memory (Server calls it). A
    # detached Request stays readable.
    def close!
      @open = false unless @detached
    end

    # Copies what the Request reads from the library's memory into Ruby
    # strings, so that it stays readable after the request is answered: a
    # stream's producer and a WebSocket's callbacks run after that.
    def detach!
      return self if @detached

      request_method
      path
      raw_query
      request_id
      raw_body
      raw_headers
      values_json
      @view = nil
      @detached = true
      self
    end

    def changes
      @changes ||= {}
    end

    # The Response #response made, if it was asked for.
    def response_if_any
      @response
    end

    # What this invocation asks for when it does not answer: the changes it
    # made (spikard_continue), nil for none.
    def continue_changes
      ch = @changes
      if @response # on_response/on_error hooks: what they changed in req.response
        r = (call || EMPTY)['response'] || EMPTY
        ch ||= {}
        ch['status'] = @response.status if @response.status != (r['status'] || 200)
        before = r['headers'] || EMPTY
        @response.headers.each do |k, v|
          (ch['headers'] ||= {})[k] = v unless before[k] == v
        end
      end
      ch.nil? || ch.empty? ? nil : ch
    end

    # Response headers a handler set with set_header, as a header block.
    def extra_headers
      h = @changes && @changes['headers']
      return nil unless h

      h.map { |k, v| "#{k}: #{v}\n" }.join
    end

    def raw(off)
      raise Error, 'spikard: the request was answered: its data is released (keep values, not the Request)' unless @open

      len = @view.get_uint64(@base + off + 8)
      return +'' if len.zero?

      @view.get_pointer(@base + off).get_bytes(0, len)
    end

    def parse_query
      q = raw_query
      return EMPTY if q.empty?

      out = {}
      URI.decode_www_form(q).each do |k, v|
        out[k] = out.key?(k) ? [*out[k], v] : v
      end
      out
    rescue ArgumentError
      EMPTY
    end
  end
end
