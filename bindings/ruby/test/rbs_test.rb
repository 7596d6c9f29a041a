# frozen_string_literal: true

require_relative 'test_helper'
require 'rbs'
require 'rbs/cli'
require 'rbs/test'

# sig/spikard.rbs is small and exact: it validates, it declares exactly the
# public methods the classes define, and App's answers have its types.
# (test.sh also runs the whole suite under RBS's runtime checks for every
# class but App, whose blocks the checker wraps: the block's parameters are
# how App tells |req| from |params, query, body| and keyword dependencies.)
class RBSTest < Minitest::Test
  SIG = File.expand_path('../sig', __dir__)

  def env
    @env ||= begin
      loader = RBS::EnvironmentLoader.new
      loader.add(path: Pathname(SIG))
      RBS::Environment.from_loader(loader).resolve_type_names
    end
  end

  def builder
    @builder ||= RBS::DefinitionBuilder.new(env: env)
  end

  def test_the_signatures_validate
    out = StringIO.new
    RBS::CLI.new(stdout: out, stderr: out).run(['-I', SIG, 'validate'])
    assert_includes out.string, 'Validating class/module definition: `::Spikard::App`'
  end

  CLASSES = [Spikard::App, Spikard::Request, Spikard::Response, Spikard::Server, Spikard::Error,
             Spikard::Testing::Client, Spikard::Testing::Result, Spikard::StreamingResponse, Spikard::EventStream,
             Spikard::Event, Spikard::StreamWriter, Spikard::EventWriter, Spikard::WebSocket,
             Spikard::WebSocket::Message, Spikard::Testing::WebSocketClient].freeze
  # Made by the library, never by users: their constructors are not API.
  LIBRARY_MADE = [Spikard::Request, Spikard::Testing::Result, Spikard::StreamWriter, Spikard::EventWriter,
                  Spikard::WebSocket, Spikard::WebSocket::Message].freeze

  def declared(klass, singleton: false)
    name = RBS::TypeName.new(name: klass.name.split('::').last.to_sym,
                             namespace: RBS::Namespace.parse("::#{klass.name.split('::')[0...-1].join('::')}::"))
    decl = env.class_decls.fetch(name).decls.map(&:decl)
    decl.flat_map(&:members).filter_map do |m|
      case m
      when RBS::AST::Members::MethodDefinition then m.name if (m.kind == :singleton) == singleton
      when RBS::AST::Members::AttrReader, RBS::AST::Members::AttrAccessor
        [m.name, (m.is_a?(RBS::AST::Members::AttrAccessor) ? :"#{m.name}=" : nil)] unless singleton
      when RBS::AST::Members::AttrWriter then :"#{m.name}=" unless singleton
      end
    end.flatten.compact.sort.uniq
  end

  def test_every_public_method_is_declared_and_every_declared_method_exists
    CLASSES.each do |klass|
      defined = klass.public_instance_methods(false).reject { |m| m.to_s.include?("__RBS_TEST_") } - %i[inspect]
      defined -= %i[to_json] unless klass == Spikard::App
      assert_equal defined.sort, declared(klass) - [:initialize], "instance methods of #{klass}"
      # Classes users create declare their constructor; Request, Result are made by the library.
      assert_equal !LIBRARY_MADE.include?(klass), declared(klass).include?(:initialize), klass.name
    end
    { Spikard::App => %i[from_config last_created], Spikard::Background => %i[drain run],
      Spikard::Testing => %i[parse_events serve], Spikard::Testing::WebSocketClient => %i[open] }.each do |klass, methods|
      assert_equal methods, declared(klass, singleton: true), "singleton methods of #{klass}"
      methods.each { |m| assert_respond_to klass, m }
    end
  end

  def check(value, type)
    tc = RBS::Test::TypeCheck.new(self_class: Object, builder: builder, sample_size: 100, unchecked_classes: [])
    t = RBS::Parser.parse_type(type) # names written absolute
    assert tc.value(value, t), "#{value.inspect[0, 200]} is not a #{type}"
  end

  def test_app_answers_have_the_declared_types
    app = Spikard::App.new(max_body_bytes: 10)
    check(app.get('/a') { nil }, '^(*untyped, **untyped) -> untyped')
    check(app.provide(:k, 1), '::Spikard::App')
    check(app.middleware(request_id: {}), '::Spikard::App')
    check(app.openapi({}), '::Spikard::App')
    check(app.routes, '::Array[{ method: ::String?, path: ::String?, handler_name: ::String }]')
    check(app.to_config, '::Hash[::String, untyped]')
    check(app.to_json, '::String')
    check(Spikard::App.from_config('{"version":1,"routes":[]}'), '::Spikard::App')
    check(Spikard::App.last_created, '::Spikard::App?')
    server = app.start
    check(server, '::Spikard::Server')
    server.stop
  end
end
