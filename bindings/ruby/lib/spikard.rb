# frozen_string_literal: true

# Spikard: an HTTP/API runtime (routing, JSON Schema validation, RFC 9457
# errors, middleware) in libspikard, with handlers as Ruby blocks.
#
#   require 'spikard'
#
#   app = Spikard::App.new
#   app.get('/users/:id', path_params: { id: { type: 'integer' } }) do |req|
#     { id: req.path_params['id'] }
#   end
#   app.run(port: 8000)
module Spikard
  autoload :Testing, 'spikard/testing'
  autoload :CLI, 'spikard/cli'
end

require_relative 'spikard/version'
require_relative 'spikard/native'
require_relative 'spikard/errors'
require_relative 'spikard/signals'
require_relative 'spikard/response'
require_relative 'spikard/streaming'
require_relative 'spikard/websocket'
require_relative 'spikard/request'
require_relative 'spikard/background'
require_relative 'spikard/app'
require_relative 'spikard/server'
require_relative 'spikard/runner'
