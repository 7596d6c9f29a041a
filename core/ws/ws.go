// Package ws serves WebSocket connections (RFC 6455) on top of
// github.com/fasthttp/websocket: a route's handler gets on-connect,
// on-message and on-close callbacks; the package does the protocol work
// around them — subprotocol negotiation, message size limits (1009),
// UTF-8 checks of text messages (1007), pings and pong deadlines, close
// codes both ways, JSON Schema validation of incoming messages, and the
// shutdown close (1001) of every connection of an app.
//
// Every connection has a process-unique id; Get finds a connection by it,
// which is how the C ABI addresses connections.
//
// # The C ABI
//
// A websocket route names its handler like any route ("handler": "chat",
// plus "websocket": {...}); the host registers the name as usual (callback
// or queue) and capi binds it with app.HandleWebSocket(name, ws.Handler{...})
// whose callbacks hand events to the host:
//
//   - OnConnect(c): a request of a new kind SPIKARD_KIND_WS_OPEN (to add
//     after SPIKARD_KIND_SHUTDOWN) whose id is c.ID(), with the upgrade
//     request's method, path, headers and validated values (c.Request()).
//   - OnMessage(c, m): SPIKARD_KIND_WS_MESSAGE, id c.ID(), body m.Data,
//     the opcode in method ("TEXT" / "BINARY"), values = c.Values(). The
//     callbacks of one connection run one at a time, in order: a callback
//     that waits until the host took the event keeps a slow host from
//     piling up messages (backpressure to the client's TCP window).
//   - OnClose(c, code, reason): SPIKARD_KIND_WS_CLOSE, id c.ID(), body the
//     2-byte code then the reason.
//
// and the host answers through:
//
//	spikard_ws_send(conn, opcode, data, len)
//	    ws.Get(conn).Send(ws.MessageType(opcode), data)   // written before it returns
//	spikard_ws_close(conn, code, reason, len)
//	    ws.Get(conn).Close(code, reason)
//
// Get(conn) == nil → SPIKARD_EBADHANDLE; ErrClosed → SPIKARD_ECLOSED; an
// opcode other than 1/2, text that is not UTF-8, a code an endpoint may not
// send → SPIKARD_EINVAL. Returning a *CloseError from a callback is the
// in-callback way to close.
package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/spikard/spikard-go/core/validate"
	"github.com/valyala/fasthttp"
)

// MessageType is a data message's opcode.
type MessageType int

const (
	Text   MessageType = websocket.TextMessage
	Binary MessageType = websocket.BinaryMessage
)

// Close codes (RFC 6455 section 7.4.1).
const (
	CloseNormal          = 1000
	CloseGoingAway       = 1001
	CloseProtocolError   = 1002
	CloseUnsupportedData = 1003
	CloseNoStatus        = 1005
	CloseAbnormal        = 1006
	CloseInvalidPayload  = 1007
	ClosePolicyViolation = 1008
	CloseTooBig          = 1009
	CloseInternalError   = 1011
)

// Message is one data message.
type Message struct {
	Type MessageType
	// Data is the payload; it stays valid after the callback returns.
	Data []byte
	// Value is the decoded JSON (numbers as json.Number) when the route has
	// a message schema; nil otherwise.
	Value any
}

// Text returns the payload as a string.
func (m Message) Text() string { return string(m.Data) }

// Bind decodes the JSON payload into v.
func (m Message) Bind(v any) error { return json.Unmarshal(m.Data, v) }

// Handler is a WebSocket route's behaviour. Every member is optional; the
// callbacks of one connection never run concurrently, and OnMessage sees
// messages in arrival order.
type Handler struct {
	// OnConnect runs after the handshake, before any message is read.
	OnConnect func(c *Conn) error
	// OnMessage runs for each data message (after schema validation).
	OnMessage func(c *Conn, m Message) error
	// OnClose runs once when the connection is over, with the close code
	// (1006 when the connection dropped without a close frame).
	OnClose func(c *Conn, code int, reason string)
}

// CloseError, returned by a callback, closes the connection with its code.
// Any other error closes it with 1011 (and is logged).
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return "websocket: close " + strconv.Itoa(e.Code) + " " + e.Reason
}

// ErrClosed is returned by sends on a connection that is closing or closed.
var ErrClosed = errors.New("websocket: connection closed")

// ErrInvalidUTF8 is returned by a text send whose payload is not UTF-8.
var ErrInvalidUTF8 = errors.New("websocket: a text message must be valid UTF-8")

