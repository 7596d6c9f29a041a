// Command nethttp is the standard-library reference: net/http's ServeMux
// with method and wildcard patterns, doing the same work by hand as the
// raw-fasthttp server and giving the same answers.
package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"strconv"

	"github.com/spikard/spikard-go/bench/servekit"
	"github.com/spikard/spikard-go/bench/workload"
)

func sendJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func invalid(w http.ResponseWriter) {
	http.Error(w, `{"detail":"invalid input"}`, http.StatusUnprocessableEntity)
}

func echo(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		sendJSON(w, workload.HelloWorld)
	})
	mux.HandleFunc("GET /users/{id}/posts/{slug}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			invalid(w)
			return
		}
		sendJSON(w, workload.Post{ID: id, Slug: r.PathValue("slug")})
	})
	mux.HandleFunc("GET /search", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		s, err := workload.ParseSearch(q.Get("q"), q.Get("limit"), q.Get("page"),
			q.Has("q"), q.Has("limit"), q.Has("page"))
		if err != nil {
			invalid(w)
			return
		}
		sendJSON(w, s)
	})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		var it workload.Item
		if err != nil || json.Unmarshal(b, &it) != nil || it.Check() != nil {
			invalid(w)
			return
		}
		echo(w, b)
	})
	mux.HandleFunc("POST /items-raw", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || !json.Valid(b) {
			http.Error(w, `{"detail":"invalid JSON"}`, http.StatusBadRequest)
			return
		}
		echo(w, b)
	})
	log.Fatal(http.Serve(servekit.Listen(), mux))
}
