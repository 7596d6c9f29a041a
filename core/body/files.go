package body

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/problem"
)

// fileCheck is one declared file part (config.FileParam), prepared once.
type fileCheck struct {
	param   config.FileParam
	allowed []string // lower-case media types; "type/*" and "*/*" are wildcards
	loc     []any
}

func newFileChecks(ps []config.FileParam) []fileCheck {
	out := make([]fileCheck, 0, len(ps))
	for _, p := range ps {
		fc := fileCheck{param: p, loc: []any{"files", p.Name}}
		for _, a := range p.ContentTypes {
			fc.allowed = append(fc.allowed, bareMediaType(a))
		}
		out = append(out, fc)
	}
	return out
}

// checkFiles applies the declared file checks to the uploaded files. A file
// belongs to a declaration when its part name, without bracket suffixes,
// equals the declared name ("docs" and "docs[]" both match "docs"). Errors use
// loc ["files", name] (plus the file's index when several share the name).
func checkFiles(checks []fileCheck, files []*fileLeaf) []problem.ErrorItem {
	var errs []problem.ErrorItem
	var segs []string
	for i := range checks {
		c := &checks[i]
		var mine []*fileLeaf
		for _, f := range files {
			segs = splitKey(f.field, segs[:0])
			if segs[0] == c.param.Name {
				mine = append(mine, f)
			}
		}
		if len(mine) == 0 {
			if c.param.Required {
				errs = append(errs, problem.ErrorItem{Type: "missing", Loc: slices.Clone(c.loc), Msg: "Field required"})
			}
			continue
		}
		for j, f := range mine {
			errs = c.check(errs, f, j, len(mine) > 1)
		}
	}
	return errs
}

// check appends the failures of one file; every item gets a fresh Loc.
func (c *fileCheck) check(errs []problem.ErrorItem, f *fileLeaf, j int, indexed bool) []problem.ErrorItem {
	loc := func() []any {
		if indexed {
			return []any{"files", c.param.Name, j}
		}
		return []any{"files", c.param.Name}
	}
	declared := bareMediaType(f.contentType)
	if len(c.allowed) > 0 && !mediaAllowed(c.allowed, declared) {
		allowed := make([]any, len(c.param.ContentTypes))
		for i, a := range c.param.ContentTypes {
			allowed[i] = a
		}
		errs = append(errs, problem.ErrorItem{
			Type: "validation_error", Loc: loc(),
			Msg: "Invalid content type '" + f.contentType + "'. Allowed types: " + strings.Join(c.param.ContentTypes, ", "),
			Ctx: map[string]any{"allowed_types": allowed, "provided_type": f.contentType},
		})
	}
	size := int64(len(f.data))
	if c.param.MaxSize > 0 && size > c.param.MaxSize {
		errs = append(errs, problem.ErrorItem{
			Type: "validation_error", Loc: loc(),
			Msg: "File too large. Maximum size is " + strconv.FormatInt(c.param.MaxSize, 10) + " bytes",
			Ctx: map[string]any{"max_size": c.param.MaxSize, "file_size": size},
		})
	}
	if c.param.ValidateMagicNumbers {
		if size == 0 {
			errs = append(errs, problem.ErrorItem{
				Type: "validation_error", Loc: loc(), Msg: "File buffer is empty",
				Ctx: map[string]any{"buffer_size": 0},
			})
		} else if detected := detectFileType(f.data); detected != "" && !mimeCompatible(declared, detected) {
			n := min(len(f.data), 8)
			errs = append(errs, problem.ErrorItem{
				Type: "validation_error", Loc: loc(),
				Msg: "File type mismatch: MIME type is " + declared + " but magic numbers indicate " + detected,
				Ctx: map[string]any{
					"declared_mime": declared,
					"detected_type": detected,
					"magic_bytes":   hex.EncodeToString(f.data[:n]),
				},
			})
		}
	}
	return errs
}

// bareMediaType lower-cases a media type and drops its parameters.
func bareMediaType(s string) string {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(strings.TrimSpace(s))
}

func mediaAllowed(allowed []string, mt string) bool {
	for _, a := range allowed {
		switch {
		case a == mt, a == "*/*", a == "*":
			return true
		case strings.HasSuffix(a, "/*") && strings.HasPrefix(mt, a[:len(a)-1]):
			return true
		}
	}
	return false
}

// magic lists the signatures detectFileType knows, first match wins.
var magic = []struct {
	off  int
	sig  string
	mime string
}{
	{0, "\x89PNG\r\n\x1a\n", "image/png"},
	{0, "\xff\xd8\xff", "image/jpeg"},
	{0, "GIF87a", "image/gif"},
	{0, "GIF89a", "image/gif"},
	{8, "WEBP", "image/webp"}, // after "RIFF" + size, checked below
	{0, "%PDF-", "application/pdf"},
	{0, "PK\x03\x04", "application/zip"},
	{0, "PK\x05\x06", "application/zip"}, // empty archive
	{0, "PK\x07\x08", "application/zip"}, // spanned archive
	{0, "\x1f\x8b", "application/gzip"},
	{0, "Rar!\x1a\x07", "application/x-rar-compressed"},
	{0, "7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"},
	{0, "II*\x00", "image/tiff"},
	{0, "MM\x00*", "image/tiff"},
}

// detectFileType names the type the leading bytes announce, or "".
func detectFileType(b []byte) string {
	for _, m := range magic {
		if len(b) < m.off+len(m.sig) || string(b[m.off:m.off+len(m.sig)]) != m.sig {
			continue
		}
		if m.mime == "image/webp" && !bytes.HasPrefix(b, []byte("RIFF")) {
			continue
		}
		return m.mime
	}
	return ""
}

// mimeCompatible reports whether a declared media type agrees with the type
// detected from magic numbers. application/octet-stream (or no type) declares
// nothing and never conflicts; zip-based containers (docx, odt, epub, jar,
// apk, ...) agree with zip.
func mimeCompatible(declared, detected string) bool {
	if declared == "" || declared == "application/octet-stream" || declared == detected {
		return true
	}
	switch detected {
	case "image/jpeg":
		return declared == "image/jpg" || declared == "image/pjpeg"
	case "image/png":
		return declared == "image/x-png" || declared == "image/apng"
	case "application/pdf":
		return declared == "application/x-pdf"
	case "application/gzip":
		return declared == "application/x-gzip" || declared == "application/gzip-compressed"
	case "application/x-rar-compressed":
		return declared == "application/vnd.rar" || declared == "application/x-rar"
	case "application/zip":
		switch declared {
		case "application/x-zip-compressed", "application/x-zip", "application/java-archive",
			"application/vnd.android.package-archive", "application/vnd.ms-xpsdocument":
			return true
		}
		return strings.HasSuffix(declared, "+zip") ||
			strings.HasPrefix(declared, "application/vnd.openxmlformats-officedocument.") ||
			strings.HasPrefix(declared, "application/vnd.oasis.opendocument.")
	}
	return false
}
