package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// A minimal WebSocket client (RFC 6455), written here rather than taken
// from the library the Go core serves with, so that a shared bug cannot
// hide: the handshake, masked frames, fragmented messages, control frames.

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

type wsClient struct {
	conn net.Conn
	br   *bufio.Reader
}

// wsMessage is a data message, or a control frame (close, pong) seen while
// waiting for one.
type wsMessage struct {
	op      byte
	payload []byte
}

func (m wsMessage) describe() string {
	switch m.op {
	case opText:
		return "text " + quoteSnippet(string(m.payload))
	case opBinary:
		return "binary " + base64.StdEncoding.EncodeToString(m.payload)
	case opClose:
		code, reason := closePayload(m.payload)
		return fmt.Sprintf("close %d %q", code, reason)
	case opPong:
		return "pong " + quoteSnippet(string(m.payload))
	}
	return fmt.Sprintf("opcode %d", m.op)
}

func closePayload(p []byte) (int, string) {
	if len(p) < 2 {
		return 1005, ""
	}
	return int(binary.BigEndian.Uint16(p)), string(p[2:])
}

// wsDial opens a WebSocket on addr. When the server does not switch
// protocols, the client is nil and the response says why.
func wsDial(addr, path string, headers [][2]string, deadline time.Time) (*wsClient, *http.Response, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return nil, nil, err
	}
	_ = conn.SetDeadline(deadline)
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	var b strings.Builder
	b.WriteString("GET " + escapePath(path) + " HTTP/1.1\r\nHost: " + addr + "\r\n")
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n")
	for _, h := range headers {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("reading the handshake answer: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		conn.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		return nil, resp, nil
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		conn.Close()
		return nil, resp, fmt.Errorf("Sec-WebSocket-Accept %q, want %q", got, want)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		conn.Close()
		return nil, resp, fmt.Errorf("101 without Upgrade: websocket")
	}
	return &wsClient{conn: conn, br: br}, resp, nil
}

// write sends one masked frame (FIN set).
func (w *wsClient) write(op byte, payload []byte) error {
	hdr := []byte{0x80 | op}
	n := len(payload)
	switch {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, n)
	for i := range payload {
		masked[i] = payload[i] ^ mask[i%4]
	}
	_, err := w.conn.Write(append(hdr, masked...))
	return err
}

// readFrame reads one frame (server frames are not masked).
func (w *wsClient) readFrame() (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(w.br, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	if h[0]&0x70 != 0 {
		return fin, op, nil, errors.New("a frame with reserved bits set (no extension was negotiated)")
	}
	if h[1]&0x80 != 0 {
		return fin, op, nil, errors.New("a masked frame from the server")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err = io.ReadFull(w.br, e[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err = io.ReadFull(w.br, e[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	if n > 64<<20 {
		return fin, op, nil, fmt.Errorf("a %d-byte frame", n)
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(w.br, payload)
	return
}

// read returns the next data message, close frame or pong; pings are
// answered on the way.
func (w *wsClient) read() (wsMessage, error) {
	var msgOp byte
	var data []byte
	for {
		fin, op, p, err := w.readFrame()
		if err != nil {
			return wsMessage{}, err
		}
		switch op {
		case opPing:
			if err := w.write(opPong, p); err != nil {
				return wsMessage{}, err
			}
			continue
		case opPong, opClose:
			return wsMessage{op: op, payload: p}, nil
		case opText, opBinary:
			if msgOp != 0 {
				return wsMessage{}, errors.New("a new message began inside a fragmented one")
			}
			msgOp, data = op, p
		case opContinuation:
			if msgOp == 0 {
				return wsMessage{}, errors.New("a continuation frame outside a message")
			}
			data = append(data, p...)
		default:
			return wsMessage{}, fmt.Errorf("unknown opcode %d", op)
		}
		if fin {
			return wsMessage{op: msgOp, payload: data}, nil
		}
	}
}

func (w *wsClient) close() { _ = w.conn.Close() }
