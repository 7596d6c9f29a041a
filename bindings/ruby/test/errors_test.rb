# frozen_string_literal: true

require_relative 'test_helper'

class ErrorsTest < Minitest::Test
  class Boom < StandardError; end

  def test_an_exception_is_a_500_problem_with_the_request_id_and_a_logged_backtrace
    log, io = SpikardTest.logger
    app = Spikard::App.new(logger: log)
    app.get('/boom') { raise Boom, 'kaput' }
    app.get('/script') { raise NotImplementedError, 'not yet' }
    app.get('/ok') { { ok: true } }
    Spikard::Testing.serve(app) do |c|
      r = c.get('/boom', headers: { 'X-Request-ID' => 'req-77' })
      assert_equal 500, r.status
      assert_equal 'application/problem+json', r['content-type']
      assert_equal 'req-77', r['x-request-id']
      assert_equal 500, r.json['status']
      refute_includes r.body, 'kaput' # the message is logged, never sent
      assert_equal 500, c.get('/script').status
      # The server keeps serving, on the same connection too.
      assert_equal({ 'ok' => true }, c.get('/ok').json)
    end
    text = io.string
    assert_includes text, 'GET /boom raised (request id req-77): ErrorsTest::Boom: kaput'
    assert_match(/errors_test\.rb:\d+/, text) # the backtrace
    assert_includes text, 'NotImplementedError: not yet'
  end

  def test_a_failed_json_encoding_leaves_the_encoder_usable
    app = Spikard::App.new(logger: SpikardTest.logger.first)
    app.get('/nan') { { a: [[Float::NAN]] } }
    deep = 95.times.reduce(1) { |acc, _| [acc] }
    app.get('/deep') { deep }
    Spikard::Testing.serve(app) do |c|
      5.times { assert_equal 500, c.get("/nan").status } # 5 x depth 3 + 95 > max_nesting 100 without the reset
      r = c.get('/deep')
      assert_equal 200, r.status
      assert_equal deep, JSON.parse(r.body, max_nesting: 200)
    end
  end

  def test_an_answer_the_library_refuses_is_a_500
    log, io = SpikardTest.logger
    app = Spikard::App.new(logger: log)
    app.get('/bad-header') { Spikard::Response.new('x', headers: { 'X-Bad' => "a\nb: c" }) }
    app.get('/bad-status') { Spikard::Response.new('x', status: 42) }
    app.get('/not-json') { Object.new.tap { |o| def o.to_json(*) = raise(JSON::GeneratorError, 'nope') } }
    Spikard::Testing.serve(app) do |c|
      assert_equal 500, c.get('/bad-status').status
      assert_equal 500, c.get('/not-json').status
      r = c.get('/bad-header') # no header injection
      assert_equal 500, r.status
      assert_nil r['b']
    end
    assert_includes io.string, 'GET /bad-status: the answer was refused'
    assert_includes io.string, 'a line break in a header name or value'
  end
end
