# frozen_string_literal: true

# The benchmark routes as a Sinatra app (Debian's ruby-sinatra) on Puma:
# Sinatra's routing, named route parameters and halts; the validated
# variants (under /v) checked by hand to the constraints of the workload
# table (../ruby-common/checks.rb, shared with rack-puma), as Sinatra has no
# schema validation of its own.
require 'json'
require 'sinatra/base'
require_relative '../ruby-common/checks'

class BenchApp < Sinatra::Base
  configure do
    set :environment, :production
    set :logging, false
    set :show_exceptions, false
    set :raise_errors, false
    set :default_content_type, 'application/json'
  end

  helpers do
    def invalid! = halt(422, '{"detail":"invalid input"}')

    # The fields converted (and when validated checked), as JSON.
    def typed(id, params, validated)
      v = BenchChecks.convert(BenchChecks::FIELDS[id], params, validated)
      v ? JSON.generate(v) : invalid!
    end

    # Query string or form body with repeated keys kept as arrays (Sinatra's
    # params keep only the last of a repeated key without "[]").
    def pairs(s) = Rack::Utils.parse_query(s)
  end

  not_found { '{"detail":"not found"}' }

  [false, true].each do |validated|
    prefix = validated ? '/v' : ''

    post "#{prefix}/json" do
      doc = begin
        JSON.parse(request.body.read)
      rescue JSON::ParserError
        halt 400, '{"detail":"invalid JSON"}'
      end
      invalid! if validated && !BenchChecks.order_ok?(doc)
      JSON.generate(doc)
    end

    post "#{prefix}/multipart" do
      v = BenchChecks.upload_answer(params['title'], params['file'], validated)
      v ? JSON.generate(v) : invalid!
    end

    { 'path-simple' => '/path/simple/:name', 'path-int' => '/path/int/:id', 'path-uuid' => '/path/uuid/:id',
      'path-date' => '/path/date/:date', 'path-deep' => '/path/deep/:a/:b/:c/:d/:e',
      'path-multiple' => '/path/multiple/:user_id/:post_id/:slug' }.each do |id, pattern|
      get(prefix + pattern) { typed(id, params, validated) }
    end

    %w[few medium many].each do |size|
      get("#{prefix}/query/#{size}") { typed("query-#{size}", pairs(request.query_string), validated) }
    end

    %w[simple complex].each do |kind|
      post "#{prefix}/urlencoded/#{kind}" do
        halt 415, '{}' unless request.media_type == 'application/x-www-form-urlencoded'
        typed("urlencoded-#{kind}", pairs(request.body.read), validated)
      end
    end
  end
end
