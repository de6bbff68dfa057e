// Package ppro is a typed client for PPRO's Global API v1 payment
// agreements (Amazon Pay recurring payments) and the payments.Provider that
// uses it.
//
// Every call sends Authorization: Bearer and Merchant-Id; every POST sends a
// Request-Idempotency-Key derived from the caller's own key, so a retry (on
// a network error, 429 or 5xx, 504 included) can never create twice.
package ppro

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SandboxURL is PPRO's own sandbox API (not this app's built-in sandbox).
const SandboxURL = "https://api.sandbox.eu.ppro.com"

// Config configures a Client.
type Config struct {
	BaseURL    string // e.g. SandboxURL; without a trailing slash
	Token      string // the API key, sent as a bearer token
	MerchantID string // sent as Merchant-Id
	// HTTPClient makes each attempt; nil means one with a 30 s timeout.
	HTTPClient *http.Client
	// MaxRetries is how many times a retryable failure is retried
	// (default 3; negative means none).
	MaxRetries int
	// Backoff is the wait before retry n (1, 2, …); nil means exponential
	// from 250 ms with full jitter, at most 4 s.
	Backoff func(n int) time.Duration
}

// Client calls PPRO's API.
type Client struct {
	base       string
	token      string
	merchantID string
	http       *http.Client
	maxRetries int
	backoff    func(int) time.Duration
}

// NewClient checks cfg and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	base := strings.TrimSuffix(cfg.BaseURL, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("ppro: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.Token == "" || cfg.MerchantID == "" {
		return nil, errors.New("ppro: a token and a merchant id are required")
	}
	c := &Client{base: base, token: cfg.Token, merchantID: cfg.MerchantID, http: cfg.HTTPClient,
		maxRetries: cfg.MaxRetries, backoff: cfg.Backoff}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.maxRetries == 0 {
		c.maxRetries = 3
	}
	if c.backoff == nil {
		c.backoff = defaultBackoff
	}
	return c, nil
}

func defaultBackoff(n int) time.Duration {
	ceiling := min(250*time.Millisecond<<(n-1), 4*time.Second)
	return time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond
}

// CreateAgreement creates a payment agreement.
func (c *Client) CreateAgreement(ctx context.Context, req AgreementRequest, idempotencyKey string) (Agreement, error) {
	var a Agreement
	err := c.do(ctx, "create agreement", http.MethodPost, "/v1/payment-agreements", req, idempotencyKey, &a)
	return a, err
}

// GetAgreement fetches a payment agreement.
func (c *Client) GetAgreement(ctx context.Context, id string) (Agreement, error) {
	var a Agreement
	err := c.do(ctx, "get agreement", http.MethodGet, "/v1/payment-agreements/"+url.PathEscape(id), nil, "", &a)
	return a, err
}

// CreateAgreementCharge charges an agreement. A declined charge is not an
// error: PPRO answers 200 with a FAILED charge and its failure.
func (c *Client) CreateAgreementCharge(ctx context.Context, agreementID string, req ChargeRequest, idempotencyKey string) (Charge, error) {
	var ch Charge
	err := c.do(ctx, "create agreement charge", http.MethodPost,
		"/v1/payment-agreements/"+url.PathEscape(agreementID)+"/payment-charges", req, idempotencyKey, &ch)
	return ch, err
}

// GetCharge fetches a payment charge.
func (c *Client) GetCharge(ctx context.Context, id string) (Charge, error) {
	var ch Charge
	err := c.do(ctx, "get charge", http.MethodGet, "/v1/payment-charges/"+url.PathEscape(id), nil, "", &ch)
	return ch, err
}

// RefundCharge refunds part or all of a captured charge. A declined refund
// is not an error: PPRO answers 200 with a FAILED refund.
func (c *Client) RefundCharge(ctx context.Context, chargeID string, req RefundRequest, idempotencyKey string) (Refund, error) {
	var r Refund
	err := c.do(ctx, "refund charge", http.MethodPost, "/v1/payment-charges/"+url.PathEscape(chargeID)+"/refunds", req, idempotencyKey, &r)
	return r, err
}

// GetRefund fetches one refund of a charge.
func (c *Client) GetRefund(ctx context.Context, chargeID, refundID string) (Refund, error) {
	var r Refund
	err := c.do(ctx, "get refund", http.MethodGet,
		"/v1/payment-charges/"+url.PathEscape(chargeID)+"/refunds/"+url.PathEscape(refundID), nil, "", &r)
	return r, err
}

// ListRefunds fetches every refund of a charge (getRefunds).
func (c *Client) ListRefunds(ctx context.Context, chargeID string) ([]Refund, error) {
	var res struct {
		Data []Refund `json:"data"`
	}
	err := c.do(ctx, "list refunds", http.MethodGet, "/v1/payment-charges/"+url.PathEscape(chargeID)+"/refunds", nil, "", &res)
	return res.Data, err
}

