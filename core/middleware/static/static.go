// Package static serves files from directories mounted under URL prefixes.
//
// Configuration key "static_files" (order 80), app-wide or per route: a list
// of mounts (a single object is accepted too):
//
//	"middleware": {"static_files": [{
//	    "route_prefix": "/public",
//	    "directory": "./public",                  // a real directory, or:
//	    "files": [{"path": "hello.txt", "content": "Hello"}],  // written to a temporary directory
//	    "directory_name": "site",                 // names that temporary directory
//	    "index_file": true,                       // true (index.html, the default), false, or a file name
//	    "cache_control": "public, max-age=60",
//	    "hidden_files": false,                    // serve names starting with "." (default false)
//	    "precompressed": true                     // serve name.br / name.gz siblings (default true)
//	}]}
//
// A GET or HEAD whose path is under a mount's prefix is answered from the
// mount when the file exists; otherwise (another method, no such file) the
// request goes on to the next handler, so routes under the prefix keep
// working. As app-wide middleware (it wraps the router) a mount answers
// paths no route matches; as route middleware it only sees its route's
// requests. The prefix itself serves the mount's index file; a
// sub-directory requested without its trailing slash is redirected (307).
//
// Answers carry Content-Type (by extension), ETag, Last-Modified,
// Accept-Ranges, X-Content-Type-Options: nosniff and the mount's
// Cache-Control. If-None-Match / If-Modified-Since give 304, Range gives 206
// (one range; several are answered with the whole file) or 416, If-Range is
// honoured. When name.br or name.gz exists and Accept-Encoding allows it,
// that file is sent with Content-Encoding (and Vary: Accept-Encoding).
//
// Paths never leave the directory: the URL path (already percent-decoded
// and dot-segment-normalized by fasthttp) is split into segments and "." /
// ".." segments, backslashes and NUL bytes are refused; files are then
// opened through os.Root, which refuses any name or symbolic link resolving
// outside the directory.
//
// Files up to 256 KiB are kept in memory (64 MiB per mount at most) and
// revalidated with a stat at most once a second; larger ones are streamed
// from disk. Absent names are remembered for a second too, so a mount at "/"
// in front of routes costs no system call per routed request. A file that
// appears or changes is therefore served within a second; a precompressed
// sibling is re-read when its main file changes.
package static

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spikard/spikard-go/core/middleware"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

func init() { middleware.Register("static_files", 80, New) }

// Mount is one entry of the "static_files" configuration value.
type Mount struct {
	RoutePrefix   string          `json:"route_prefix"`
	Directory     string          `json:"directory"`
	DirectoryName string          `json:"directory_name"`
	IndexFile     json.RawMessage `json:"index_file"`
	CacheControl  string          `json:"cache_control"`
	Files         []File          `json:"files"`
	HiddenFiles   bool            `json:"hidden_files"`
	Precompressed *bool           `json:"precompressed"`
}

// File is an inline file of a mount.
type File struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// Tunables (variables for tests).
var (
	revalidateEvery       = time.Second
	maxCachedFile   int64 = 256 << 10
	maxCacheBytes   int64 = 64 << 20
	maxEntries            = 10000
	maxMisses             = 4096
)

// New builds the middleware from its raw configuration value.
func New(raw json.RawMessage) (middleware.Middleware, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var mounts []Mount
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var err error
	if raw[0] == '{' {
		var m Mount
		err = dec.Decode(&m)
		mounts = []Mount{m}
	} else {
		err = dec.Decode(&mounts)
	}
	if err != nil {
		return nil, fmt.Errorf("static_files: %w", err)
	}
	var ms []*mount
	for i, m := range mounts {
		cm, err := compile(m)
		if err != nil {
			return nil, fmt.Errorf("static_files[%d]: %w", i, err)
		}
		ms = append(ms, cm)
	}
	if len(ms) == 0 {
		return nil, nil
	}
	return serveMounts(ms), nil
}

// mount is a compiled Mount.
type mount struct {
	prefix        string // "" for "/", else "/a/b" without trailing slash
	root          *os.Root
	dir           string
	index         string
	cacheControl  []byte
	hidden        bool
	precompressed bool

	mu         sync.RWMutex
	cache      map[string]*entry
	misses     map[string]int64 // names known absent, with the time they were checked
	cacheBytes atomic.Int64
}

