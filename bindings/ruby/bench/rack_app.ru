# frozen_string_literal: true

# The benchmark app as a plain Rack app (no framework): the same three
# endpoints, the POST body validated by hand to the same rules as the JSON
# Schema of spikard_app.rb. Run: puma -w 2 -t 5:5 -b tcp://127.0.0.1:PORT bench/rack_app.ru
require 'json'

JSON_HEADERS = { 'content-type' => 'application/json' }.freeze
HELLO = { message: 'Hello, World!' }.freeze
USER = %r{\A/users/(-?\d+)\z}.freeze

def bad(msg)
  [422, JSON_HEADERS.dup, [JSON.generate({ error: msg })]]
end

def valid_item?(item)
  return false unless item.is_a?(Hash) && (item.keys - %w[name price tags]).empty?

  name = item['name']
  price = item['price']
  tags = item['tags']
  name.is_a?(String) && !name.empty? && name.size <= 100 && price.is_a?(Numeric) && price >= 0 &&
    (tags.nil? || (tags.is_a?(Array) && tags.size <= 10 && tags.all?(String)))
end

run(lambda do |env|
  path = env['PATH_INFO']
  case env['REQUEST_METHOD']
  when 'GET'
    if path == '/json'
      [200, JSON_HEADERS.dup, [JSON.generate(HELLO)]]
    elsif (m = USER.match(path))
      [200, JSON_HEADERS.dup, [JSON.generate({ id: m[1].to_i, name: 'Alice' })]]
    else
      [404, {}, []]
    end
  when 'POST'
    return [404, {}, []] unless path == '/items'

    item = begin
      JSON.parse(env['rack.input'].read)
    rescue JSON::ParserError
      return bad('malformed JSON')
    end
    return bad('invalid item') unless valid_item?(item)

    [200, JSON_HEADERS.dup, [JSON.generate({ id: 1, name: item['name'], price: item['price'] })]]
  else
    [405, {}, []]
  end
end)
