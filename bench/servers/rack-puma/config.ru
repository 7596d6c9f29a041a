# frozen_string_literal: true

# The benchmark routes as a plain Rack app on Puma (no framework): routing by
# regular expressions, parameters converted and the validated variants
# checked by hand (../ruby-common/checks.rb), to the constraints of the
# workload table.
require 'json'
require 'rack'
require_relative '../ruby-common/checks'

JSON_HEADERS = { 'content-type' => 'application/json' }.freeze

def ok(obj) = [200, JSON_HEADERS.dup, [JSON.generate(obj)]]
def invalid = [422, JSON_HEADERS.dup, ['{"detail":"invalid input"}']]

PATHS = [
  ['path-simple', %r{\A/path/simple/([^/]+)\z}], ['path-int', %r{\A/path/int/([^/]+)\z}],
  ['path-uuid', %r{\A/path/uuid/([^/]+)\z}], ['path-date', %r{\A/path/date/([^/]+)\z}],
  ['path-deep', %r{\A/path/deep/([^/]+)/([^/]+)/([^/]+)/([^/]+)/([^/]+)\z}],
  ['path-multiple', %r{\A/path/multiple/([^/]+)/([^/]+)/([^/]+)\z}]
].freeze
QUERIES = { '/query/few' => 'query-few', '/query/medium' => 'query-medium', '/query/many' => 'query-many' }.freeze
FORMS = { '/urlencoded/simple' => 'urlencoded-simple', '/urlencoded/complex' => 'urlencoded-complex' }.freeze

def upload(req, validated)
  form = req.POST
  v = BenchChecks.upload_answer(form['title'], form['file'], validated)
  v ? ok(v) : invalid
end

def answer(fields, params, validated)
  v = BenchChecks.convert(fields, params, validated)
  v ? ok(v) : invalid
end

run(lambda do |env|
  path = env['PATH_INFO']
  validated = path.start_with?('/v/')
  path = path.delete_prefix('/v') if validated
  if env['REQUEST_METHOD'] == 'GET'
    if (id = QUERIES[path])
      return answer(BenchChecks::FIELDS[id], Rack::Utils.parse_query(env['QUERY_STRING']), validated)
    end

    PATHS.each do |pid, rx|
      next unless (m = rx.match(path))

      fields = BenchChecks::FIELDS[pid]
      params = fields.each_with_index.to_h { |(name, *), i| [name, Rack::Utils.unescape_path(m[i + 1])] }
      return answer(fields, params, validated)
    end
  elsif env['REQUEST_METHOD'] == 'POST'
    case path
    when '/json'
      body = begin
        JSON.parse(env['rack.input'].read)
      rescue JSON::ParserError
        return [400, JSON_HEADERS.dup, ['{"detail":"invalid JSON"}']]
      end
      return validated && !BenchChecks.order_ok?(body) ? invalid : ok(body)
    when '/multipart'
      return upload(Rack::Request.new(env), validated)
    else
      if (id = FORMS[path])
        return [415, JSON_HEADERS.dup, ['{}']] unless env['CONTENT_TYPE'].to_s.start_with?('application/x-www-form-urlencoded')

        return answer(BenchChecks::FIELDS[id], Rack::Utils.parse_query(env['rack.input'].read), validated)
      end
    end
  end
  [404, JSON_HEADERS.dup, ['{"detail":"not found"}']]
end)