func compile(m Mount) (*mount, error) {
	p := m.RoutePrefix
	if p == "" || p[0] != '/' {
		return nil, fmt.Errorf("route_prefix %q must start with /", p)
	}
	if strings.ContainsAny(p, "?#%\\\x00") || strings.Contains(p, "//") {
		return nil, fmt.Errorf("route_prefix %q: invalid characters", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return nil, fmt.Errorf("route_prefix %q: dot segments", p)
		}
	}
	cm := &mount{prefix: strings.TrimSuffix(p, "/"), hidden: m.HiddenFiles,
		precompressed: m.Precompressed == nil || *m.Precompressed, cache: map[string]*entry{}, misses: map[string]int64{}, index: "index.html"}
	if strings.ContainsAny(m.CacheControl, "\r\n\x00") {
		return nil, fmt.Errorf("cache_control: invalid characters")
	}
	if m.CacheControl != "" {
		cm.cacheControl = []byte(m.CacheControl)
	}
	if len(m.IndexFile) > 0 && string(m.IndexFile) != "null" {
		var b bool
		var s string
		switch {
		case json.Unmarshal(m.IndexFile, &b) == nil:
			if !b {
				cm.index = ""
			}
		case json.Unmarshal(m.IndexFile, &s) == nil:
			if s == "" || strings.ContainsAny(s, "/\\\x00") || s == "." || s == ".." {
				return nil, fmt.Errorf("index_file %q must be a file name", s)
			}
			cm.index = s
		default:
			return nil, fmt.Errorf("index_file must be a boolean or a file name")
		}
	}
	switch {
	case m.Directory != "" && len(m.Files) > 0:
		return nil, fmt.Errorf("directory and files are exclusive")
	case m.Directory != "":
		if m.DirectoryName != "" {
			return nil, fmt.Errorf("directory_name only names the directory made for files")
		}
		cm.dir = m.Directory
	case len(m.Files) > 0:
		dir, err := writeFiles(m.DirectoryName, m.Files)
		if err != nil {
			return nil, err
		}
		cm.dir = dir
	default:
		return nil, fmt.Errorf("directory or files is required")
	}
	root, err := os.OpenRoot(cm.dir)
	if err != nil {
		return nil, err
	}
	cm.root = root
	return cm, nil
}

// writeFiles puts the inline files in a directory named after their
// content, so every app (and every process) declaring the same files shares
// one directory instead of leaving a new one behind per build.
func writeFiles(name string, files []File) (string, error) {
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("directory_name %q: use letters, digits, '-', '_' and '.'", name)
		}
	}
	h := sha256.New()
	for _, f := range files {
		p := f.Path
		if strings.ContainsAny(p, "\\\x00") || !filepath.IsLocal(filepath.FromSlash(p)) || path.Clean(p) != p {
			return "", fmt.Errorf("files: path %q must be a clean relative path", p)
		}
		fmt.Fprintf(h, "%d:%s%d:%s", len(p), p, len(f.Content), f.Content)
	}
	base := "spikard-static-"
	if name != "" {
		base += name + "-"
	}
	dir := filepath.Join(os.TempDir(), base+hex.EncodeToString(h.Sum(nil))[:20])
	for _, f := range files {
		full := filepath.Join(dir, filepath.FromSlash(f.Path))
		if old, err := os.ReadFile(full); err == nil && string(old) == f.Content {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		// Write then rename: another process serving the same files never
		// sees a half-written one.
		tmp, err := os.CreateTemp(filepath.Dir(full), ".tmp-*")
		if err != nil {
			return "", err
		}
		_, werr := tmp.WriteString(f.Content)
		cerr := tmp.Close()
		if werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o644)
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), full)
		}
		if werr != nil {
			os.Remove(tmp.Name())
			return "", werr
		}
	}
	return dir, nil
}

// serveMounts returns the middleware for compiled mounts (tried in order).
func serveMounts(ms []*mount) middleware.Middleware {
	return func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			if ctx.IsGet() || ctx.IsHead() {
				p := ctx.Path()
				for _, m := range ms {
					if rel, ok := m.match(p); ok && m.serve(ctx, rel) {
						return
					}
				}
			}
			next(ctx)
		}
	}
}

// match returns the part of the path below the mount's prefix ("" for the
// prefix itself or its directory).
func (m *mount) match(p []byte) ([]byte, bool) {
	if len(p) == 0 || p[0] != '/' {
		return nil, false
	}
	if m.prefix == "" {
		return p[1:], true
	}
	if !bytes.HasPrefix(p, []byte(m.prefix)) {
		return nil, false
	}
	rest := p[len(m.prefix):]
	switch {
	case len(rest) == 0:
		return rest, true
	case rest[0] == '/':
		return rest[1:], true
	}
	return nil, false
}