// SearchCharges finds the charges with our reference (on one agreement,
// when agreementID is set), following PPRO's page cursor.
func (c *Client) SearchCharges(ctx context.Context, reference, agreementID string) ([]Charge, error) {
	var all []Charge
	page := ""
	for range 20 { // a reference names one charge; bound the walk anyway
		q := url.Values{"merchantPaymentChargeReference": {reference}}
		if agreementID != "" {
			q.Set("agreementId", agreementID)
		}
		if page != "" {
			q.Set("page", page)
		}
		var res chargeSearch
		if err := c.do(ctx, "search charges", http.MethodGet, "/v1/payment-charges?"+q.Encode(), nil, "", &res); err != nil {
			return nil, err
		}
		all = append(all, res.Data...)
		if res.NextPage == "" || len(res.Data) == 0 {
			break
		}
		page = res.NextPage
	}
	return all, nil
}

// RevokeAgreement revokes an agreement on the merchant's behalf. A refused
// revocation is not an error: the result says FAILED and why.
func (c *Client) RevokeAgreement(ctx context.Context, agreementID, idempotencyKey string) (RevocationResult, error) {
	var r RevocationResult
	err := c.do(ctx, "revoke agreement", http.MethodPost,
		"/v1/payment-agreements/"+url.PathEscape(agreementID)+"/revocations", struct{}{}, idempotencyKey, &r)
	return r, err
}

// Error is an answer from PPRO that is not a success.
type Error struct {
	Op         string
	StatusCode int
	// Message is PPRO's failureMessage (or message, which its 401 uses).
	Message   string
	Timestamp string
	// Replayed is true when PPRO answered from its idempotency store.
	Replayed bool
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("ppro: %s: HTTP %d: %s", e.Op, e.StatusCode, msg)
}

// Temporary reports whether trying again later may succeed.
func (e *Error) Temporary() bool { return retryable(e.StatusCode) }

// retryable: 429 and 5xx (504 included), and 409, which PPRO answers while
// the first request with the same idempotency key is still in flight (we
// never reuse a key with another body, its other meaning).
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusConflict || status >= 500
}

// do sends one API call, retrying retryable failures with the same
// idempotency key, and decodes a success into out.
func (c *Client) do(ctx context.Context, op, method, path string, in any, idempotencyKey string, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("ppro: %s: encode request: %w", op, err)
		}
	}
	if method == http.MethodPost && idempotencyKey == "" {
		return fmt.Errorf("ppro: %s: an idempotency key is required", op)
	}
	rawURL := c.base + path // path segments are already escaped
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(c.backoff(attempt))
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("ppro: %s: %w (after %v)", op, ctx.Err(), lastErr)
			case <-t.C:
			}
		}
		retry, err := c.attempt(ctx, op, method, rawURL, body, idempotencyKey, out)
		if err == nil {
			return nil
		}
		lastErr = err
		if !retry || attempt >= c.maxRetries || ctx.Err() != nil {
			return err
		}
	}
}

func (c *Client) attempt(ctx context.Context, op, method, rawURL string, body []byte, idempotencyKey string, out any) (retry bool, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return false, fmt.Errorf("ppro: %s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Merchant-Id", c.merchantID)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Request-Idempotency-Key", IdempotencyKey(idempotencyKey))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// Network errors and timeouts: the request may or may not have
		// arrived; the idempotency key makes trying again safe.
		return ctx.Err() == nil, fmt.Errorf("ppro: %s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return true, fmt.Errorf("ppro: %s: read answer: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Op: op, StatusCode: resp.StatusCode, Replayed: resp.Header.Get("Request-Idempotency") == "true"}
		var eb struct {
			FailureMessage string `json:"failureMessage"`
			Message        string `json:"message"`
			Timestamp      string `json:"timestamp"`
		}
		if json.Unmarshal(data, &eb) == nil {
			e.Message, e.Timestamp = eb.FailureMessage, eb.Timestamp
			if e.Message == "" {
				e.Message = eb.Message
			}
		}
		return retryable(resp.StatusCode), e
	}
	if err := json.Unmarshal(data, out); err != nil {
		return false, fmt.Errorf("ppro: %s: decode answer: %w", op, err)
	}
	return false, nil
}

// IdempotencyKey turns the caller's key (derived from our own row, e.g.
// "mandate/md_…/agreement") into the UUID form PPRO recommends. The same
// key always gives the same UUID.
func IdempotencyKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	sum[6] = sum[6]&0x0f | 0x80 // version 8: custom, deterministic
	sum[8] = sum[8]&0x3f | 0x80 // RFC 9562 variant
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
