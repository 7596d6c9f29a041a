// Package h2 serves an app's one fasthttp request handler over HTTP/2 as
// well as HTTP/1.1, on the same port, with or without TLS.
//
// # Why this design
//
// fasthttp speaks HTTP/1.1 only, and it is the core's HTTP/1.1 engine: its
// RequestCtx is what the pipeline, the middleware and every binding's
// handler are written against. HTTP/2 therefore comes from a second
// transport beside it — golang.org/x/net/http2, the reference Go
// implementation (flow control, HPACK, stream states, SETTINGS, GOAWAY)
// — and the two share everything above the wire:
//
//   - One pipeline. HTTP/2 requests are not served by a second set of
//     handlers: an http.Handler adapter (Engine.ServeHTTP) turns each
//     http.Request into a fasthttp.RequestCtx (method, URI, authority,
//     headers, body — read with the app's body limit, or handed over as a
//     stream for routes that stream request bodies) and runs the SAME
//     fasthttp.RequestHandler the app built for HTTP/1.1: router,
//     middleware, validation, hooks, the host handler. The response is
//     copied back: status, headers (hop-by-hop ones dropped, which HTTP/2
//     forbids), and the body — a whole one with its Content-Length, or a
//     streamed one (Ctx.Stream, SSE, host-fed pipes) frame by frame, with a
//     flush per chunk. This is fasthttpadaptor in the reverse direction.
//     The request's context (cancelled when the client resets the stream
//     or the connection drops) is stored in the RequestCtx as the user
//     value "spikard.context", the key request_timeout already uses, so
//     handlers and streams stop when an HTTP/2 client goes away.
//
//   - One port. Listener sniffs the first bytes of every accepted
//     connection: a TLS record (0x16) is a ClientHello — the TLS handshake
//     runs here and ALPN picks "h2" (HTTP/2) or "http/1.1" (handed to
//     fasthttp as an already-decrypted connection); the HTTP/2 client
//     preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" on a plain connection is
//     h2c with prior knowledge; an HTTP/1.x request line is for fasthttp
//     (anything else is an invalid preface, and closed, when HTTP/2 is on).
//     The sniffed bytes are replayed to whichever server gets the
//     connection. An HTTP/1.1 request with "Upgrade: h2c" (RFC 7540's
//     upgrade, deprecated by RFC 9113 but still used) is switched by
//     Engine.Upgrade from inside the fasthttp handler: the connection is
//     hijacked, 101 is written, and the request becomes stream 1 of the
//     new HTTP/2 connection.
//
// Conformance: h2spec passes every case on both listeners (a test in
// core/app runs it). x/net/http2 alone fails a few on purpose; three small
// pieces of this package close the gap without forking it: the server
// advertises SETTINGS_MAX_FRAME_SIZE 16384 (so a header block over it is a
// FRAME_SIZE_ERROR), frameReader (frames.go) rewrites the incoming frames
// of repeated SETTINGS values and of requests with connection-specific
// header fields so that x/net's own conforming paths answer them, and the
// sniffer closes a plain connection that starts with neither the preface
// nor an HTTP/1.x request line (an invalid preface, RFC 9113 3.4) instead
// of letting fasthttp answer 400.
//
// Alternatives rejected: serving HTTP/2 with net/http and a second
// pipeline (two code paths that drift, bindings seeing different
// behaviour per protocol); putting everything on net/http (gives up
// fasthttp's allocation-free HTTP/1.1 path, which is most traffic); a
// separate port for HTTP/2 (clients and proxies expect one origin).
//
// Costs: each HTTP/2 request copies headers and body once into the
// RequestCtx (pooled) and the answer once out of it; HTTP/1.1
// connections pay one sniff (reads up to the end of the request line, at
// most 1 KiB, replayed to fasthttp, done on the connection's own goroutine
// before fasthttp takes it) only when HTTP/2 or TLS is enabled — otherwise
// the app serves with fasthttp alone. HTTP/2 connections decode each
// request's header block twice (frameReader's check, then x/net). Not
// supported over HTTP/2: WebSockets (RFC 8441 extended CONNECT) and
// Hijack; server push.
//
// Shutdown: Engine.Shutdown sends GOAWAY on every HTTP/2 connection (via
// the http.Server the x/net server is configured on), lets their streams
// finish, and closes what is left at the deadline; Listener.Close stops
// accepting.
package h2
