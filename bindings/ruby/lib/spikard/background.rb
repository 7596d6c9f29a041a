# frozen_string_literal: true

module Spikard
  # Work to run after the answer was sent, on one background Ruby thread of
  # the process (exceptions are logged, never raised):
  #
  #   app.post('/process') do |req|
  #     id = req.body['id']
  #     Spikard::Background.run { ProcessData.perform(id) }
  #     { status: 'processing' }
  #   end
  #
  # A graceful stop waits for the queued work.
  module Background
    @queue = Queue.new
    @thread = nil
    @mutex = Mutex.new
    @pending = 0
    @idle = ConditionVariable.new

    class << self
      attr_writer :logger

      def run(&block)
        raise ArgumentError, 'Spikard::Background.run needs a block' unless block

        @mutex.synchronize do
          @pending += 1
          start unless @thread&.alive?
        end
        @queue << block
        nil
      end

      # Waits until every queued block ran.
      def drain
        @mutex.synchronize { @idle.wait(@mutex) while @pending.positive? }
      end

      private

      def start
        @thread = Thread.new do
          Thread.current.name = 'spikard-background'
          loop do
            job = @queue.pop
            begin
              job.call
            rescue Exception => e # rubocop:disable Lint/RescueException
              logger.error("background task raised: #{e.class}: #{e.message}\n\t#{(e.backtrace || []).join("\n\t")}")
              raise if e.is_a?(SignalException) || e.is_a?(SystemExit)
            ensure
              @mutex.synchronize do
                @pending -= 1
                @idle.broadcast if @pending.zero?
              end
            end
          end
        end
      end

      def logger
        @logger ||= begin
          require 'logger'
          Logger.new($stderr).tap { |l| l.progname = 'spikard' }
        end
      end
    end
  end
end
