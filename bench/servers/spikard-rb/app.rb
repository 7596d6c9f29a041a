# frozen_string_literal: true

# The benchmark routes on the Ruby binding (bindings/ruby): the workload
# table's core document (BENCH_DOC) served as it is, one block per route
# kind answering from the request's validated values.
require 'spikard'

app = Spikard::App.from_config(File.read(ENV.fetch('BENCH_DOC')))
# The core has parsed (and on /v/json validated) the body.
app.handle('echo') { |req| Spikard::Response.new(req.raw_body, content_type: 'application/json') }
app.handle('path', &:path_params)
app.handle('query', &:query)
app.handle('form', &:body)
app.handle('multipart') do |req|
  file = req.body['file']
  { title: req.body['title'], filename: file['filename'], size: file['size'] }
end
app.run(host: '127.0.0.1', port: Integer(ENV.fetch('PORT')))
