# frozen_string_literal: true

require 'json'

module Spikard
  # A full answer: status, headers, cookies and content.
  #
  #   Spikard::Response.new({ id: 1 }, status: 201, headers: { 'X-Id' => '1' })
  #   Spikard::Response.new('hi', content_type: 'text/plain')
  #   Spikard::Response.new(status: 204)
  #
  # content: a Hash/Array (or any JSON value) is sent as JSON; a String is
  # sent as it is (text/plain; charset=utf-8 unless content_type or a
  # Content-Type header says otherwise); nil sends no body.
  class Response
    attr_accessor :content, :status, :content_type
    attr_reader :headers, :cookies

    # Accepts the original Spikard's names too: content:, status_code:.
    def initialize(content = nil, status: nil, status_code: nil, headers: nil, content_type: nil, cookies: nil,
                   **legacy)
      unless legacy.empty? || legacy.keys == [:content]
        raise ArgumentError, "unknown keyword(s): #{(legacy.keys - [:content]).join(', ')}"
      end

      @content = legacy.key?(:content) ? legacy[:content] : content
      @status = Integer(status || status_code || 200)
      @headers = {}
      headers&.each { |k, v| @headers[k.to_s] = v.to_s }
      @content_type = content_type
      @cookies = []
      cookies&.each { |name, value| set_cookie(name, value) }
    end

    alias status_code status
    alias status_code= status=

    # Adds a Set-Cookie header. Attributes: max_age:, expires: (Time),
    # path:, domain:, secure:, http_only:, same_site: ('Strict', 'Lax', 'None').
    def set_cookie(name, value, max_age: nil, expires: nil, path: nil, domain: nil, secure: false,
                   http_only: false, same_site: nil)
      c = +"#{name}=#{value}"
      c << "; Max-Age=#{Integer(max_age)}" unless max_age.nil?
      c << "; Expires=#{expires.getutc.strftime('%a, %d %b %Y %H:%M:%S GMT')}" if expires
      c << "; Path=#{path}" if path
      c << "; Domain=#{domain}" if domain
      c << '; Secure' if secure
      c << '; HttpOnly' if http_only
      c << "; SameSite=#{same_site}" if same_site
      @cookies << c
      self
    end

    # Removes a cookie on the client (an expired Set-Cookie).
    def delete_cookie(name, path: '/', domain: nil)
      set_cookie(name, '', max_age: 0, path: path, domain: domain)
    end

    private

    # [status, header block, body] as libspikard takes them (Server calls it).
    def render(server = nil)
      body, type = Response.__send__(:encode, @content, server)
      [@status, header_block(@content_type || type), body]
    end

    # The headers, the content type `ct` unless a header names one, and the
    # cookies, as a header block.
    def header_block(ct)
      block = +''
      has_ct = false
      @headers.each do |k, v|
        k = k.to_s
        v = v.to_s
        raise ArgumentError, "spikard: header #{k.inspect}: a line break in a header name or value" if k.match?(/[\r\n:]/) || v.match?(/[\r\n]/)

        has_ct ||= k.casecmp?('content-type')
        block << k << ': ' << v << "\n"
      end
      block << 'Content-Type: ' << ct << "\n" if ct && !has_ct
      @cookies.each do |c|
        raise ArgumentError, 'spikard: Set-Cookie: a line break in a cookie' if c.match?(/[\r\n]/)

        block << 'Set-Cookie: ' << c << "\n"
      end
      block
    end

    TEXT = 'text/plain; charset=utf-8'
    JSON_TYPE = 'application/json'
    private_constant :TEXT, :JSON_TYPE

    # Encodes a handler's content: [body, default content type].
    def self.encode(content, server = nil)
      case content
      when nil then ['', nil]
      when String then [content, TEXT]
      else [server ? server.__send__(:dump, content) : JSON.generate(content), JSON_TYPE]
      end
    end
    private_class_method :encode
  end
end