// Options are a route's compiled WebSocket settings.
type Options struct {
	Schema          *validate.Schema
	CloseOnInvalid  bool
	Subprotocols    []string
	MaxMessageBytes int64
	PingInterval    time.Duration // 0: never
	PongTimeout     time.Duration
	AllowedOrigins  []string
	Compression     bool
	// WriteTimeout bounds one write (default 10 s).
	WriteTimeout time.Duration
	// CloseTimeout is how long to wait for the peer's close frame after
	// sending ours (default 5 s).
	CloseTimeout time.Duration
}

// Compile turns a route's configuration into Options (nil: defaults).
func Compile(c *config.WebSocket) (*Options, error) {
	o := &Options{MaxMessageBytes: 1 << 20, PingInterval: 30 * time.Second, PongTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, CloseTimeout: 5 * time.Second}
	if c == nil {
		return o, nil
	}
	if len(c.MessageSchema) > 0 && string(c.MessageSchema) != "null" {
		s, err := validate.Compile(c.MessageSchema)
		if err != nil {
			return nil, fmt.Errorf("websocket.message_schema: %w", err)
		}
		o.Schema = s
	}
	switch c.OnInvalid {
	case "", "error":
	case "close":
		o.CloseOnInvalid = true
	default:
		return nil, fmt.Errorf("websocket.on_invalid: %q (want \"error\" or \"close\")", c.OnInvalid)
	}
	o.Subprotocols = c.Subprotocols
	if c.MaxMessageBytes > 0 {
		o.MaxMessageBytes = c.MaxMessageBytes
	}
	switch {
	case c.PingIntervalMS < 0:
		o.PingInterval = 0
	case c.PingIntervalMS > 0:
		o.PingInterval = time.Duration(c.PingIntervalMS) * time.Millisecond
	}
	if c.PongTimeoutMS > 0 {
		o.PongTimeout = time.Duration(c.PongTimeoutMS) * time.Millisecond
	}
	o.AllowedOrigins = c.AllowedOrigins
	o.Compression = c.Compression
	return o, nil
}

// Upgrader returns the handshake settings for these options; onError writes
// a refused handshake's answer.
func (o *Options) Upgrader(onError func(ctx *fasthttp.RequestCtx, status int, reason error)) *websocket.FastHTTPUpgrader {
	u := &websocket.FastHTTPUpgrader{
		HandshakeTimeout:  10 * time.Second,
		ReadBufferSize:    4096,
		WriteBufferSize:   4096,
		WriteBufferPool:   writePool,
		Subprotocols:      o.Subprotocols,
		EnableCompression: o.Compression,
		Error:             onError,
	}
	if len(o.AllowedOrigins) > 0 {
		allowed := o.AllowedOrigins
		u.CheckOrigin = func(ctx *fasthttp.RequestCtx) bool {
			origin := string(ctx.Request.Header.Peek("Origin"))
			if origin == "" {
				return true
			}
			for _, a := range allowed {
				if a == "*" || strings.EqualFold(a, origin) {
					return true
				}
			}
			return false
		}
	}
	return u
}

// writePool shares write buffers between connections: an idle connection
// holds none.
var writePool = &sync.Pool{}

// Request is what a connection keeps of its upgrade request.
type Request struct {
	Method, Path, RawQuery, RequestID string
	// Headers are the request's headers, names canonical.
	Headers [][2]string
	// Values is the JSON document of the validated parameters
	// ({"path":{...},"query":{...},...}, as app.Ctx.Values).
	Values []byte
	// Params looks up a validated parameter: source is "path", "query",
	// "headers" or "cookies".
	Params func(source, name string) (any, bool)
}

// Conn is one WebSocket connection. Send, SendText, SendBinary, SendJSON
// and Close are safe for concurrent use, from any goroutine.
type Conn struct {
	id   uint64
	ws   *websocket.Conn
	opts *Options
	h    Handler
	req  Request
	hub  *Hub
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	wmu sync.Mutex // data writes

	// life guards ws against use after Serve returned: fasthttp recycles
	// the hijacked connection then, and a shutdown's GoAway, a pinger or
	// a host thread (the C ABI) may still hold this Conn.
	life sync.RWMutex
	over bool

	// Read once at the start: the connection's accessors outlive it.
	subprotocol, remote string

	mu        sync.Mutex
	inHandler bool
	shutting  bool
	closeSent bool
	sentCode  int
	sentText  string

	pinger *time.Timer
	data   atomic.Value
}

// use runs fn with the websocket unless the connection is over; it
// reports whether fn ran.
func (c *Conn) use(fn func(ws *websocket.Conn)) bool {
	c.life.RLock()
	defer c.life.RUnlock()
	if c.over {
		return false
	}
	fn(c.ws)
	return true
}

