# frozen_string_literal: true

require_relative 'test_helper'

class RoutesTest < Minitest::Test
  ITEM = {
    type: 'object',
    required: %w[name price],
    properties: { name: { type: 'string', minLength: 1 }, price: { type: 'number', minimum: 0 },
                  tags: { type: 'array', items: { type: 'string' } } },
    additionalProperties: false
  }.freeze

  def app
    app = Spikard::App.new
    app.get('/hello') { { message: 'Hello, World!' } }
    app.get('/users/:id', path_params: { id: { type: 'integer' } }) do |req|
      { id: req.path_params['id'], class: req.path_params['id'].class.name }
    end
    app.get('/typed/{id:int}') { |req| { id: req.path_params['id'] } }
    app.get('/search', query: { q: { type: 'string' }, limit: { type: 'integer', default: 10 },
                                tags: { type: 'array', items: { type: 'string' }, optional: true } }) do |req|
      req.query
    end
    app.get('/raw-query') { |req| { query: req.query, raw: req.raw_query } }
    app.get('/headers', headers: { 'X-Api-Key' => { type: 'string' }, 'X-Count' => { type: 'integer', optional: true } }) do |req|
      { key: req.headers['X-Api-Key'], count: req.headers['X-Count'], agent: req.headers['user-agent'] }
    end
    app.get('/cookies', cookies: { session: { type: 'string', minLength: 3 } }) do |req|
      { session: req.cookies['session'], other: req.cookies['other'] }
    end
    app.post('/items', body: ITEM, response: { type: 'object', required: ['id'] }) do |req|
      Spikard::Response.new({ id: 1, item: req.body }, status: 201, headers: { 'Location' => '/items/1' })
    end
    app.post('/raw') { |req| { raw: req.raw_body, body: req.body, type: req.headers['content-type'] } }
    app.post('/form', body: { type: 'object', properties: { n: { type: 'integer' } } }) { |req| req.body }
    app.put('/put/:id') { |req| { method: req.request_method, path: req.path, id: req.path_params['id'] } }
    app.delete('/items/:id') { Spikard::Response.new(status: 204) }
    app.get('/text') { 'plain text' }
    app.get('/array') { [1, 2, 3] }
    app.get('/nothing') { nil }
    app.get('/number') { 42 }
    app.get('/html') { Spikard::Response.new('<p>hi</p>', content_type: 'text/html') }
    app.get('/cookie-set') do
      Spikard::Response.new({ ok: true }).set_cookie('sid', 'abc', max_age: 60, path: '/', http_only: true, same_site: 'Lax')
    end
    app.get('/breach', response: { type: 'object', required: ['id'] }) { { name: 'no id' } }
    app.get('/legacy/:id') { |params, query, body| { params: params, query: query, body: body } }
    app.get('/hash-access/:id') { |req| { id: req[:path_params]['id'], method: req[:method], q: req[:query] } }
    app.get('/request-id') { |req| { id: req.request_id, handler: req.handler_name } }
    app
  end

  def test_json_answers_and_framework_errors
    Spikard::Testing.serve(app) do |c|
      r = c.get('/hello')
      assert_equal 200, r.status
      assert_equal 'application/json', r['content-type']
      assert_equal({ 'message' => 'Hello, World!' }, r.json)
      assert_equal 404, c.get('/nope').status
      assert_equal 405, c.post('/hello', json: {}).status
    end
  end

  def test_path_params_are_coerced
    Spikard::Testing.serve(app) do |c|
      assert_equal({ 'id' => 42, 'class' => 'Integer' }, c.get('/users/42').json)
      assert_equal({ 'id' => 7 }, c.get('/typed/7').json)
      r = c.get('/users/abc')
      assert_equal 422, r.status
      assert_equal 'application/problem+json', r['content-type']
      assert_equal %w[path id], r.json['errors'][0]['loc']
    end
  end

  def test_query_params_defaults_arrays_and_raw
    Spikard::Testing.serve(app) do |c|
      assert_equal({ 'q' => 'ruby', 'limit' => 10 }, c.get('/search?q=ruby').json)
      assert_equal({ 'q' => 'x', 'limit' => 3, 'tags' => %w[a b] }, c.get('/search?q=x&limit=3&tags=a&tags=b').json)
      assert_equal 422, c.get('/search').status
      assert_equal 422, c.get('/search?q=x&limit=many').status
      r = c.get('/raw-query?a=1&b=two&a=3').json
      assert_equal({ 'a' => %w[1 3], 'b' => 'two' }, r['query'])
      assert_equal 'a=1&b=two&a=3', r['raw']
    end
  end

  def test_headers_and_cookies
    Spikard::Testing.serve(app) do |c|
      r = c.get('/headers', headers: { 'X-Api-Key' => 'k1', 'X-Count' => '5', 'User-Agent' => 'minitest' })
      assert_equal({ 'key' => 'k1', 'count' => 5, 'agent' => 'minitest' }, r.json)
      assert_equal 422, c.get('/headers').status
      r = c.get('/cookies', cookies: { session: 'abcdef', other: 'x' })
      assert_equal({ 'session' => 'abcdef', 'other' => 'x' }, r.json)
      assert_equal 422, c.get('/cookies', cookies: { session: 'ab' }).status
    end
  end

  def test_validated_json_body
    Spikard::Testing.serve(app) do |c|
      r = c.post('/items', json: { name: 'pen', price: 1.5, tags: ['office'] })
      assert_equal 201, r.status
      assert_equal '/items/1', r['location']
      assert_equal({ 'id' => 1, 'item' => { 'name' => 'pen', 'price' => 1.5, 'tags' => ['office'] } }, r.json)
      bad = c.post('/items', json: { name: '', price: -1 })
      assert_equal 422, bad.status
      assert_equal [%w[body name], %w[body price]], bad.json['errors'].map { |e| e['loc'] }.sort
      assert_equal 422, c.post('/items', json: { name: 'x', price: 1, extra: true }).status
      assert_equal 400, c.post('/items', body: '{"name": ', headers: { 'Content-Type' => 'application/json' }).status
    end
  end

  def test_other_bodies
    Spikard::Testing.serve(app) do |c|
      r = c.post('/raw', body: 'just text', headers: { 'Content-Type' => 'text/plain' }).json
      assert_equal 'just text', r['raw']
      assert_equal 'text/plain', r['type']
      assert_equal({ 'n' => 5 }, c.post('/form', form: { n: '5' }).json)
    end
  end

  def test_answer_kinds
    Spikard::Testing.serve(app) do |c|
      r = c.get('/text')
      assert_equal ['plain text', 'text/plain; charset=utf-8'], [r.body, r['content-type']]
      assert_equal [1, 2, 3], c.get('/array').json
      r = c.get('/nothing')
      assert_equal [200, '', nil], [r.status, r.body, r['content-type']]
      assert_equal 42, c.get('/number').json
      assert_equal ['<p>hi</p>', 'text/html'], [c.get('/html').body, c.get('/html')['content-type']]
      r = c.delete('/items/3')
      assert_equal [204, ''], [r.status, r.body]
      r = c.get('/cookie-set')
      assert_equal ['sid=abc; Max-Age=60; Path=/; HttpOnly; SameSite=Lax'], r.set_cookies
      assert_equal({ 'method' => 'PUT', 'path' => '/put/9', 'id' => '9' }, c.put('/put/9', json: {}).json)
    end
  end

  def test_response_schema_breach_is_a_500
    Spikard::Testing.serve(app) do |c|
      r = c.get('/breach')
      assert_equal 500, r.status
      assert_equal 'application/problem+json', r['content-type']
    end
  end

  def test_original_spikard_forms
    Spikard::Testing.serve(app) do |c|
      assert_equal({ 'params' => { 'id' => '5' }, 'query' => { 'a' => '1' }, 'body' => nil }, c.get('/legacy/5?a=1').json)
      assert_equal({ 'id' => '8', 'method' => 'GET', 'q' => {} }, c.get('/hash-access/8').json)
      r = c.get('/request-id', headers: { 'X-Request-ID' => 'rid-1' })
      assert_equal({ 'id' => 'rid-1', 'handler' => 'GET /request-id' }, r.json)
    end
  end

  def test_many_requests_in_flight_are_all_answered
    a = Spikard::App.new
    a.get('/n/{i:int}') { |req| { i: req.path_params['i'] } }
    Spikard::Testing.serve(a) do |c|
      threads = 8.times.map do |t|
        Thread.new do
          http = Net::HTTP.start('127.0.0.1', c.port)
          got = 25.times.map { |k| JSON.parse(http.get("/n/#{t * 100 + k}").body)['i'] }
          http.finish
          got
        end
      end
      assert_equal (0...8).flat_map { |t| (0...25).map { |k| t * 100 + k } }, threads.flat_map(&:value)
    end
  end

  def test_request_is_released_after_the_answer
    kept = nil
    a = Spikard::App.new
    a.post('/keep') do |req|
      kept = req
      req.raw_body.size
    end
    Spikard::Testing.serve(a) do |c|
      assert_equal '5', c.post('/keep', body: 'hello').body
    end
    assert_raises(Spikard::Error) { kept.raw_headers }
  end

  def test_declaration_errors
    a = Spikard::App.new
    assert_raises(ArgumentError) { a.get('/x') }
    assert_raises(ArgumentError) { a.get('/x', bogus: 1) { nil } }
    a.get('/x') { nil }
    assert_raises(ArgumentError) { a.get('/x') { nil } }
    bad = Spikard::App.new
    bad.get('/y', body: { type: 'no-such-type' }) { nil }
    err = assert_raises(Spikard::ConfigError) { bad.start }
    assert_match(/no-such-type|type/, err.message)
  end

  def test_document
    a = Spikard::App.new(max_body_bytes: 1024)
    a.middleware(request_id: { header: 'X-Trace' })
    a.get('/u/:id', path_params: { id: { type: 'integer' } }, summary: 'a user', tags: ['users']) { nil }
    doc = a.to_config
    assert_equal 1, doc['version']
    assert_equal({ 'max_body_bytes' => 1024 }, doc['server'])
    assert_equal({ 'request_id' => { 'header' => 'X-Trace' } }, doc['middleware'])
    assert_equal({ 'method' => 'GET', 'path' => '/u/:id', 'handler' => 'GET /u/:id', 'summary' => 'a user', 'tags' => ['users'],
                   'parameters' => { 'path' => { 'id' => { 'type' => 'integer' } } } }, doc['routes'][0])
    assert_equal [{ method: 'GET', path: '/u/:id', handler_name: 'GET /u/:id' }], a.routes
    assert_equal doc, JSON.parse(a.to_json)
  end

  def test_openapi_document
    a = Spikard::App.new
    a.get('/users/{id:int}', summary: 'one user', response: { type: 'object' }) { nil }
    a.post('/items', body: ITEM) { nil }
    doc = a.openapi_document
    assert_match(/\A3\.1/, doc['openapi'])
    assert_equal %w[/items /users/{id}], doc['paths'].keys.sort
    assert_equal 'one user', doc['paths']['/users/{id}']['get']['summary']
  end

  def test_middleware_and_served_openapi
    a = Spikard::App.new(max_body_bytes: 1 << 20)
    a.middleware(cors: { allowed_origins: ['https://example.com'] }, compression: { min_size: 1024 })
    a.openapi(title: 'Items', version: '1.0.0')
    a.get('/items') { [{ id: 1 }] }
    Spikard::Testing.serve(a) do |c|
      r = c.get('/items', headers: { 'Origin' => 'https://example.com' })
      assert_equal 'https://example.com', r['access-control-allow-origin']
      assert_equal 'Items', c.get('/openapi.json').json['info']['title']
    end
  end

  def test_from_config
    doc = { version: 1, routes: [{ method: 'GET', path: '/c/{n:int}', handler: 'count' }] }
    a = Spikard::App.from_config(JSON.generate(doc))
    a.handle(:count) { |req| { n: req.path_params['n'] + 1 } }
    Spikard::Testing.serve(a) { |c| assert_equal({ 'n' => 3 }, c.get('/c/2').json) }
  end
end
