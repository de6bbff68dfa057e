package static

import "testing"

func TestUnhashed(t *testing.T) {
	for in, want := range map[string]string{
		"app.0123456789ab.css":    "app.css",
		"app.css":                 "app.css",
		"app.0123456789.css":      "app.0123456789.css", // too short for a hash
		"app.0123456789xz.css":    "app.0123456789xz.css",
		"my.app.0123456789ab.css": "my.app.css",
		"0123456789ab":            "0123456789ab",
	} {
		if got := unhashed(in); got != want {
			t.Errorf("unhashed(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		header, etag string
		want         bool
	}{
		{`"abc"`, `"abc"`, true},
		{`W/"abc"`, `"abc"`, true},
		{`"x", "abc"`, `"abc"`, true},
		{`*`, `"abc"`, true},
		{`"abc-gzip"`, `"abc"`, false},
		{``, `"abc"`, false},
	} {
		if got := matches(tc.header, tc.etag); got != tc.want {
			t.Errorf("matches(%q, %q) = %v", tc.header, tc.etag, got)
		}
	}
}

// Every embedded file has a hashed path that the handler's catalogue knows.
func TestEveryFileHasAHashedPath(t *testing.T) {
	for _, name := range []string{"app.css", "admin.css", "autosubmit.js", "favicon.svg"} {
		p := Path(name)
		if a := assets().byHashed[p[len(Prefix):]]; a == nil || a.name != name {
			t.Errorf("Path(%q) = %q, not served", name, p)
		}
	}
}