// Over reports whether the connection has ended (its OnClose runs or ran).
func (c *Conn) Over() bool {
	c.life.RLock()
	defer c.life.RUnlock()
	return c.over
}

// ID is the connection's process-unique id.
func (c *Conn) ID() uint64 { return c.id }

// Subprotocol is the negotiated subprotocol ("" when none).
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Context is cancelled when the connection is over.
func (c *Conn) Context() context.Context { return c.ctx }

// Request is the upgrade request.
func (c *Conn) Request() *Request { return &c.req }

// Values is the JSON document of the upgrade request's validated parameters.
func (c *Conn) Values() []byte { return c.req.Values }

// Param returns a validated parameter of the upgrade request.
func (c *Conn) Param(source, name string) (any, bool) {
	if c.req.Params == nil {
		return nil, false
	}
	return c.req.Params(source, name)
}

// Header returns a header of the upgrade request.
func (c *Conn) Header(name string) string {
	for _, h := range c.req.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() string { return c.remote }

// SetData attaches a value to the connection; Data returns it.
func (c *Conn) SetData(v any) { c.data.Store(&v) }

// Data returns the value given to SetData (nil when none).
func (c *Conn) Data() any {
	if p, ok := c.data.Load().(*any); ok {
		return *p
	}
	return nil
}

// Send writes one data message.
func (c *Conn) Send(t MessageType, b []byte) error {
	if t != Text && t != Binary {
		return fmt.Errorf("websocket: message type %d is not text (1) or binary (2)", t)
	}
	if t == Text && !utf8.Valid(b) {
		return ErrInvalidUTF8
	}
	c.mu.Lock()
	closing := c.closeSent
	c.mu.Unlock()
	if closing {
		return ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var err error
	if !c.use(func(ws *websocket.Conn) {
		_ = ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
		err = ws.WriteMessage(int(t), b)
	}) {
		return ErrClosed
	}
	if err != nil && errors.Is(err, websocket.ErrCloseSent) {
		return ErrClosed
	}
	return err
}

// SendText writes a text message.
func (c *Conn) SendText(s string) error { return c.Send(Text, []byte(s)) }

// SendBinary writes a binary message.
func (c *Conn) SendBinary(b []byte) error { return c.Send(Binary, b) }

// SendJSON writes v as a JSON text message.
func (c *Conn) SendJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Send(Text, b)
}

// Close starts the closing handshake with this code (1000 when 0) and
// reason; the connection ends when the peer answers or after a timeout.
func (c *Conn) Close(code int, reason string) error {
	if code == 0 {
		code = CloseNormal
	}
	if !validCloseCode(code) {
		return fmt.Errorf("websocket: %d is not a close code an endpoint may send", code)
	}
	if len(reason) > 123 {
		return errors.New("websocket: a close reason is at most 123 bytes")
	}
	c.initiateClose(code, reason, c.opts.CloseTimeout)
	return nil
}

func validCloseCode(code int) bool {
	switch {
	case code >= 3000 && code <= 4999:
		return true
	case code >= 1000 && code <= 1014:
		return code != 1004 && code != 1005 && code != 1006
	}
	return false
}

// initiateClose sends a close frame once and bounds the wait for the reply.
func (c *Conn) initiateClose(code int, reason string, wait time.Duration) {
	c.mu.Lock()
	if c.closeSent {
		c.mu.Unlock()
		return
	}
	c.closeSent, c.sentCode, c.sentText = true, code, reason
	c.mu.Unlock()
	c.use(func(ws *websocket.Conn) {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason),
			time.Now().Add(c.opts.WriteTimeout))
		_ = ws.SetReadDeadline(time.Now().Add(wait))
	})
}

var lastID atomic.Uint64

// Serve runs a connection until it is over; the upgrade handler calls it.
func Serve(conn *websocket.Conn, o *Options, h Handler, req Request, hub *Hub, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	c := &Conn{id: lastID.Add(1), ws: conn, opts: o, h: h, req: req, hub: hub, log: log,
		subprotocol: conn.Subprotocol(), remote: conn.RemoteAddr().String()}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	register(c)
	if hub != nil && !hub.add(c) {
		// The app is shutting down: say so right away.
		c.mu.Lock()
		c.shutting = true
		c.mu.Unlock()
	}
	code, reason := c.run()
	c.life.Lock()
	c.over = true
	c.life.Unlock()
	c.cancel()
	c.mu.Lock()
	if c.pinger != nil {
		c.pinger.Stop()
	}
	c.mu.Unlock()
	if h.OnClose != nil {
		c.guard("on_close", func() error { h.OnClose(c, code, reason); return nil })
	}
	unregister(c)
	if hub != nil {
		hub.remove(c)
	}
}

