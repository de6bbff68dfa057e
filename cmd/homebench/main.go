// Command homebench measures GET / of a running storefront against a bare
// net/http handler that writes the same bytes: it fetches the page (as a
// browser that accepts gzip gets it, and as a client that does not), serves
// those bytes from a bare handler on another loopback port, and runs wrk
// against each in turn, alternating, so that both see the same machine.
// It prints each run's requests per second, the storefront's share of the
// bare handler's, and the page's size on the wire. Given the storefront's
// process id (-pid), it also prints the CPU time each server spent per
// request, which a machine shared with other work disturbs far less than
// requests per second.
//
//	ADMIN_PASSWORD='a long demo password' ADDR=127.0.0.1:8080 go run . >/dev/null &
//	go run ./cmd/homebench -url http://127.0.0.1:8080/ -pid $! -rounds 3
//
// It needs wrk (Debian: apt-get install wrk). -gzip=false measures clients
// that do not accept gzip (wrk's default).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/internal/cputime"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "homebench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("homebench", flag.ContinueOnError)
	target := fs.String("url", "http://127.0.0.1:8080/", "the storefront's home page")
	rounds := fs.Int("rounds", 3, "wrk runs against each, alternating")
	duration := fs.Duration("duration", 5*time.Second, "each wrk run")
	threads := fs.Int("threads", 2, "wrk -t")
	conns := fs.Int("connections", 32, "wrk -c")
	gz := fs.Bool("gzip", true, "send Accept-Encoding: gzip, as browsers do")
	pid := fs.Int("pid", 0, "the storefront's process id, to report its CPU time per request (Linux)")
	sameHeaders := fs.Bool("same-headers", false, "the bare handler also sends the storefront's response headers (security headers, Vary, a request id), not only its body")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is not installed (apt-get install wrk)")
	}

	plain, plainHeader, err := fetch(*target, "")
	if err != nil {
		return err
	}
	gzipped, gzipHeader, err := fetch(*target, "gzip")
	if err != nil {
		return err
	}
	enc := gzipHeader.Get("Content-Encoding")
	fmt.Fprintf(out, "GET / on the wire: %d bytes; for a client that accepts gzip: %d bytes (Content-Encoding %q)\n",
		len(plain), len(gzipped), enc)

	// The bare handler: the same bytes, the same Content-Type, nothing else.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, header, zipped := plain, plainHeader, false
		if enc != "" && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			body, header, zipped = gzipped, gzipHeader, true
		}
		if *sameHeaders {
			for k, v := range header {
				if k != "Date" {
					w.Header()[k] = v
				}
			}
		} else {
			if zipped {
				w.Header().Set("Content-Encoding", enc)
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Write(body)
	})}
	go bare.Serve(ln)
	defer bare.Shutdown(context.Background())
	bareURL := "http://" + ln.Addr().String() + "/"

	appCPU := func() time.Duration { return procCPU(*pid) }
	if *pid == 0 {
		appCPU = func() time.Duration { return 0 }
	}
	var app, base, appUS, baseUS []float64
	for i := range *rounds {
		for _, t := range []struct {
			url string
			rps *[]float64
			us  *[]float64
			cpu func() time.Duration
		}{{*target, &app, &appUS, appCPU}, {bareURL, &base, &baseUS, cputime.Process}} {
			before := t.cpu()
			rps, n, err := wrk(t.url, *threads, *conns, *duration, *gz)
			if err != nil {
				return err
			}
			*t.rps = append(*t.rps, rps)
			*t.us = append(*t.us, float64(t.cpu()-before)/float64(time.Microsecond)/float64(n))
		}
		fmt.Fprintf(out, "round %d: storefront %.0f req/s, bare %.0f req/s: %.1f %%", i+1, app[i], base[i], 100*app[i]/base[i])
		if *pid != 0 {
			fmt.Fprintf(out, "; CPU per request: storefront %.1f µs, bare %.1f µs", appUS[i], baseUS[i])
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "median: storefront %.0f req/s, bare %.0f req/s: %.1f %%", median(app), median(base), 100*median(app)/median(base))
	if *pid != 0 {
		fmt.Fprintf(out, "; CPU per request: storefront %.1f µs, bare %.1f µs: bare/storefront %.1f %%",
			median(appUS), median(baseUS), 100*median(baseUS)/median(appUS))
	}
	fmt.Fprintln(out)
	return nil
}

// fetch GETs u as it is sent: with acceptEncoding, the compressed bytes.
func fetch(u, acceptEncoding string) (body []byte, header http.Header, err error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding) // set by hand: the transport leaves the body as sent
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return body, resp.Header, err
}

var (
	requestsPerSec = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	requestsDone   = regexp.MustCompile(`([0-9]+) requests in `)
)

// wrk runs wrk against u and returns its requests per second and requests.
func wrk(u string, threads, conns int, d time.Duration, gz bool) (float64, int, error) {
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s"}
	if gz {
		args = append(args, "-H", "Accept-Encoding: gzip")
	}
	var stdout bytes.Buffer
	cmd := exec.Command("wrk", append(args, u)...)
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("wrk %s: %w", u, err)
	}
	text := stdout.String()
	if strings.Contains(text, "Non-2xx") {
		return 0, 0, fmt.Errorf("wrk %s: some answers were not 2xx:\n%s", u, text)
	}
	m, n := requestsPerSec.FindStringSubmatch(text), requestsDone.FindStringSubmatch(text)
	if m == nil || n == nil {
		return 0, 0, fmt.Errorf("wrk %s: no Requests/sec in:\n%s", u, text)
	}
	rps, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, 0, err
	}
	done, err := strconv.Atoi(n[1])
	return rps, max(done, 1), err
}

// procCPU is the user and system time process pid has used (Linux's
// /proc/<pid>/stat, in clock ticks of 10 ms), or 0 if it cannot be read.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name (which may hold spaces) in
	// parentheses: utime and stime are the 12th and 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
