package workload

import (
	"bytes"
	"encoding/json"

	"github.com/spikard/spikard-go/core/config"
)

// FormSchema is the body schema of a urlencoded route: an object of its
// fields (all required), with their constraints when validated.
func FormSchema(r *Route, validated bool) json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"type":"object","properties":{`)
	var req []string
	for i, p := range r.Params {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.Name)
		b.Write(k)
		b.WriteByte(':')
		if validated {
			b.Write(p.Schema)
		} else {
			b.Write(p.Plain)
		}
		req = append(req, p.Name)
	}
	rq, _ := json.Marshal(req)
	b.WriteString(`},"required":`)
	b.Write(rq)
	b.WriteString(`}`)
	return b.Bytes()
}

// CoreDocument is the benchmark app as the core's configuration document
// (core/config), which every Spikard binding can serve as it is: each
// route's handler is named after its kind (echo, path, query, form,
// multipart), and answers from the request's validated values — the path
// or query group, the body, or the file part's title, filename and size.
func CoreDocument() *config.App {
	doc := &config.App{Version: config.Version, Server: config.Server{Host: "127.0.0.1"}}
	for _, r := range Routes {
		for _, validated := range []bool{false, true} {
			rt := config.Route{Method: r.Method, Path: r.Path, Handler: r.Kind, BodySchema: r.PlainBody}
			if validated {
				rt.Path, rt.BodySchema = r.ValidatedPath(), r.Body
			}
			for _, p := range r.Params {
				schema := p.Plain
				if validated {
					schema = p.Schema
				}
				prm := config.Param{Name: p.Name, Schema: schema, Required: true}
				switch r.Kind {
				case KindPath:
					rt.Parameters.Path = append(rt.Parameters.Path, prm)
				case KindQuery:
					rt.Parameters.Query = append(rt.Parameters.Query, prm)
				}
			}
			if r.Kind == KindForm {
				rt.BodySchema = FormSchema(r, validated)
			}
			doc.Routes = append(doc.Routes, rt)
		}
	}
	return doc
}
