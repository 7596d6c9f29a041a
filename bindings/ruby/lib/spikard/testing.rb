# frozen_string_literal: true

require 'json'
require 'net/http'
require 'uri'

module Spikard
  # Drives an app over a real socket: the app listens on a free port of
  # 127.0.0.1 in this process (dispatch on a background Ruby thread), the
  # client speaks HTTP/1.1 to it with Net::HTTP.
  #
  #   Spikard::Testing.serve(app) do |client|
  #     res = client.get('/users/1', query: { full: true })
  #     assert_equal 200, res.status
  #     assert_equal({ 'id' => 1 }, res.json)
  #   end
  module Testing
    # Starts the app, yields a Client, stops the app (graceful) afterwards.
    def self.serve(app, host: '127.0.0.1')
      server = app.start(host: host, port: 0)
      client = Client.new(server)
      begin
        yield client
      ensure
        client.close
        server.stop
      end
    end

    # One answer.
    class Result
      attr_reader :status, :headers, :body

      def initialize(res)
        @status = res.code.to_i
        @headers = {}
        res.each_header { |k, v| @headers[k] = v }
        @set_cookies = res.get_fields('set-cookie') || []
        @body = res.body || ''
      end

      alias status_code status

      # A header by name (any case).
      def [](name)
        @headers[name.to_s.downcase]
      end

      # The body parsed as JSON.
      def json
        JSON.parse(@body)
      end

      # Every Set-Cookie header value.
      def set_cookies
        @set_cookies
      end

      def inspect
        "#<Spikard::Testing::Result #{@status} #{@body[0, 200].inspect}>"
      end
    end

    # An HTTP/1.1 keep-alive client of one server.
    class Client
      attr_reader :server

      def initialize(server)
        @server = server
        @http = Net::HTTP.new(server.host, server.port)
        @http.read_timeout = 30
        @http.start
      end

      def port
        @server.port
      end

      %w[get head delete options].each do |m|
        define_method(m) { |path, **kw| request(m.upcase, path, **kw) }
      end

      %w[post put patch].each do |m|
        define_method(m) { |path, **kw| request(m.upcase, path, **kw) }
      end

      # query: Hash (repeated keys from Arrays); headers: Hash; json: any
      # JSON value; body: raw String; form: Hash (url-encoded); cookies: Hash.
      def request(method, path, query: nil, headers: {}, json: nil, body: nil, form: nil, cookies: nil)
        path += (path.include?('?') ? '&' : '?') + URI.encode_www_form(query) if query && !query.empty?
        req = Net::HTTPGenericRequest.new(method, !(json.nil? && body.nil? && form.nil?), method != 'HEAD', path)
        headers.each { |k, v| req[k.to_s] = v.to_s }
        req['Cookie'] = cookies.map { |k, v| "#{k}=#{v}" }.join('; ') if cookies
        if !json.nil?
          req.body = JSON.generate(json)
          req['Content-Type'] ||= 'application/json'
        elsif form
          req.body = URI.encode_www_form(form)
          req['Content-Type'] ||= 'application/x-www-form-urlencoded'
        elsif body
          req.body = body
          req['Content-Type'] ||= 'application/octet-stream'
        end
        Result.new(@http.request(req))
      end

      def close
        @http.finish if @http.started?
      end
    end
  end
end