// Resolve maps the URL path below a mount's prefix to a slash-separated
// name relative to the mount's directory ("." for the directory itself).
// dir reports a trailing slash (or an empty path). ok is false for paths
// that must not be served: "." or ".." segments, backslashes, NUL bytes,
// and (unless hidden) segments starting with ".".
func Resolve(rel []byte, hidden bool) (name string, dir, ok bool) {
	var buf [256]byte
	b, dir, ok := resolveTo(buf[:0], rel, hidden)
	if !ok {
		return "", false, false
	}
	if len(b) == 0 {
		return ".", dir, true
	}
	return string(b), dir, true
}

// resolveTo appends the name for rel to dst (nothing for the directory
// itself); see Resolve.
func resolveTo(dst, rel []byte, hidden bool) (name []byte, dir, ok bool) {
	dir = len(rel) == 0 || rel[len(rel)-1] == '/'
	start := len(dst)
	for len(rel) > 0 {
		var seg []byte
		if i := bytes.IndexByte(rel, '/'); i >= 0 {
			seg, rel = rel[:i], rel[i+1:]
		} else {
			seg, rel = rel, nil
		}
		if len(seg) == 0 {
			continue
		}
		if seg[0] == '.' && (!hidden || len(seg) == 1 || (len(seg) == 2 && seg[1] == '.')) {
			return dst, false, false
		}
		if bytes.IndexByte(seg, '\\') >= 0 || bytes.IndexByte(seg, 0) >= 0 {
			return dst, false, false
		}
		if len(dst) > start {
			dst = append(dst, '/')
		}
		dst = append(dst, seg...)
	}
	if len(dst) == start {
		dir = true
	}
	return dst, dir, true
}

// entry is what a cached path serves.
type entry struct {
	name         string // the file served, relative to the root
	size         int64
	modTime      time.Time
	etag         []byte
	lastModified []byte
	contentType  []byte
	data         []byte // nil when the file is streamed from disk
	variants     []variant
	redirect     bool // a directory asked for without its trailing slash
	checked      atomic.Int64
}

type variant struct {
	encoding string // "br", "gzip"
	name     string
	size     int64
	etag     []byte
	data     []byte
}

var suffixes = [...]struct{ suffix, encoding string }{{".br", "br"}, {".gz", "gzip"}}