// run is the read loop; it returns the close code and reason.
func (c *Conn) run() (int, string) {
	ws := c.ws
	ws.SetReadLimit(c.opts.MaxMessageBytes)
	ws.SetPongHandler(func(string) error { c.alive(); return nil })
	ws.SetPingHandler(func(data string) error {
		c.alive()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.opts.WriteTimeout))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			return err
		}
		return nil
	})
	ws.SetCloseHandler(func(code int, text string) error {
		c.mu.Lock()
		sent := c.closeSent
		c.closeSent = true
		c.mu.Unlock()
		if !sent {
			reply := code
			if code == CloseNoStatus {
				reply = CloseNormal
			}
			msg := websocket.FormatCloseMessage(reply, "")
			if code == CloseNoStatus {
				msg = []byte{}
			}
			_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.opts.WriteTimeout))
		}
		return nil
	})
	c.alive()
	c.mu.Lock()
	if c.opts.PingInterval > 0 {
		c.pinger = time.AfterFunc(c.opts.PingInterval, c.ping)
	}
	shutting := c.shutting
	c.mu.Unlock()
	if shutting {
		c.initiateClose(CloseGoingAway, "server shutting down", c.opts.CloseTimeout)
	} else if c.h.OnConnect != nil {
		c.dispatch(func() error { return c.h.OnConnect(c) })
	}
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			switch {
			case errors.As(err, &ce):
				return ce.Code, ce.Text
			case errors.Is(err, websocket.ErrReadLimit):
				c.mu.Lock()
				c.closeSent = true
				c.mu.Unlock()
				return CloseTooBig, "message too big"
			}
			c.mu.Lock()
			sent, code, text := c.closeSent, c.sentCode, c.sentText
			c.mu.Unlock()
			if sent && code != 0 {
				// We closed and the peer did not answer in time (or
				// dropped the connection): our code stands.
				return code, text
			}
			return CloseAbnormal, ""
		}
		c.alive()
		c.mu.Lock()
		skip := c.closeSent
		c.mu.Unlock()
		if skip {
			continue // data after a close frame is dropped
		}
		if typ == websocket.TextMessage && !utf8.Valid(data) {
			c.initiateClose(CloseInvalidPayload, "text message is not valid UTF-8", c.opts.CloseTimeout)
			continue
		}
		m := Message{Type: MessageType(typ), Data: data}
		if c.opts.Schema != nil {
			v, p := c.check(data)
			if p != nil {
				if c.opts.CloseOnInvalid {
					c.initiateClose(CloseInvalidPayload, "message does not match the message schema", c.opts.CloseTimeout)
				} else if err := c.Send(Text, p.Bytes()); err != nil && !errors.Is(err, ErrClosed) {
					c.kill()
				}
				continue
			}
			m.Value = v
		}
		if c.h.OnMessage != nil {
			c.dispatch(func() error { return c.h.OnMessage(c, m) })
		}
	}
}

// dispatch runs a callback; its error closes the connection, and a
// shutdown that began meanwhile closes it afterwards.
func (c *Conn) dispatch(fn func() error) {
	c.mu.Lock()
	c.inHandler = true
	c.mu.Unlock()
	err := c.guard("callback", fn)
	c.mu.Lock()
	c.inHandler = false
	shutting := c.shutting
	c.mu.Unlock()
	if err != nil {
		var ce *CloseError
		if errors.As(err, &ce) {
			c.initiateClose(ce.Code, ce.Reason, c.opts.CloseTimeout)
		} else {
			c.log.Error("websocket handler failed", "error", err, "request_id", c.req.RequestID, "path", c.req.Path)
			c.initiateClose(CloseInternalError, "internal error", c.opts.CloseTimeout)
		}
	}
	if shutting {
		c.initiateClose(CloseGoingAway, "server shutting down", c.opts.CloseTimeout)
	}
}

func (c *Conn) guard(what string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("websocket "+what+" panicked", "panic", v, "request_id", c.req.RequestID, "path", c.req.Path)
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return fn()
}

// check decodes and validates a message against the route's schema.
func (c *Conn) check(data []byte) (any, *problem.Problem) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, e := dec.Token(); e == nil {
			err = errors.New("data after the JSON value")
		}
	}
	if err != nil {
		return nil, problem.New(400, "bad-request", "Bad Request", "The message is not valid JSON")
	}
	errs := c.opts.Schema.ValidateJSON(v, data, []any{"message"})
	if len(errs) == 0 {
		return v, nil
	}
	detail := strconv.Itoa(len(errs)) + " validation error"
	if len(errs) != 1 {
		detail += "s"
	}
	return nil, &problem.Problem{Type: problem.TypeBase + "validation-error", Title: "Message Validation Failed",
		Status: 422, Detail: detail + " in message", Errors: errs}
}

