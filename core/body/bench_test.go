package body

import (
	"bytes"
	"encoding/json"
	"testing"
)

// smallJSON is a typical ~100 byte object.
const smallJSON = `{"name":"Widget","price":19.99,"quantity":3,"tags":["tools","home"],"active":true,"sku":"W-0001"}`

const smallSchema = `{"type":"object","properties":{"name":{"type":"string"},"price":{"type":"number"},"quantity":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}},"active":{"type":"boolean"},"sku":{"type":"string"}}}`

func BenchmarkDecodeJSONSmall(b *testing.B) {
	d := mustDecoder(b, schemaRoute(smallSchema), Limits{})
	ctx := newCtx("application/json", smallJSON)
	b.SetBytes(int64(len(smallJSON)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, p, _ := d.Decode(ctx); p != nil {
			b.Fatal(p)
		}
	}
}

// BenchmarkStdlibJSONSmall is the encoding/json baseline for the same body.
func BenchmarkStdlibJSONSmall(b *testing.B) {
	raw := []byte(smallJSON)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeForm(b *testing.B) {
	body := "name=Widget&price=19.99&quantity=3&tags=tools&tags=home&active=true&sku=W-0001"
	d := mustDecoder(b, schemaRoute(smallSchema), Limits{})
	ctx := newCtx(formCT, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, p, errs := d.Decode(ctx); p != nil || errs != nil {
			b.Fatal(p, errs)
		}
	}
}

func BenchmarkDecodeMultipart(b *testing.B) {
	body := mpBody(field("name", "Widget"), field("quantity", "3"), file("doc", "a.txt", "text/plain", "hello world"))
	d := mustDecoder(b, schemaRoute(smallSchema), Limits{})
	ctx := newCtx(mpCT, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, p, errs := d.Decode(ctx); p != nil || errs != nil {
			b.Fatal(p, errs)
		}
	}
}
