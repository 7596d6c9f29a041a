# frozen_string_literal: true

# The benchmark app on Sinatra (modular): the same three endpoints, the POST
# body validated by hand to the JSON Schema's rules.
# Run: puma -w 2 -t 5:5 -b tcp://127.0.0.1:PORT bench/sinatra_app.ru
require 'json'
require 'sinatra/base'

class BenchApp < Sinatra::Base
  set :environment, :production
  set :logging, false
  set :show_exceptions, false
  disable :protection # rack-protection's checks cost time the other apps do not spend

  before { content_type :json }

  get('/json') { JSON.generate({ message: 'Hello, World!' }) }

  get(%r{/users/(-?\d+)}) { |id| JSON.generate({ id: id.to_i, name: 'Alice' }) }

  post '/items' do
    item = begin
      JSON.parse(request.body.read)
    rescue JSON::ParserError
      halt 422, JSON.generate({ error: 'malformed JSON' })
    end
    ok = item.is_a?(Hash) && (item.keys - %w[name price tags]).empty? &&
         item['name'].is_a?(String) && !item['name'].empty? && item['name'].size <= 100 &&
         item['price'].is_a?(Numeric) && item['price'] >= 0 &&
         (item['tags'].nil? || (item['tags'].is_a?(Array) && item['tags'].size <= 10 && item['tags'].all?(String)))
    halt 422, JSON.generate({ error: 'invalid item' }) unless ok
    JSON.generate({ id: 1, name: item['name'], price: item['price'] })
  end
end

run BenchApp
