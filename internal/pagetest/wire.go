package pagetest

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Wire sends method u with the given Accept-Encoding (none when "") and
// other headers (name, value, …) through a client that decodes nothing,
// and returns the answer and its body as sent: what a browser receives,
// compressed or not.
func Wire(t testing.TB, method, u, acceptEncoding string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// Send makes one request with c (a form when form is not nil), reads the
// body to the end, so that the connection is reused as a browser's is, and
// returns the answer; a 4xx or 5xx fails the test. Benchmarks use it: it
// parses nothing, so the figures are the servers' work.
func Send(t testing.TB, c *http.Client, method, u string, form url.Values) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 400 {
		t.Fatalf("%s %s: %d", method, u, resp.StatusCode)
	}
	return resp
}
