# frozen_string_literal: true

require_relative 'test_helper'

class DITest < Minitest::Test
  def test_value_dependencies_arrive_as_keyword_arguments
    app = Spikard::App.new
    app.provide(:config, { 'region' => 'eu', 'replicas' => 3 })
    app.provide('greeting', 'hello')
    app.get('/both') { |req, config:, greeting:| { path: req.path, config: config, greeting: greeting } }
    app.get('/only-deps') { |greeting:| { greeting: greeting } }
    app.get('/optional') { |req, missing: 'fallback', greeting: nil| { missing: missing, greeting: greeting, p: req.path } }
    app.get('/route-level', dependencies: { limit: 25 }) { |limit:, greeting:| { limit: limit, greeting: greeting } }
    Spikard::Testing.serve(app) do |c|
      assert_equal({ 'path' => '/both', 'config' => { 'region' => 'eu', 'replicas' => 3 }, 'greeting' => 'hello' }, c.get('/both').json)
      assert_equal({ 'greeting' => 'hello' }, c.get('/only-deps').json)
      assert_equal({ 'missing' => 'fallback', 'greeting' => 'hello', 'p' => '/optional' }, c.get('/optional').json)
      assert_equal({ 'limit' => 25, 'greeting' => 'hello' }, c.get('/route-level').json)
    end
    routes = app.to_config['routes']
    assert_equal %w[config greeting], routes[0]['handler_dependencies']
    assert_equal ['greeting'], routes[2]['handler_dependencies']
    assert_equal({ 'limit' => { 'type' => 'value', 'value' => 25 } }, routes[3]['dependencies'])
  end

  def test_value_dependencies_may_be_any_ruby_object
    the_pool = Connection.new(99)
    app = Spikard::App.new
    app.provide(:pool, the_pool)
    app.get('/pool', dependencies: { clock: Time }) { |pool:, clock:| { same: pool.equal?(the_pool), id: pool.id, clock: clock.name } }
    Spikard::Testing.serve(app) do |c|
      assert_equal({ 'same' => true, 'id' => 99, 'clock' => 'Time' }, c.get('/pool').json)
      assert_equal({ 'same' => true, 'id' => 99, 'clock' => 'Time' }, c.get('/pool').json)
    end
  end

  def test_a_keyword_without_a_dependency_is_a_configuration_error
    app = Spikard::App.new
    app.get('/x') { |db:| db }
    err = assert_raises(Spikard::ConfigError) { app.to_config }
    assert_includes err.message, 'keyword db: but no dependency "db" is provided'
  end

  def test_provide_needs_a_value
    assert_raises(ArgumentError) { Spikard::App.new.provide(:x) }
  end

  def test_factories_with_keyword_dependencies_cache_and_singletons
    calls = Hash.new(0)
    app = Spikard::App.new
    app.provide(:base, 10)
    app.provide(:per_request) { |base:| calls[:per_request] += 1; base + calls[:per_request] }
    app.provide(:shared, singleton: true) { calls[:shared] += 1; "shared-#{calls[:shared]}" }
    app.provide(:fresh, cacheable: false) { calls[:fresh] += 1 }
    app.provide(:sum, depends_on: [:fresh]) { |per_request:, fresh:| per_request + fresh }
    app.get('/deps') { |per_request:, shared:, sum:| { per_request: per_request, shared: shared, sum: sum } }
    Spikard::Testing.serve(app) do |c|
      assert_equal({ 'per_request' => 11, 'shared' => 'shared-1', 'sum' => 12 }, c.get('/deps').json)
      assert_equal({ 'per_request' => 12, 'shared' => 'shared-1', 'sum' => 14 }, c.get('/deps').json)
    end
    assert_equal({ per_request: 2, shared: 1, fresh: 2 }, calls)
    deps = app.to_config['dependencies']
    assert_equal({ 'type' => 'factory', 'factory' => 'factory per_request', 'depends_on' => ['base'], 'cacheable' => true,
                   'cleanup' => true }, deps['per_request'])
    assert_equal({ 'type' => 'factory', 'factory' => 'factory shared', 'singleton' => true }, deps['shared'])
    assert_equal %w[fresh per_request], deps['sum']['depends_on'].sort
  end

  class Connection
    attr_reader :id, :closed

    def initialize(id)
      @id = id
      @closed = false
    end

    def close
      @closed = true
    end
  end

  def test_ruby_objects_and_cleanup_after_the_response
    cleaned = Queue.new
    conns = []
    app = Spikard::App.new
    app.provide(:conn, cleanup: ->(c) { c.close; cleaned << [:conn, c.id] }) { Connection.new(conns.size + 1).tap { |c| conns << c } }
    app.provide(:session, cleanup: ->(s) { cleaned << [:session, s[:conn].id] }) { |conn:| { conn: conn, at: :now } }
    app.get('/use') do |req, session:, conn:|
      { same: session[:conn].equal?(conn), id: conn.id, open: !conn.closed, path: req.path }
    end
    Spikard::Testing.serve(app) do |c|
      assert_equal({ 'same' => true, 'id' => 1, 'open' => true, 'path' => '/use' }, c.get('/use').json)
      assert_equal [[:session, 1], [:conn, 1]], [cleaned.pop, cleaned.pop] # reverse order of creation
      assert_equal 2, c.get('/use').json['id']
      assert_equal [[:session, 2], [:conn, 2]], [cleaned.pop, cleaned.pop]
      assert_empty c.server.instance_variable_get(:@objects) # every object was released
    end
    assert conns.all?(&:closed)
  end

  def test_cleanup_false_factories_are_not_called_back_and_must_return_json
    calls = []
    app = Spikard::App.new(logger: SpikardTest.logger.first)
    app.provide(:n, cleanup: false) { |req| calls << (req.call || {})['kind']; 5 }
    app.provide(:obj, cleanup: false) { Object.new }
    app.get('/n') { |n:| { n: n } }
    app.get('/obj') { |obj:| obj.class.name }
    Spikard::Testing.serve(app) do |c|
      assert_equal({ 'n' => 5 }, c.get('/n').json)
      assert_equal({ 'n' => 5 }, c.get('/n').json)
      assert_equal 500, c.get('/obj').status
    end
    assert_equal %w[factory factory], calls
    refute app.to_config['dependencies']['n'].key?('cleanup')
  end

  def test_a_failing_or_refusing_factory
    app = Spikard::App.new(logger: SpikardTest.logger.first)
    app.provide(:broken) { raise 'no database' }
    app.provide(:gate) { Spikard::Response.new({ error: 'closed' }, status: 503) }
    app.get('/broken') { |broken:| broken }
    app.get('/gate') { |gate:| gate }
    app.get('/fine') { 'fine' }
    Spikard::Testing.serve(app) do |c|
      r = c.get('/broken')
      assert_equal [500, 'application/problem+json'], [r.status, r['content-type']]
      r = c.get('/gate')
      assert_equal [503, { 'error' => 'closed' }], [r.status, r.json]
      assert_equal 'fine', c.get('/fine').body
    end
  end
end
