# frozen_string_literal: true

require 'ffi'

module Spikard
  # libspikard runs the Go runtime; its threads run on small stacks, so a
  # signal handler that may run on one of them must use SA_ONSTACK
  # (include/spikard.h, "Signals"). Ruby installs its handlers (SIGINT,
  # SIGTERM, ... and every `trap`) without that flag: onstack! adds it to
  # the handlers installed so far, keeping everything else. Call it after
  # installing traps (Server and Runner do).
  module Signals
    extend FFI::Library

    SA_ONSTACK = 0x0800_0000
    # struct sigaction on Linux/glibc (x86_64, aarch64): handler, sa_mask
    # (128 bytes), sa_flags (int) at 136, sa_restorer; 152 bytes.
    FLAGS_OFFSET = 136
    SIGACTION_SIZE = 152
    SIGNALS = %w[INT TERM HUP QUIT USR1 USR2 ALRM CHLD WINCH].freeze

    SUPPORTED = RUBY_PLATFORM.match?(/(x86_64|aarch64|arm64)-linux/)

    if SUPPORTED
      ffi_lib FFI::Library::LIBC
      attach_function :sigaction, %i[int pointer pointer], :int
    end

    # Adds SA_ONSTACK to the installed handlers of the usual signals.
    def self.onstack!
      return false unless SUPPORTED

      act = FFI::MemoryPointer.new(:char, SIGACTION_SIZE)
      SIGNALS.each do |name|
        num = Signal.list[name]
        next unless num && sigaction(num, nil, act).zero?

        handler = act.get_pointer(0).address
        next if handler <= 1 # SIG_DFL, SIG_IGN

        flags = act.get_int32(FLAGS_OFFSET)
        next unless (flags & SA_ONSTACK).zero?

        act.put_int32(FLAGS_OFFSET, flags | SA_ONSTACK)
        sigaction(num, act, nil)
      end
      true
    end

    # The flags of a signal's installed handler (for tests).
    def self.flags(name)
      act = FFI::MemoryPointer.new(:char, SIGACTION_SIZE)
      sigaction(Signal.list.fetch(name), nil, act)
      act.get_int32(FLAGS_OFFSET)
    end
  end
end
