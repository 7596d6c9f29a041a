package ws

import (
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/config"
)

func TestCompile(t *testing.T) {
	o, err := Compile(nil)
	if err != nil || o.MaxMessageBytes != 1<<20 || o.PingInterval != 30*time.Second || o.Schema != nil {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	o, err = Compile(&config.WebSocket{MessageSchema: []byte(`{"type":"object"}`), OnInvalid: "close",
		MaxMessageBytes: 10, PingIntervalMS: -1, Subprotocols: []string{"a"}})
	if err != nil || o.Schema == nil || !o.CloseOnInvalid || o.MaxMessageBytes != 10 || o.PingInterval != 0 {
		t.Fatalf("%+v %v", o, err)
	}
	for _, bad := range []*config.WebSocket{
		{MessageSchema: []byte(`{"type":"nope"}`)},
		{OnInvalid: "ignore"},
	} {
		if _, err := Compile(bad); err == nil {
			t.Errorf("%+v compiled", bad)
		}
	}
}

func TestCloseCodes(t *testing.T) {
	for code, ok := range map[int]bool{1000: true, 1001: true, 1004: false, 1005: false, 1006: false,
		1011: true, 1015: false, 2999: false, 3000: true, 4999: true, 5000: false} {
		if validCloseCode(code) != ok {
			t.Errorf("%d: valid %v", code, !ok)
		}
	}
}
