package main

import (
	"strconv"
	"strings"
)

// An event-stream parser (HTML Living Standard, "Server-sent events",
// "Interpreting an event stream"), written here rather than taken from the
// core, for the same reason as the WebSocket client.

type sseEvent struct {
	ID    string `json:"id,omitempty"`
	Event string `json:"event"`
	Data  string `json:"data"`
}

type sseParsed struct {
	events   []sseEvent
	comments []string
	retryMS  int
	// trailing is set when the stream ended inside an event (no blank line
	// after it): clients discard such an event.
	trailing bool
}

func parseEventStream(body string) sseParsed {
	var out sseParsed
	out.retryMS = -1
	lastID, typ := "", ""
	var data strings.Builder
	hasData, pending := false, false
	body = strings.TrimPrefix(body, "\ufeff")
	for len(body) > 0 {
		i := strings.IndexAny(body, "\r\n")
		if i < 0 {
			out.trailing = true // a line without its end
			break
		}
		line := body[:i]
		if body[i] == '\r' && i+1 < len(body) && body[i+1] == '\n' {
			i++
		}
		body = body[i+1:]
		if line == "" {
			if hasData {
				d := data.String()
				d = strings.TrimSuffix(d, "\n")
				t := typ
				if t == "" {
					t = "message"
				}
				out.events = append(out.events, sseEvent{ID: lastID, Event: t, Data: d})
			}
			data.Reset()
			typ, hasData, pending = "", false, false
			continue
		}
		pending = true
		field, value := line, ""
		if j := strings.IndexByte(line, ':'); j >= 0 {
			field, value = line[:j], strings.TrimPrefix(line[j+1:], " ")
		}
		switch field {
		case "":
			out.comments = append(out.comments, value)
			pending = hasData || typ != ""
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
			hasData = true
		case "event":
			typ = value
		case "id":
			if !strings.ContainsRune(value, 0) {
				lastID = value
			}
		case "retry":
			if n, err := strconv.Atoi(value); err == nil && n >= 0 && strings.Trim(value, "0123456789") == "" {
				out.retryMS = n
			}
		}
	}
	if pending {
		out.trailing = true
	}
	return out
}
