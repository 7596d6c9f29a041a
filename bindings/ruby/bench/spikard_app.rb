# frozen_string_literal: true

# The benchmark app on Spikard: the same three endpoints as rack_app.ru and
# sinatra_app.rb. Run: ruby -I lib bench/spikard_app.rb PORT
require 'spikard'

ITEM = {
  type: 'object',
  required: %w[name price],
  properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, price: { type: 'number', minimum: 0 },
                tags: { type: 'array', items: { type: 'string' }, maxItems: 10 } },
  additionalProperties: false
}.freeze

app = Spikard::App.new
app.get('/json') { { message: 'Hello, World!' } }
app.get('/users/{id:int}') { |req| { id: req.path_params['id'], name: 'Alice' } }
app.post('/items', body: ITEM) do |req|
  item = req.body
  { id: 1, name: item['name'], price: item['price'] }
end
app.run(host: '127.0.0.1', port: Integer(ARGV.fetch(0, 8000)))
