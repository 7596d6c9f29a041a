# frozen_string_literal: true

module Spikard
  VERSION = '0.1.0'
end