// lookup returns the fresh entry for rel, or nil when nothing is served.
// The cache key is the resolved name ("/" appended for directory
// requests), so aliases such as "a//b" share one entry.
func (m *mount) lookup(rel []byte) *entry {
	var buf [256]byte
	key, dir, ok := resolveTo(buf[:0], rel, m.hidden)
	if !ok {
		return nil
	}
	if dir {
		key = append(key, '/')
	}
	m.mu.RLock()
	e := m.cache[string(key)]
	missAt, missed := m.misses[string(key)]
	m.mu.RUnlock()
	now := time.Now().UnixNano()
	if missed && now-missAt < int64(revalidateEvery) {
		return nil
	}
	if e != nil {
		if now-e.checked.Load() < int64(revalidateEvery) {
			return e
		}
		// Revalidate: same file, same size and time → keep.
		if fi, err := m.root.Stat(e.name); err == nil && fi.Mode().IsRegular() &&
			fi.Size() == e.size && fi.ModTime().Equal(e.modTime) {
			e.checked.Store(now)
			return e
		}
	}
	name := "."
	if n := len(key); n > 1 || (n == 1 && !dir) {
		name = string(key[:n-btoi(dir)])
	}
	ne := m.load(name, dir)
	m.mu.Lock()
	if old := m.cache[string(key)]; old != nil {
		m.cacheBytes.Add(-old.cost())
		delete(m.cache, string(key))
	}
	delete(m.misses, string(key))
	if ne == nil {
		if len(m.misses) >= maxMisses {
			clear(m.misses)
		}
		m.misses[string(key)] = now
	} else if !ne.redirect && len(m.cache) < maxEntries && m.cacheBytes.Load()+ne.cost() <= maxCacheBytes {
		ne.checked.Store(now)
		m.cache[string(key)] = ne
		m.cacheBytes.Add(ne.cost())
	}
	m.mu.Unlock()
	return ne
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (e *entry) cost() int64 {
	n := int64(len(e.data)) + 256
	for _, v := range e.variants {
		n += int64(len(v.data))
	}
	return n
}

func (m *mount) load(name string, dirReq bool) *entry {
	fi, err := m.root.Stat(name)
	if err != nil {
		return nil
	}
	if fi.IsDir() {
		if m.index == "" {
			return nil
		}
		idx := m.index
		if name != "." {
			idx = name + "/" + m.index
		}
		ifi, err := m.root.Stat(idx)
		if err != nil || !ifi.Mode().IsRegular() {
			return nil
		}
		if !dirReq {
			return &entry{redirect: true}
		}
		name, fi = idx, ifi
	} else if dirReq && name != "." {
		return nil // "file.txt/" is not a directory
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	e := &entry{name: name, size: fi.Size(), modTime: fi.ModTime(), contentType: []byte(ContentType(name))}
	if e.size <= maxCachedFile {
		data, err := m.root.ReadFile(name)
		if err != nil {
			return nil
		}
		e.data, e.size = data, int64(len(data))
	}
	e.etag = makeETag(e.modTime, e.size, "")
	e.lastModified = fasthttp.AppendHTTPDate(nil, e.modTime)
	if m.precompressed {
		for _, s := range suffixes {
			vfi, err := m.root.Stat(name + s.suffix)
			if err != nil || !vfi.Mode().IsRegular() {
				continue
			}
			v := variant{encoding: s.encoding, name: name + s.suffix, size: vfi.Size(),
				etag: makeETag(vfi.ModTime(), vfi.Size(), s.encoding)}
			if v.size <= maxCachedFile {
				if v.data, err = m.root.ReadFile(v.name); err != nil {
					continue
				}
				v.size = int64(len(v.data))
			}
			e.variants = append(e.variants, v)
		}
	}
	return e
}

func makeETag(t time.Time, size int64, enc string) []byte {
	b := make([]byte, 0, 48)
	b = append(b, '"')
	b = strconv.AppendInt(b, t.UnixNano(), 36)
	b = append(b, '-')
	b = strconv.AppendInt(b, size, 36)
	if enc != "" {
		b = append(b, '-')
		b = append(b, enc...)
	}
	return append(b, '"')
}

var (
	kETag         = []byte("Etag")
	kLastModified = []byte("Last-Modified")
	kCacheControl = []byte("Cache-Control")
	kNosniff      = []byte("X-Content-Type-Options")
	kAcceptRanges = []byte("Accept-Ranges")
	vNosniff      = []byte("nosniff")
	vBytes        = []byte("bytes")
)

// serve answers the request from the mount; false means "not here".
func (m *mount) serve(ctx *fasthttp.RequestCtx, rel []byte) bool {
	e := m.lookup(rel)
	if e == nil {
		return false
	}
	if e.redirect {
		loc := (&url.URL{Path: string(ctx.Path()) + "/"}).EscapedPath()
		if strings.HasPrefix(loc, "//") {
			return false
		}
		if q := ctx.URI().QueryString(); len(q) > 0 {
			loc += "?" + string(q)
		}
		ctx.Response.ResetBody()
		ctx.Response.Header.Set(fasthttp.HeaderLocation, loc)
		ctx.SetStatusCode(fasthttp.StatusTemporaryRedirect)
		return true
	}
	h := &ctx.Response.Header
	req := &ctx.Request.Header

	// The representation: a precompressed sibling unless a range is asked.
	rangeHdr := req.Peek(fasthttp.HeaderRange)
	etag, data, size, name, enc := e.etag, e.data, e.size, e.name, ""
	if len(e.variants) > 0 && rangeHdr == nil {
		if v := pick(e.variants, req.Peek(fasthttp.HeaderAcceptEncoding)); v != nil {
			etag, data, size, name, enc = v.etag, v.data, v.size, v.name, v.encoding
		}
	}

	// A file streamed from disk is opened first: if it went away since it
	// was cached, nothing has been written yet and the request goes on.
	var f *os.File
	if data == nil && !ctx.IsHead() {
		var err error
		if f, err = m.root.Open(name); err != nil {
			m.forget(e)
			return false
		}
	}
	ctx.Response.ResetBody()
	if len(e.variants) > 0 {
		h.Add(fasthttp.HeaderVary, "Accept-Encoding")
	}
	// Canonical keys and prepared values: no normalization per request.
	h.SetCanonical(kETag, etag)
	h.SetCanonical(kLastModified, e.lastModified)
	if m.cacheControl != nil {
		h.SetCanonical(kCacheControl, m.cacheControl)
	}

	if notModified(req, etag, e.modTime) {
		closeFile(f)
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return true
	}

	h.SetContentTypeBytes(e.contentType)
	h.SetCanonical(kNosniff, vNosniff)
	h.SetCanonical(kAcceptRanges, vBytes)
	if enc != "" {
		h.SetContentEncoding(enc)
	}

	start, end := int64(0), size // [start, end)
	partial := false
	ctx.SetStatusCode(fasthttp.StatusOK)
	if rangeHdr != nil && ifRangeOK(req, e) {
		s, en, ok, satisfiable := parseRange(rangeHdr, size)
		if ok && !satisfiable {
			p := problem.New(fasthttp.StatusRequestedRangeNotSatisfiable, "range-not-satisfiable",
				"Range Not Satisfiable", "The requested range is outside the file")
			closeFile(f)
			ctx.SetStatusCode(p.Status)
			h.Set(fasthttp.HeaderContentRange, "bytes */"+strconv.FormatInt(size, 10))
			h.SetContentType(problem.ContentType)
			ctx.SetBody(p.Bytes())
			return true
		}
		if ok {
			start, end, partial = s, en, true
			var cr [64]byte
			b := append(cr[:0], "bytes "...)
			b = strconv.AppendInt(b, start, 10)
			b = append(b, '-')
			b = strconv.AppendInt(b, end-1, 10)
			b = append(b, '/')
			b = strconv.AppendInt(b, size, 10)
			h.SetBytesV(fasthttp.HeaderContentRange, b)
			ctx.SetStatusCode(fasthttp.StatusPartialContent)
		}
	}
	if data != nil {
		ctx.Response.SetBodyRaw(data[start:end])
		return true
	}
	if ctx.IsHead() {
		h.SetContentLength(int(end - start))
		ctx.Response.SkipBody = true
		return true
	}
	if !partial {
		ctx.Response.SetBodyStream(f, int(size))
	} else {
		ctx.Response.SetBodyStream(&sectionFile{io.NewSectionReader(f, start, end-start), f}, int(end-start))
	}
	return true
}

func closeFile(f *os.File) {
	if f != nil {
		_ = f.Close()
	}
}

type sectionFile struct {
	*io.SectionReader
	f *os.File
}

func (s *sectionFile) Close() error { return s.f.Close() }

// forget drops an entry whose file went away.
func (m *mount) forget(e *entry) {
	m.mu.Lock()
	for k, v := range m.cache {
		if v == e {
			delete(m.cache, k)
			m.cacheBytes.Add(-e.cost())
		}
	}
	m.mu.Unlock()
}

// pick chooses a precompressed variant by Accept-Encoding (q-values
// honoured, brotli preferred on a tie).
func pick(vs []variant, ae []byte) *variant {
	if len(ae) == 0 {
		return nil
	}
	var best *variant
	bestQ := 0
	for i := range vs {
		q := codingQ(ae, vs[i].encoding)
		if q > bestQ {
			best, bestQ = &vs[i], q
		}
	}
	return best
}

// codingQ returns the q-value (thousandths) Accept-Encoding gives a coding.
func codingQ(ae []byte, coding string) int {
	q, star := -1, -1
	for len(ae) > 0 {
		var item []byte
		if i := bytes.IndexByte(ae, ','); i >= 0 {
			item, ae = ae[:i], ae[i+1:]
		} else {
			item, ae = ae, nil
		}
		c, params := item, []byte(nil)
		if i := bytes.IndexByte(item, ';'); i >= 0 {
			c, params = item[:i], item[i+1:]
		}
		c = bytes.TrimSpace(c)
		switch {
		case bytes.EqualFold(c, []byte(coding)) || (coding == "gzip" && bytes.EqualFold(c, []byte("x-gzip"))):
			q = parseQ(params)
		case len(c) == 1 && c[0] == '*':
			star = parseQ(params)
		}
	}
	if q < 0 {
		q = star
	}
	return max(q, 0)
}

func parseQ(params []byte) int {
	for len(params) > 0 {
		var p []byte
		if i := bytes.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			p, params = params, nil
		}
		p = bytes.TrimSpace(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' {
			continue
		}
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(p[2:])), 64)
		if err != nil || f < 0 || f > 1 {
			return 0
		}
		return int(f * 1000)
	}
	return 1000
}

