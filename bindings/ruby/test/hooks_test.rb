# frozen_string_literal: true

require_relative 'test_helper'

class HooksTest < Minitest::Test
  ITEM = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } }.freeze

  def test_on_request_short_circuits_before_validation
    app = Spikard::App.new
    app.on_request('gatekeeper') do |req|
      next if req.headers['x-token'] == 'ok'

      Spikard::Response.new({ error: 'no token' }, status: 401)
    end
    app.post('/items', body: ITEM) { |req| req.body }
    Spikard::Testing.serve(app) do |c|
      r = c.post('/items', json: { nope: 1 }) # invalid, but the hook answers first
      assert_equal [401, { 'error' => 'no token' }], [r.status, r.json]
      assert_equal 422, c.post('/items', json: { nope: 1 }, headers: { 'X-Token' => 'ok' }).status
      assert_equal({ 'name' => 'a' }, c.post('/items', json: { name: 'a' }, headers: { 'X-Token' => 'ok' }).json)
    end
  end

  def test_pre_validation_changes_what_is_validated
    app = Spikard::App.new
    app.pre_validation { |req| req.set_request_header('X-Tenant', 't-1') unless req.headers['x-tenant'] }
    app.get('/tenant', headers: { 'X-Tenant' => { type: 'string', pattern: '^t-' } }) { |req| { tenant: req.headers['X-Tenant'] } }
    Spikard::Testing.serve(app) do |c|
      assert_equal({ 'tenant' => 't-1' }, c.get('/tenant').json)
      assert_equal({ 'tenant' => 't-9' }, c.get('/tenant', headers: { 'X-Tenant' => 't-9' }).json)
      assert_equal 422, c.get('/tenant', headers: { 'X-Tenant' => 'bad' }).status
    end
  end

  def test_pre_handler_state_and_short_circuit_in_order
    order = []
    app = Spikard::App.new
    app.pre_handler('auth', config: { realm: 'api' }) do |req|
      order << req.call['name']
      token = req.headers['authorization']
      next Spikard::Response.new({ error: 'forbidden', realm: req.call['config']['realm'] }, status: 403) if token == 'Bearer bad'

      req.set_state('user', { 'id' => 7, 'token' => token })
    end
    app.pre_handler('second') do |req|
      order << req.call['name']
      req.set_state('seen', req.state['user']['id'])
    end
    app.get('/me') { |req| { user: req.state['user'], seen: req.state['seen'] } }
    Spikard::Testing.serve(app) do |c|
      r = c.get('/me', headers: { 'Authorization' => 'Bearer t' })
      assert_equal({ 'user' => { 'id' => 7, 'token' => 'Bearer t' }, 'seen' => 7 }, r.json)
      assert_equal %w[auth second], order
      r = c.get('/me', headers: { 'Authorization' => 'Bearer bad' })
      assert_equal [403, { 'error' => 'forbidden', 'realm' => 'api' }], [r.status, r.json]
      assert_equal %w[auth second auth], order # the second hook and the handler did not run
    end
  end

  def test_on_response_decorates_every_answer
    app = Spikard::App.new
    app.on_response do |req|
      req.response.headers['X-Frame-Options'] = 'DENY'
      req.set_header('X-Seen-Status', req.response.status)
      req.response.status = 299 if req.response.status == 200 && req.path == '/promote'
    end
    app.get('/ok') { { ok: true } }
    app.get('/promote') { 'x' }
    app.get('/n/{n:int}') { |req| req.path_params }
    Spikard::Testing.serve(app) do |c|
      r = c.get('/ok')
      assert_equal [200, 'DENY', '200'], [r.status, r['x-frame-options'], r['x-seen-status']]
      assert_equal({ 'ok' => true }, r.json)
      r = c.get('/n/abc') # the framework's 422 goes through on_response too
      assert_equal [422, 'DENY', '422'], [r.status, r['x-frame-options'], r['x-seen-status']]
      assert_equal 299, c.get('/promote').status
    end
  end

  def test_on_error_replaces_or_observes_the_problem
    seen = []
    app = Spikard::App.new(logger: SpikardTest.logger.first)
    app.on_error('observe') { |req| seen << req.error['status'] }
    app.on_error('replace') do |req|
      next unless req.path == '/replace'

      Spikard::Response.new({ error: 'custom', was: req.response.status }, status: 503)
    end
    app.get('/keep') { raise 'boom' }
    app.get('/replace') { raise 'boom' }
    Spikard::Testing.serve(app) do |c|
      r = c.get('/keep')
      assert_equal [500, 'application/problem+json'], [r.status, r['content-type']]
      r = c.get('/replace')
      assert_equal [503, { 'error' => 'custom', 'was' => 500 }], [r.status, r.json]
      assert_equal [500, 500], seen
    end
  end

  def test_a_failing_hook_is_a_500_and_the_server_keeps_serving
    log, io = SpikardTest.logger
    app = Spikard::App.new(logger: log)
    app.pre_handler { |req| raise ArgumentError, 'hook broke' if req.path == '/bad' }
    app.get('/bad') { 'never' }
    app.get('/good') { 'fine' }
    Spikard::Testing.serve(app) do |c|
      assert_equal 500, c.get('/bad').status
      assert_equal 'fine', c.get('/good').body
    end
    assert_includes io.string, 'ArgumentError: hook broke'
  end

  def test_route_level_hooks_and_hook_dependencies
    app = Spikard::App.new
    app.provide(:tenant, 't-42')
    app.on_request { |req, tenant:| req.set_header('X-Tenant', tenant) }
    stamp = ->(req) { req.set_header('X-Route-Hook', 'yes') }
    app.get('/with', hooks: { on_response: stamp }) { 'w' }
    app.get('/without') { 'o' }
    Spikard::Testing.serve(app) do |c|
      r = c.get('/with')
      assert_equal ['t-42', 'yes'], [r['x-tenant'], r['x-route-hook']]
      r = c.get('/without')
      assert_equal ['t-42', nil], [r['x-tenant'], r['x-route-hook']]
    end
    hooks = app.to_config['middleware']['lifecycle_hooks']['on_request']
    assert_equal [{ 'name' => 'on_request:0', 'handler' => 'hook on_request:0', 'dependencies' => ['tenant'] }], hooks
  end

  def test_a_handler_returning_nil_keeps_what_hooks_set
    app = Spikard::App.new
    app.pre_handler { |req| req.set_status(202).set_header('X-Accepted', '1') }
    app.post('/accept') { nil }
    Spikard::Testing.serve(app) do |c|
      r = c.post('/accept', json: {})
      assert_equal [202, '1', ''], [r.status, r['x-accepted'], r.body]
    end
  end
end
