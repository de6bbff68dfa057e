package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/storefront/store"
)

func TestSandboxSettings(t *testing.T) {
	if _, err := loadSandboxSettings(envFrom(nil)); err == nil || !strings.Contains(err.Error(), "WEBHOOK_URL") {
		t.Errorf("without WEBHOOK_URL: %v", err)
	}
	s, err := loadSandboxSettings(envFrom(map[string]string{"WEBHOOK_URL": "http://localhost:8080/"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "localhost:8090" || s.DataDir != "./sandbox-data" || s.BaseURL != "" ||
		s.WebhookURL != "http://localhost:8080" || s.ShopURL != "http://localhost:8080" || s.Latency != 0 || s.LogLevel != "info" {
		t.Errorf("defaults = %+v", s)
	}
	s, err = loadSandboxSettings(envFrom(map[string]string{
		"WEBHOOK_URL": "http://lb.internal/shop", "SHOP_URL": "https://shop.example.com", "BASE_URL": "https://sandbox.example.com",
		"SANDBOX_LATENCY": "2s", "LOG_LEVEL": "DEBUG", "ADDR": ":9000",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.WebhookURL != "http://lb.internal/shop" || s.ShopURL != "https://shop.example.com" || s.BaseURL != "https://sandbox.example.com" ||
		s.Latency != 2*time.Second || s.LogLevel != "debug" || s.Addr != ":9000" {
		t.Errorf("values = %+v", s)
	}
	for name, env := range map[string]map[string]string{
		"WEBHOOK_URL":     {"WEBHOOK_URL": "localhost:8080"},
		"BASE_URL":        {"WEBHOOK_URL": "http://localhost:8080", "BASE_URL": "http://sandbox/path"},
		"SHOP_URL":        {"WEBHOOK_URL": "http://localhost:8080", "SHOP_URL": "shop"},
		"SANDBOX_LATENCY": {"WEBHOOK_URL": "http://localhost:8080", "SANDBOX_LATENCY": "2h"},
		"ADDR":            {"WEBHOOK_URL": "http://localhost:8080", "ADDR": "8090"},
	} {
		if _, err := loadSandboxSettings(envFrom(env)); err == nil || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("%v: %v, want an error naming %s", env, err, name)
		}
	}
}

func TestConfigSandboxURL(t *testing.T) {
	c, err := loadConfig(envFrom(map[string]string{"SANDBOX_URL": "http://localhost:8090/"}))
	if err != nil || c.SandboxURL != "http://localhost:8090" {
		t.Fatalf("SANDBOX_URL read as %q (%v)", c.SandboxURL, err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"SANDBOX_URL", map[string]string{"SANDBOX_URL": "localhost:8090"}},
		{"SANDBOX_URL", map[string]string{"SANDBOX_URL": "http://localhost:8090/sandbox"}},
		{"SANDBOX_URL", map[string]string{"SANDBOX_URL": "http://localhost:8090", "STRIPE_SECRET_KEY": "sk_test_1"}},
		{"SANDBOX_URL", map[string]string{"SANDBOX_URL": "http://localhost:8090", "PPRO_API_TOKEN": "t", "PPRO_MERCHANT_ID": "m"}},
		{"SANDBOX_LATENCY", map[string]string{"SANDBOX_URL": "http://localhost:8090", "SANDBOX_LATENCY": "1s"}},
	} {
		if _, err := loadConfig(envFrom(tc.env)); err == nil || !strings.HasPrefix(err.Error(), tc.name+":") {
			t.Errorf("%v: %v, want an error naming %s", tc.env, err, tc.name)
		}
	}
}

// An instance whose SANDBOX_URL answers nothing does not start, and says
// which setting to look at; it builds no sandbox of its own meanwhile.
func TestRunWithoutTheSandboxProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := "http://" + ln.Addr().String()
	ln.Close()
	dataDir := t.TempDir()
	// The database is made first: the deadline below is for the wait on the
	// sandbox, and the migrations under -race on a busy machine took more.
	st, err := store.Open(context.Background(), filepath.Join(dataDir, "storefront.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = run(ctx, envFrom(map[string]string{"ADDR": "127.0.0.1:0", "DATA_DIR": dataDir, "SANDBOX_URL": nowhere}), io.Discard)
	var ce *configError
	if !errors.As(err, &ce) || ce.Var != "SANDBOX_URL" || !strings.Contains(err.Error(), nowhere) || !strings.Contains(err.Error(), "storefront sandbox") {
		t.Errorf("run returned %v, want an error naming SANDBOX_URL, its value and how to start a sandbox", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "sandbox.db")); err == nil {
		t.Error("the instance made a sandbox of its own")
	}
}