// notModified evaluates If-None-Match (weak comparison), or else
// If-Modified-Since.
func notModified(req *fasthttp.RequestHeader, etag []byte, mod time.Time) bool {
	if inm := req.Peek(fasthttp.HeaderIfNoneMatch); inm != nil {
		return etagListMatch(inm, etag, true)
	}
	if ims := req.Peek(fasthttp.HeaderIfModifiedSince); len(ims) > 0 {
		t, err := fasthttp.ParseHTTPDate(ims)
		return err == nil && !mod.Truncate(time.Second).After(t)
	}
	return false
}

// ifRangeOK reports whether a Range may be honoured under If-Range: absent,
// a strong ETag equal to the file's, or its exact Last-Modified date.
func ifRangeOK(req *fasthttp.RequestHeader, e *entry) bool {
	ir := req.Peek(fasthttp.HeaderIfRange)
	if ir == nil {
		return true
	}
	if len(ir) > 0 && (ir[0] == '"' || bytes.HasPrefix(ir, []byte("W/"))) {
		return bytes.Equal(ir, e.etag) // strong comparison: weak tags never match
	}
	t, err := fasthttp.ParseHTTPDate(ir)
	return err == nil && t.Equal(e.modTime.Truncate(time.Second))
}

func etagListMatch(list, etag []byte, weak bool) bool {
	want := bytes.TrimPrefix(etag, []byte("W/"))
	for len(list) > 0 {
		var t []byte
		if i := bytes.IndexByte(list, ','); i >= 0 {
			t, list = list[:i], list[i+1:]
		} else {
			t, list = list, nil
		}
		t = bytes.TrimSpace(t)
		if len(t) == 1 && t[0] == '*' {
			return true
		}
		if weak {
			t = bytes.TrimPrefix(t, []byte("W/"))
		}
		if bytes.Equal(t, want) {
			return true
		}
	}
	return false
}

