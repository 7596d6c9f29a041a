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

      def initialize(res, body = nil)
        @status = res.code.to_i
        @headers = {}
        res.each_header { |k, v| @headers[k] = v }
        @set_cookies = res.get_fields('set-cookie') || []
        @body = body || res.body || ''
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

      # GET of a streamed answer: yields each piece of the body as it
      # arrives (break out of the block to leave early), returns the Result
      # with the whole body read.
      def stream(path, headers: {})
        req = Net::HTTP::Get.new(path)
        headers.each { |k, v| req[k.to_s] = v.to_s }
        body = +''
        result = nil
        @http.request(req) do |res|
          res.read_body do |piece|
            body << piece
            yield piece if block_given?
          end
          result = Result.new(res, body)
        end
        result
      end

      # GET of an event stream, read to its end: [Result, events], the events
      # parsed as a browser does (Spikard::Event, data as text).
      def events(path, headers: {})
        res = stream(path, headers: { 'Accept' => 'text/event-stream' }.merge(headers))
        [res, Testing.parse_events(res.body)]
      end

      # Opens a WebSocket (RFC 6455) to the server; with a block, yields it
      # and closes it afterwards.
      def websocket(path, headers: {}, &block)
        WebSocketClient.open(@server.host, @server.port, path, headers: headers, &block)
      end

      def close
        @http.finish if @http.started?
      end
    end

    # Server-Sent Events in an event-stream text, parsed as a browser does
    # (CRLF, LF or CR line ends; data lines joined with LF; events without
    # data are not dispatched; the last id carries over).
    def self.parse_events(text)
      events = []
      data = nil
      event = nil
      retry_ms = nil
      last_id = nil
      text.split(/\r\n|\r|\n/, -1).each do |line|
        if line.empty?
          events << Event.new(data: data.join("\n"), event: event, id: last_id, retry: retry_ms) if data
          data = event = nil
          next
        end
        next if line.start_with?(':')

        name, value = line.split(':', 2)
        value = value&.delete_prefix(' ').to_s
        case name
        when 'data' then (data ||= []) << value
        when 'event' then event = value
        when 'id' then last_id = value
        when 'retry' then retry_ms = Integer(value, exception: false) || retry_ms
        end
      end
      events
    end

    # A small RFC 6455 client for tests: masked frames, fragments joined,
    # pings answered.
    class WebSocketClient
      GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

      # The handshake's answer headers (lower-case names).
      attr_reader :headers
      # The close frame's code and reason once the server closed (or answered
      # our close); nil before.
      attr_reader :close_code, :close_reason

      def self.open(host, port, path, headers: {})
        ws = new(host, port, path, headers)
        return ws unless block_given?

        begin
          yield ws
        ensure
          ws.close unless ws.closed?
          ws.disconnect
        end
      end

      def initialize(host, port, path, headers)
        require 'digest/sha1'
        require 'io/wait'
        require 'securerandom'
        require 'socket'
        @sock = TCPSocket.new(host, port)
        @buf = ''.b
        @close_code = nil
        @close_reason = nil
        key = [SecureRandom.random_bytes(16)].pack('m0')
        extra = headers.map { |k, v| "#{k}: #{v}\r\n" }.join
        @sock.write("GET #{path} HTTP/1.1\r\nHost: #{host}:#{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
                    "Sec-WebSocket-Key: #{key}\r\nSec-WebSocket-Version: 13\r\n#{extra}\r\n")
        fill(@buf.bytesize + 1, 10) until (i = @buf.index("\r\n\r\n"))
        lines = @buf.slice!(0, i + 4).split("\r\n")
        status = lines.shift.to_s.split(' ')[1].to_i
        @headers = lines.to_h { |l| k, v = l.split(':', 2); [k.downcase, v.to_s.strip] }
        accept = [Digest::SHA1.digest(key + GUID)].pack('m0')
        return if status == 101 && @headers['sec-websocket-accept'] == accept

        @sock.close
        raise Error, "spikard: the WebSocket handshake was answered #{status} #{@headers.inspect}"
      end

      def send_text(text)
        frame(1, text.to_s.encode(Encoding::UTF_8).b)
      end

      def send_binary(data)
        frame(2, data.to_s.b)
      end

      def send_json(value)
        send_text(JSON.generate(value))
      end

      # The next data message (a Spikard::WebSocket::Message), or nil when
      # the server closed the connection (see close_code). Raises when
      # nothing comes within `timeout` seconds.
      def receive(timeout: 10)
        parts = nil
        type = nil
        loop do
          fin, opcode, payload = read_frame(timeout)
          case opcode
          when 0x9 then frame(0xA, payload)
          when 0xA then next
          when 0x8
            closed_by_server(payload)
            return nil
          else
            type = opcode unless opcode.zero?
            (parts ||= ''.b) << payload
            return WebSocket::Message.new(parts, binary: type == 2) if fin
          end
        end
      end

      # The next message parsed as JSON.
      def receive_json(timeout: 10)
        m = receive(timeout: timeout)
        m && m.json
      end

      # Sends a close frame and waits for the server's; returns its code.
      def close(code = 1000, reason = '', timeout: 10)
        frame(0x8, [code].pack('n') + reason.to_s.b) unless @sent_close
        @sent_close = true
        receive(timeout: timeout) until closed?
        @close_code
      end

      def closed?
        !@close_code.nil?
      end

      # Drops the TCP connection (no close frame).
      def disconnect
        @sock.close unless @sock.closed?
      end

      private

      def closed_by_server(payload)
        @close_code = payload.bytesize >= 2 ? payload.unpack1('n') : 1005
        @close_reason = payload.byteslice(2..).to_s.force_encoding(Encoding::UTF_8)
        frame(0x8, payload) unless @sent_close # echoes the code and reason
        @sent_close = true
      end

      def frame(opcode, payload)
        len = payload.bytesize
        head = [0x80 | opcode].pack('C')
        head << if len < 126 then [0x80 | len].pack('C')
                elsif len < 65_536 then [0x80 | 126, len].pack('Cn')
                else [0x80 | 127, len].pack('CQ>')
                end
        mask = SecureRandom.random_bytes(4)
        m = mask.bytes
        masked = payload.bytes.each_with_index.map { |b, i| b ^ m[i % 4] }.pack('C*')
        @sock.write(head + mask + masked)
        self
      end

      def read_frame(timeout)
        fill(2, timeout)
        b0, b1 = @buf.unpack('CC')
        len = b1 & 0x7f
        off = 2
        if len == 126
          fill(4, timeout)
          len = @buf.byteslice(2, 2).unpack1('n')
          off = 4
        elsif len == 127
          fill(10, timeout)
          len = @buf.byteslice(2, 8).unpack1('Q>')
          off = 10
        end
        fill(off + len, timeout)
        @buf.slice!(0, off)
        [b0 & 0x80 != 0, b0 & 0x0f, @buf.slice!(0, len)]
      end

      # Reads until the buffer holds n bytes.
      def fill(n, timeout)
        while @buf.bytesize < n
          raise Error, "spikard: nothing came from the WebSocket within #{timeout}s" unless @sock.wait_readable(timeout)

          @buf << @sock.readpartial(65_536)
        end
      end
    end
  end
end
