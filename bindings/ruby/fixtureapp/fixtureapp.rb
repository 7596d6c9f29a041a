# frozen_string_literal: true

# The Ruby binding's conformance fixture app (cmd/conformance/PROTOCOL.md):
# reads one JSON line per scenario on stdin, serves it with the public API
# (Spikard::App.from_config + #handle + #start) on a free port of
# 127.0.0.1, answers on stdout.
#
#   in:  {"app": <configuration document>, "handlers": {"h0": {...}}}
#   out: {"port": N}            or {"error": "..."}
#   in:  {"stop": true}
#   out: {"stopped": true}
#   EOF: stop and exit.
#
# Logs go to stderr; stdout carries protocol lines only.

# --lib PATH: the libspikard to load (else SPIKARD_LIB, else the gem's).
if (i = ARGV.index('--lib'))
  ENV['SPIKARD_LIB'] = ARGV[i + 1]
  ARGV.slice!(i, 2)
end

require 'json'
require 'securerandom'
require 'spikard'

$stdout.sync = true

module FixtureApp
  # The raised exception of "raise": the core answers its 500 problem.
  class Raised < StandardError; end

  # State lists of the running app (background work), read by "state"
  # handlers.
  class States
    def initialize
      @mutex = Mutex.new
      @lists = Hash.new { |h, k| h[k] = [] }
    end

    def add(name, value)
      @mutex.synchronize { @lists[name] << value }
    end

    def get(name)
      @mutex.synchronize { @lists[name].dup }
    end
  end

  module_function

  # A JSON pointer (RFC 6901) in a decoded document: [found, value].
  def pointer(doc, ptr)
    return [true, doc] if ptr.empty?
    return [false, nil] unless ptr.start_with?('/')

    ptr[1..].split('/', -1).each do |tok|
      tok = tok.gsub('~1', '/').gsub('~0', '~')
      case doc
      when Hash
        return [false, nil] unless doc.key?(tok)

        doc = doc[tok]
      when Array
        return [false, nil] unless tok.match?(/\A\d+\z/) && tok.to_i < doc.size

        doc = doc[tok.to_i]
      else
        return [false, nil]
      end
    end
    [true, doc]
  end

  def fetch(values, ptr, what)
    found, v = pointer(values, ptr)
    raise "fixtureapp: #{what}: no #{ptr} in the values document" unless found

    v
  end

  # The handler block for one spec: everything that does not depend on the
  # request is prepared here.
  def handler(spec, states)
    status = spec['status'] || 200
    headers = spec['headers'] || {}
    cookies = spec['set_cookies'] || []
    ctype = spec['content_type'].to_s
    body = spec['body']
    body_raw = spec['body_raw']
    sleep_s = spec['sleep_ms'].to_i / 1000.0
    require_ptrs = spec['require'] || []
    records = spec['record'] || []
    headers_from = spec['headers_from'] || {}
    fill = spec['fill'] || {}
    bg = spec['background']
    need_values = !(require_ptrs.empty? && headers_from.empty? && fill.empty? && bg.nil?)

    cleanup_records = spec['cleanup_record'] || []
    stream = spec['stream'] && chunks(spec['stream'])
    sse = spec['sse']

    lambda do |req|
      sleep(sleep_s) if sleep_s.positive?
      call = req.call
      if call && call['kind'] == 'cleanup'
        cleanup_records.each { |r| states.add(r['state'], r['value']) }
        next nil
      end
      values = need_values ? req.values : nil
      require_ptrs.each { |p| fetch(values, p, 'require') }
      records.each { |r| states.add(r['state'], r.key?('value') ? r['value'] : (call ? call['name'] : req.handler_name)) }
      raise Raised, 'fixtureapp: the handler raised, as the scenario asks' if spec['raise']

      from = headers_from.to_h do |k, p|
        v = fetch(values, p, "headers_from #{k}")
        [k, v.is_a?(String) ? v : JSON.generate(v)]
      end
      if bg
        v = fetch(values, bg['from'], 'background')
        Spikard::Background.run { states.add(bg['state'], v) }
      end
      if spec['continue']
        headers.merge(from).each { |k, v| req.set_header(k, v) }
        cookies.each { |c| req.set_header('Set-Cookie', c) }
        next nil
      end

      res = if stream
              Spikard::StreamingResponse.new(stream, status: status, content_type: ctype.empty? ? nil : ctype)
            elsif sse
              events(sse, req)
            else
              Spikard::Response.new(status: status)
            end
      headers.merge(from).each { |k, v| res.headers[k] = v }
      cookies.each { |c| res.cookies << c }
      if stream || sse
        # streamed
      elsif spec['state']
        res.content = { spec['state'] => states.get(spec['state']) }
      elsif spec['generate'] == 'uuid'
        res.content = SecureRandom.uuid
        res.content_type = 'application/json'
        res.content = JSON.generate(res.content)
      elsif spec['generate']
        raise "fixtureapp: unknown generate #{spec['generate'].inspect}"
      elsif spec['echo']
        res.content = req.values_json
        res.content_type = 'application/json'
      elsif !body_raw.nil?
        res.content = body_raw
        res.content_type = ctype unless ctype.empty?
      elsif !body.nil?
        doc = body
        unless fill.empty?
          doc = Marshal.load(Marshal.dump(body))
          fill.each do |target, source|
            v = fetch(values, source, "fill #{target}")
            if target.empty?
              doc = v
              next
            end
            i = target.rindex('/')
            found, parent = pointer(doc, target[0...i])
            raise "fixtureapp: fill #{target}: the body has no object there" unless found && parent.is_a?(Hash)

            parent[target[(i + 1)..].gsub('~1', '/').gsub('~0', '~')] = v
          end
        end
        res.content = JSON.generate(doc)
        res.content_type = ctype.empty? ? 'application/json' : ctype
      else
        res.content_type = ctype unless ctype.empty?
      end
      res
    end
  end

  # A "stream" member: its chunks, each after delay_ms.
  def chunks(spec)
    list = (spec['chunks'] || []).map { |b64| b64.unpack1('m0') }
    delay = spec['delay_ms'].to_i / 1000.0
    Enumerator.new do |out|
      list.each do |chunk|
        sleep(delay) if delay.positive?
        out << chunk
      end
    end
  end

  # An "sse" member: the events in order (each after delay_ms); one the
  # route's event schema rejects is skipped; with resume, those whose id is
  # a number not above the client's Last-Event-ID are skipped too.
  def events(spec, req)
    last = req.last_event_id
    last = spec['resume'] && last&.match?(/\A-?\d+\z/) ? last.to_i : nil
    delay = spec['delay_ms'].to_i / 1000.0
    Spikard::EventStream.new do |events|
      (spec['events'] || []).each do |e|
        next if last && e['id'].to_s.match?(/\A-?\d+\z/) && e['id'].to_i <= last

        sleep(delay) if delay.positive?
        begin
          events << Spikard::Event.new(data: e['data'], event: e['event'], id: e['id'], retry: e['retry_ms'],
                                       comment: e['comment'])
        rescue Spikard::InvalidEventError => err
          warn "fixtureapp: skipped an event: #{err.message}"
        end
      end
    end
  end

  # A "websocket" member: greet on connect, close on close_on.text, echo.
  def websocket(spec)
    close_on = spec['close_on']
    lambda do |ws|
      ws.on_open { ws.send_json(spec['greeting']) } if spec.key?('greeting')
      ws.on_message do |msg|
        if close_on && msg.text? && msg == close_on['text']
          ws.close(close_on['code'], close_on['reason'].to_s)
        elsif spec['echo']
          msg.binary? ? ws.send_binary(msg) : ws.send_text(msg)
        end
      end
    end
  end

  def start(msg)
    app = Spikard::App.from_config(msg['app'])
    states = States.new
    (msg['handlers'] || {}).each do |name, spec|
      if spec['websocket']
        app.handle_websocket(name, &websocket(spec['websocket']))
      else
        app.handle(name, &handler(spec, states))
      end
    end
    app.start(host: '127.0.0.1', port: 0)
  end

  def main
    current = nil
    stop = lambda do
      current&.stop(grace: 5)
      current = nil
    end
    $stdin.each_line do |line|
      line = line.strip
      next if line.empty?

      reply = begin
        msg = JSON.parse(line)
        if msg['stop']
          stop.call
          { stopped: true }
        elsif msg.key?('app')
          stop.call
          current = start(msg)
          { port: current.port }
        else
          { error: 'unknown message: want {"app":...} or {"stop":true}' }
        end
      rescue StandardError => e
        warn "fixtureapp: #{e.class}: #{e.message}"
        { error: e.message }
      end
      $stdout.write(JSON.generate(reply), "\n")
    end
    stop.call
  end
end

FixtureApp.main if $PROGRAM_NAME == __FILE__