// alive pushes the read deadline back: the peer is there.
func (c *Conn) alive() {
	c.mu.Lock()
	sent := c.closeSent
	c.mu.Unlock()
	if sent || c.opts.PingInterval <= 0 {
		return
	}
	// Only the read loop calls alive, while the connection is not over.
	_ = c.ws.SetReadDeadline(time.Now().Add(c.opts.PingInterval + c.opts.PongTimeout))
}

func (c *Conn) ping() {
	c.mu.Lock()
	sent := c.closeSent
	c.mu.Unlock()
	if sent || c.ctx.Err() != nil {
		return
	}
	var err error
	if !c.use(func(ws *websocket.Conn) {
		err = ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.opts.WriteTimeout))
	}) || err != nil {
		return
	}
	c.mu.Lock()
	if c.ctx.Err() == nil {
		c.pinger.Reset(c.opts.PingInterval)
	}
	c.mu.Unlock()
}

// goAway closes the connection for a shutdown (after the running callback).
func (c *Conn) goAway(wait time.Duration) {
	c.mu.Lock()
	c.shutting = true
	busy := c.inHandler
	c.mu.Unlock()
	if !busy {
		c.initiateClose(CloseGoingAway, "server shutting down", wait)
	}
}

// kill drops the TCP connection.
//
// fasthttp's hijacked connections ignore Close (fasthttp closes them when
// the hijack handler returns), so the deadlines do the cutting: the read
// loop and any writer fail at once, Serve returns, and fasthttp closes the
// socket.
func (c *Conn) kill() {
	c.use(func(ws *websocket.Conn) {
		now := time.Now()
		_ = ws.NetConn().SetReadDeadline(now)
		_ = ws.NetConn().SetWriteDeadline(now)
		_ = ws.NetConn().Close()
	})
}

// Process-wide registry, for the C ABI.
var (
	regMu sync.RWMutex
	reg   = map[uint64]*Conn{}
)

func register(c *Conn) {
	regMu.Lock()
	reg[c.id] = c
	regMu.Unlock()
}

func unregister(c *Conn) {
	regMu.Lock()
	delete(reg, c.id)
	regMu.Unlock()
}

// Get returns the open connection with this id, or nil.
func Get(id uint64) *Conn {
	regMu.RLock()
	defer regMu.RUnlock()
	return reg[id]
}

// Issued reports whether id was ever given to a connection (ids are not
// reused, so an issued id that Get does not find is a closed connection).
func Issued(id uint64) bool { return id != 0 && id <= lastID.Load() }

// OpenCount reports how many connections are open in the process.
func OpenCount() int {
	regMu.RLock()
	defer regMu.RUnlock()
	return len(reg)
}

// Hub tracks an app's connections for its shutdown. The zero value is ready.
type Hub struct {
	mu      sync.Mutex
	conns   map[*Conn]struct{}
	closing bool
	empty   chan struct{} // closed when conns drains during a shutdown
}

func (h *Hub) add(c *Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns == nil {
		h.conns = map[*Conn]struct{}{}
	}
	h.conns[c] = struct{}{}
	return !h.closing
}

func (h *Hub) remove(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	if h.closing && len(h.conns) == 0 && h.empty != nil {
		close(h.empty)
		h.empty = nil
	}
}

// WaitEmpty waits until every connection of a hub whose shutdown began
// (GoAway) has ended - its OnClose returned - or ctx ends.
func (h *Hub) WaitEmpty(ctx context.Context) error {
	h.mu.Lock()
	wait := h.empty
	n := len(h.conns)
	h.mu.Unlock()
	if n == 0 || wait == nil {
		return nil
	}
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Len is the number of open connections.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// GoAway sends 1001 to every connection (after its running callback) and
// waits until they are all closed or ctx ends; then it drops the rest.
// Connections that arrive meanwhile are closed at once.
func (h *Hub) GoAway(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	var wait chan struct{}
	if len(h.conns) > 0 {
		wait = make(chan struct{})
		h.empty = wait
	}
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	if wait == nil {
		return nil
	}
	d := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	for _, c := range conns {
		c.goAway(d)
	}
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		left := make([]*Conn, 0, len(h.conns))
		for c := range h.conns {
			left = append(left, c)
		}
		h.mu.Unlock()
		for _, c := range left {
			c.kill()
		}
		return fmt.Errorf("websocket: %d connections did not close in time", len(left))
	}
}