// parseRange parses a single "bytes=" range against size. ok is false when
// the header is to be ignored (malformed, several ranges, another unit);
// satisfiable is false for a well-formed range outside the file.
func parseRange(h []byte, size int64) (start, end int64, ok, satisfiable bool) {
	v, found := bytes.CutPrefix(bytes.TrimSpace(h), []byte("bytes="))
	if !found || bytes.IndexByte(v, ',') >= 0 {
		return 0, 0, false, false
	}
	first, last, found := bytes.Cut(bytes.TrimSpace(v), []byte("-"))
	if !found {
		return 0, 0, false, false
	}
	first, last = bytes.TrimSpace(first), bytes.TrimSpace(last)
	num := func(b []byte) (int64, bool) {
		if len(b) == 0 || len(b) > 18 {
			return 0, false
		}
		var n int64
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		}
		return n, true
	}
	switch {
	case len(first) == 0: // suffix: the last N bytes
		n, good := num(last)
		if !good {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		return max(size-n, 0), size, true, true
	default:
		s, good := num(first)
		if !good {
			return 0, 0, false, false
		}
		e := size - 1
		if len(last) > 0 {
			l, good := num(last)
			if !good || l < s {
				return 0, 0, false, false
			}
			e = min(l, size-1)
		}
		if s >= size {
			return 0, 0, true, false
		}
		return s, e + 1, true, true
	}
}

// ContentType returns the media type for a file name by its extension.
func ContentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := types[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// types is fixed so answers don't depend on the host's mime.types.
var types = map[string]string{
	".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
	".txt": "text/plain; charset=utf-8", ".text": "text/plain; charset=utf-8",
	".css": "text/css; charset=utf-8", ".csv": "text/csv; charset=utf-8",
	".md": "text/markdown; charset=utf-8", ".xml": "application/xml",
	".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
	".json": "application/json", ".map": "application/json",
	".webmanifest": "application/manifest+json", ".jsonld": "application/ld+json",
	".wasm": "application/wasm", ".pdf": "application/pdf",
	".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
	".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon",
	".bmp": "image/bmp", ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf",
	".otf": "font/otf", ".mp4": "video/mp4", ".webm": "video/webm", ".mp3": "audio/mpeg",
	".ogg": "audio/ogg", ".wav": "audio/wav", ".zip": "application/zip", ".gz": "application/gzip",
	".br": "application/x-brotli", ".tar": "application/x-tar", ".yaml": "application/yaml",
	".yml": "application/yaml", ".toml": "application/toml",
}
