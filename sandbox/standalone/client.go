package standalone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"example.com/storefront/sandbox/mailbox"
)

// FetchKeys asks the sandbox at sandboxURL ("http://localhost:8090") for
// its keys, trying again for up to wait: an instance may start at the same
// moment as the sandbox.
func FetchKeys(ctx context.Context, client *http.Client, sandboxURL string, wait time.Duration) (Keys, error) {
	deadline := time.Now().Add(wait)
	for {
		keys, err := fetchKeys(ctx, client, sandboxURL)
		if err == nil || time.Now().After(deadline) {
			return keys, err
		}
		select {
		case <-ctx.Done():
			return Keys{}, errors.Join(err, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func fetchKeys(ctx context.Context, client *http.Client, sandboxURL string) (Keys, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(sandboxURL, "/")+"/sandbox/keys", nil)
	if err != nil {
		return Keys{}, err
	}
	var keys Keys
	if err := do(client, req, &keys); err != nil {
		return Keys{}, err
	}
	if keys.StripeSecretKey == "" || keys.PPROToken == "" || keys.PublicURL == "" {
		return Keys{}, fmt.Errorf("GET %s: the answer lacks keys", req.URL)
	}
	return keys, nil
}

// Clock sets the demo clock of the sandbox at URL: a worker.Demo's Remote.
type Clock struct {
	URL    string // "http://localhost:8090"
	Key    string // the sandbox's Stripe secret key (Keys.StripeSecretKey)
	Client *http.Client
}

// SetOffset puts the sandbox's clock d ahead of real time.
func (c *Clock) SetOffset(ctx context.Context, d time.Duration) error {
	sec := int64(d / time.Second)
	body, _ := json.Marshal(clockBody{OffsetSeconds: &sec})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimRight(c.URL, "/")+"/sandbox/clock", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Key)
	return do(c.Client, req, nil)
}

// Offset reads the sandbox's clock offset.
func (c *Clock) Offset(ctx context.Context) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.URL, "/")+"/sandbox/clock", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	var body clockBody
	if err := do(c.Client, req, &body); err != nil {
		return 0, err
	}
	if body.OffsetSeconds == nil {
		return 0, fmt.Errorf("GET %s: the answer has no offset_seconds", req.URL)
	}
	return time.Duration(*body.OffsetSeconds) * time.Second, nil
}

// Mailbox delivers messages to the mailbox of the sandbox at URL, for an
// instance whose sandbox is its own process (SANDBOX_URL); an instance
// with the sandbox built in calls (*sandbox.Sandbox).Mailbox() instead.
type Mailbox struct {
	URL    string // "http://localhost:8090"
	Key    string // the sandbox's Stripe secret key (Keys.StripeSecretKey)
	Client *http.Client
}

// Deliver hands msg to the sandbox's mailbox, which keeps one copy per
// msg.Key: delivering again after a lost answer is safe.
func (m *Mailbox) Deliver(ctx context.Context, msg mailbox.Message) (mailbox.Delivery, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the HTML part as it is, not three times larger
	if err := enc.Encode(msg); err != nil {
		return mailbox.Delivery{}, fmt.Errorf("encode message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(m.URL, "/")+"/sandbox/mail/messages", &buf)
	if err != nil {
		return mailbox.Delivery{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+m.Key)
	var d mailbox.Delivery
	if err := do(m.Client, req, &d); err != nil {
		return mailbox.Delivery{}, err
	}
	if d.ID == 0 {
		return mailbox.Delivery{}, fmt.Errorf("POST %s: the answer has no message id", req.URL)
	}
	return d, nil
}

// do sends req and decodes a 200 or 201 answer's JSON into out (if not nil).
func do(client *http.Client, req *http.Request, out any) error {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	return nil
}
