//go:build !unix

package pgtest

import (
	"errors"
	"testing"
)

// Server is a throwaway PostgreSQL server; this package starts one only
// on Unix (it runs it on a Unix socket, and as another user under root).
type Server struct{}

var errUnsupported = errors.New("pgtest starts a throwaway PostgreSQL only on Unix: set " + EnvURL)

// Start skips the test (or fails it when CI=true): see the Unix version.
func Start(t testing.TB) *Server {
	t.Helper()
	unavailable(t, errUnsupported)
	return nil
}

func (s *Server) URL() string    { return "" }
func (s *Server) Start() error   { return errUnsupported }
func (s *Server) Stop() error    { return errUnsupported }
func (s *Server) Restart() error { return errUnsupported }
func (s *Server) Kill() error    { return errUnsupported }

func newServer(string) (*Server, error) { return nil, errUnsupported }

func (s *Server) urlOf(string) string { return "" }
func (s *Server) remove() error       { return nil }
