# frozen_string_literal: true

require_relative 'test_helper'

class BackgroundTest < Minitest::Test
  def test_background_work_runs_after_the_answer
    done = Queue.new
    seen = []
    app = Spikard::App.new
    app.post('/jobs', body: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } }) do |req|
      id = req.body['id']
      Spikard::Background.run do
        seen << id
        done << id
      end
      Spikard::Response.new({ queued: id }, status: 202)
    end
    app.get('/fail') do
      Spikard::Background.run { raise 'background boom' }
      'ok'
    end
    Spikard::Testing.serve(app) do |c|
      assert_equal 202, c.post('/jobs', json: { id: 1 }).status
      assert_equal 202, c.post('/jobs', json: { id: 2 }).status
      assert_equal 'ok', c.get('/fail').body # a failing task is logged, the server keeps serving
      assert_equal [1, 2], [done.pop, done.pop]
    end
    assert_equal [1, 2], seen
  end

  def test_a_graceful_stop_waits_for_queued_work
    release = Queue.new
    finished = []
    app = Spikard::App.new
    app.get('/slow-bg') do
      Spikard::Background.run do
        release.pop
        finished << :done
      end
      'queued'
    end
    server = app.start
    Net::HTTP.get(URI(server.url('/slow-bg')))
    port = server.port
    stopper = Thread.new { server.stop }
    SpikardTest.wait_until('the listener closes') { !SpikardTest.accepting?(port) } # the stop began
    assert stopper.alive?, 'the stop returned while background work was still queued'
    assert_empty finished
    release << true
    stopper.join
    assert_equal [:done], finished
  end
end
