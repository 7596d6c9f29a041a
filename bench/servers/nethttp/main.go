// Command nethttp is the standard-library reference: net/http's ServeMux
// with method and wildcard patterns, doing the same work by hand as the
// raw-fasthttp server (bench/servers/gohand) and giving the same answers.
package main

import (
	"io"
	"log"
	"mime"
	"net/http"
	"net/url"

	"github.com/spikard/spikard-go/bench/servekit"
	"github.com/spikard/spikard-go/bench/servers/gohand"
	"github.com/spikard/spikard-go/bench/workload"
)

type values url.Values

func (v values) Get(name string) (string, bool) {
	vs, ok := v[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func (v values) All(name string) []string { return v[name] }

func reply(w http.ResponseWriter) func([]byte, error) {
	return func(body []byte, err error) {
		if err != nil {
			http.Error(w, gohand.Invalid, http.StatusUnprocessableEntity)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}
}

func handler(rt *workload.Route, validated bool) http.HandlerFunc {
	switch rt.Kind {
	case workload.KindEcho:
		return func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err == nil {
				err = gohand.JSON(body, validated)
			}
			reply(w)(body, err)
		}
	case workload.KindPath:
		return func(w http.ResponseWriter, r *http.Request) {
			reply(w)(gohand.Path(rt.ID, r.PathValue, validated))
		}
	case workload.KindQuery:
		return func(w http.ResponseWriter, r *http.Request) {
			reply(w)(gohand.Fields(rt.ID, values(r.URL.Query()), validated))
		}
	case workload.KindForm:
		return func(w http.ResponseWriter, r *http.Request) {
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
				http.Error(w, gohand.Invalid, http.StatusUnsupportedMediaType)
				return
			}
			if err := r.ParseForm(); err != nil {
				http.Error(w, `{"detail":"bad form"}`, http.StatusBadRequest)
				return
			}
			reply(w)(gohand.Fields(rt.ID, values(r.PostForm), validated))
		}
	case workload.KindMultipart:
		return func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseMultipartForm(10 << 20); err != nil {
				http.Error(w, `{"detail":"bad multipart body"}`, http.StatusBadRequest)
				return
			}
			defer r.MultipartForm.RemoveAll()
			var u gohand.Upload
			if t := r.MultipartForm.Value["title"]; len(t) > 0 {
				u.Title, u.HasTitle = t[0], true
			}
			if fs := r.MultipartForm.File["file"]; len(fs) > 0 {
				u.HasFile, u.Filename, u.ContentType, u.Size = true, fs[0].Filename, fs[0].Header.Get("Content-Type"), int(fs[0].Size)
			}
			reply(w)(gohand.Multipart(u, validated))
		}
	}
	panic("nethttp: unknown route kind " + rt.Kind)
}

func main() {
	mux := http.NewServeMux()
	for _, r := range workload.Routes {
		mux.Handle(r.Method+" "+r.Path, handler(r, false))
		mux.Handle(r.Method+" "+r.ValidatedPath(), handler(r, true))
	}
	log.Fatal(http.Serve(servekit.Listen(), mux))
}
