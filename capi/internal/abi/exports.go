package abi

// The C entry points of include/spikard.h that are implemented in Go,
// exported under their C names. They live in this package (not in
// package main) so that capi/capitest can call the very same symbols from
// Go tests. Arguments the library never dereferences (handler functions,
// host data) cross as uintptr_t: the garbage collector must never see a
// host value as a pointer, and both types have the same size and calling
// convention on every supported platform. No definition may appear in this
// preamble (cgo copies it into two files).

/*
#include <stddef.h>
#include <stdint.h>
*/
import "C"

import "unsafe"

//export spikard_app_new
func spikard_app_new(config *C.char, configLen C.size_t, outApp *C.int64_t) C.int {
	return C.int(AppNew(unsafe.Pointer(config), uintptr(configLen), (*int64)(unsafe.Pointer(outApp))))
}

//export spikard_app_free
func spikard_app_free(app C.int64_t) C.int {
	return C.int(AppFree(int64(app)))
}

//export spikard_app_handle_callback
func spikard_app_handle_callback(app C.int64_t, name *C.char, fn C.uintptr_t, data C.uintptr_t, freeData C.uintptr_t) C.int {
	return C.int(HandleCallback(int64(app), unsafe.Pointer(name), uintptr(fn), uintptr(data), uintptr(freeData)))
}

//export spikard_app_handle_queued
func spikard_app_handle_queued(app C.int64_t, name *C.char, tag C.uint64_t) C.int {
	return C.int(HandleQueued(int64(app), unsafe.Pointer(name), uint64(tag)))
}

//export spikard_app_config
func spikard_app_config(app C.int64_t, buf *C.char, capacity C.size_t, outLen *C.size_t) C.int {
	return C.int(AppConfig(int64(app), unsafe.Pointer(buf), uintptr(capacity), (*uintptr)(unsafe.Pointer(outLen))))
}

//export spikard_app_openapi
func spikard_app_openapi(app C.int64_t, buf *C.char, capacity C.size_t, outLen *C.size_t) C.int {
	return C.int(AppOpenAPI(int64(app), unsafe.Pointer(buf), uintptr(capacity), (*uintptr)(unsafe.Pointer(outLen))))
}

//export spikard_app_listen
func spikard_app_listen(app C.int64_t, host *C.char, port C.uint16_t, outPort *C.uint16_t) C.int {
	return C.int(Listen(int64(app), unsafe.Pointer(host), uint16(port), (*uint16)(unsafe.Pointer(outPort))))
}

//export spikard_app_shutdown
func spikard_app_shutdown(app C.int64_t, timeoutMS C.int) C.int {
	return C.int(Shutdown(int64(app), int32(timeoutMS)))
}

// spikard_app_ready_fd, spikard_next, spikard_try_next, spikard_respond,
// spikard_respond_error, spikard_continue and spikard_background are C functions (cside.c): a
// host thread never enters the Go runtime for a request. The stream and
// WebSocket calls below do: they hand bytes to Go's network code.

//export spikard_stream_begin
func spikard_stream_begin(requestID C.uint64_t, status C.int, headers *C.char, headersLen C.size_t, outStream *C.uint64_t) C.int {
	return C.int(StreamBegin(uint64(requestID), int(status), unsafe.Pointer(headers), uintptr(headersLen), (*uint64)(unsafe.Pointer(outStream))))
}

//export spikard_stream_write
func spikard_stream_write(stream C.uint64_t, data *C.char, n C.size_t) C.int {
	return C.int(StreamWrite(uint64(stream), unsafe.Pointer(data), uintptr(n)))
}

//export spikard_stream_end
func spikard_stream_end(stream C.uint64_t) C.int {
	return C.int(StreamEnd(uint64(stream)))
}

//export spikard_stream_fail
func spikard_stream_fail(stream C.uint64_t, message *C.char) C.int {
	return C.int(StreamFail(uint64(stream), unsafe.Pointer(message)))
}

//export spikard_sse_send
func spikard_sse_send(stream C.uint64_t, event *C.char, eventLen C.size_t, data *C.char, dataLen C.size_t, id *C.char, idLen C.size_t,
	comment *C.char, commentLen C.size_t, retryMS C.int64_t) C.int {
	return C.int(SSESend(uint64(stream), unsafe.Pointer(event), uintptr(eventLen), unsafe.Pointer(data), uintptr(dataLen),
		unsafe.Pointer(id), uintptr(idLen), unsafe.Pointer(comment), uintptr(commentLen), int64(retryMS)))
}

//export spikard_ws_send
func spikard_ws_send(conn C.uint64_t, opcode C.int, data *C.char, n C.size_t) C.int {
	return C.int(WSSend(uint64(conn), int(opcode), unsafe.Pointer(data), uintptr(n)))
}

//export spikard_ws_close
func spikard_ws_close(conn C.uint64_t, code C.int, reason *C.char, reasonLen C.size_t) C.int {
	return C.int(WSClose(uint64(conn), int(code), unsafe.Pointer(reason), uintptr(reasonLen)))
}

// Reserved (include/spikard.h, "Reserved"): declared so that bindings keep
// their shape; returns SPIKARD_ENOTIMPL.

//export spikard_app_on_shutdown
func spikard_app_on_shutdown(app C.int64_t, fn C.uintptr_t, data C.uintptr_t, freeData C.uintptr_t) C.int {
	return C.int(NotImplemented("spikard_app_on_shutdown"))
}
