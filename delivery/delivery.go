// Package delivery sends the outbox's messages to shoppers.
//
// A message is written to the outbox in the transaction of the event that
// causes it (store/messages.go); the deliverer claims due messages with a
// lease, renders each one from its stored facts, hands it to every sink
// (the SMTP server of SMTP_URL, the sandbox's mailbox in an all-sandbox
// demo) and marks it sent. A sink that fails for now leaves the message
// pending, tried again after a growing wait; a permanent refusal, a
// message that cannot be rendered, or one that kept failing for
// MaxAttempts is marked failed, which the merchant's dashboard shows.
//
// It runs on its own loop, apart from the worker's passes: a slow or
// absent mail server never holds billing, a page, or a demo clock move
// back.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"example.com/storefront/mailer"
	"example.com/storefront/sandbox/mailbox"
	"example.com/storefront/store"
)

// Sink takes a rendered message: an SMTP server, the sandbox's mailbox.
type Sink interface {
	// Send delivers m. An error for which mailer.Permanent is true will
	// not succeed on a retry.
	Send(ctx context.Context, m mailer.Message) error
	// Name says which sink it is, for the logs and the message's record.
	Name() string
}

// Render turns an outbox message about mandate m (the zero Mandate for a
// message about none) into an email, without From.
type Render func(m store.Mandate, msg store.Message) (mailer.Message, error)

// Config is what a Deliverer needs.
type Config struct {
	Store  *store.Store
	Render Render
	From   string // MAIL_FROM, as mailer.ParseFrom accepts it
	Sinks  []Sink
	// Every is how often the outbox is looked at (default 1s): a message
	// goes out within about that long of its event.
	Every time.Duration
	// Lease is how long a claimed message is left to its deliverer
	// (default 1m): longer than one SMTP conversation may take.
	Lease time.Duration
	// Batch bounds the messages taken per look (default 20).
	Batch int
	// FirstRetry is the wait after a first failure (default 10s); each
	// further failure doubles it, up to MaxWait (default 1h).
	FirstRetry time.Duration
	MaxWait    time.Duration
	// MaxAttempts is how many times a message is tried before it is
	// marked failed (default 30: about a day with the default waits).
	MaxAttempts int
	Logger      *slog.Logger
}

// Deliverer delivers the outbox's messages until its context ends.
type Deliverer struct {
	cfg Config
	log *slog.Logger
}

// New returns a Deliverer with defaults filled in. It needs at least one
// sink: without one, messages wait in the outbox (see main).
func New(cfg Config) (*Deliverer, error) {
	if cfg.Store == nil || cfg.Render == nil || len(cfg.Sinks) == 0 {
		return nil, errors.New("delivery: a store, a renderer and at least one sink are needed")
	}
	if _, err := mailer.ParseFrom(cfg.From); err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 20
	}
	if cfg.FirstRetry <= 0 {
		cfg.FirstRetry = 10 * time.Second
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = time.Hour
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 30
	}
	d := &Deliverer{cfg: cfg, log: cfg.Logger}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

// Run delivers what is due every Every until ctx ends.
func (d *Deliverer) Run(ctx context.Context) {
	t := time.NewTicker(d.cfg.Every)
	defer t.Stop()
	for {
		if _, err := d.Deliver(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("delivering messages", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Deliver sends the messages that are due, until none is left or ctx
// ends, and reports how many were sent.
func (d *Deliverer) Deliver(ctx context.Context) (int, error) {
	// A read first: a claim is a write, which would take SQLite's write
	// lock every second on every instance for an outbox that is empty.
	if due, err := d.cfg.Store.MessagesDue(ctx); err != nil || !due {
		return 0, err
	}
	sent := 0
	for ctx.Err() == nil {
		msgs, err := d.cfg.Store.ClaimMessages(ctx, d.cfg.Lease, d.cfg.Batch)
		if err != nil || len(msgs) == 0 {
			return sent, err
		}
		for _, msg := range msgs {
			ok, err := d.deliverOne(ctx, msg)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
	return sent, nil
}

// deliverOne renders msg and hands it to every sink. An error is the
// store's; what the sinks said is recorded on the message.
func (d *Deliverer) deliverOne(ctx context.Context, msg store.Message) (bool, error) {
	var m store.Mandate
	if msg.MandateID != "" {
		var err error
		if m, err = d.cfg.Store.Mandate(ctx, msg.MandateID); err != nil {
			return false, fmt.Errorf("message %s: %w", msg.Key, err)
		}
	}
	out, err := d.cfg.Render(m, msg)
	if err != nil {
		d.log.Error("a message that cannot be rendered is given up", "key", msg.Key, "kind", msg.Kind, "error", err)
		return false, d.cfg.Store.FailMessage(ctx, msg.ID, "cannot be rendered: "+err.Error())
	}
	out.From = d.cfg.From
	// The sinks in order; a retry hands the message to all of them again
	// (the mailbox keeps one copy per key; an SMTP server may get it twice
	// after a crash, with the same Message-ID).
	for _, s := range d.cfg.Sinks {
		err := s.Send(ctx, out)
		if err == nil {
			continue
		}
		problem := s.Name() + ": " + err.Error()
		if mailer.Permanent(err) || msg.Attempts >= d.cfg.MaxAttempts {
			d.log.Error("a message is given up", "key", msg.Key, "kind", msg.Kind, "attempts", msg.Attempts, "error", problem)
			return false, d.cfg.Store.FailMessage(ctx, msg.ID, problem)
		}
		wait := d.wait(msg.Attempts)
		d.log.Warn("a message could not be sent; trying again later", "key", msg.Key, "kind", msg.Kind,
			"attempts", msg.Attempts, "in", wait, "error", problem)
		return false, d.cfg.Store.RetryMessage(ctx, msg.ID, problem, d.cfg.Store.RealNow().Add(wait))
	}
	if err := d.cfg.Store.MessageWasSent(ctx, msg.ID); err != nil {
		return false, err
	}
	d.log.Info("message sent", "key", msg.Key, "kind", msg.Kind, "mandate_id", msg.MandateID)
	return true, nil
}

// wait is the wait after the attempts-th failure: FirstRetry doubled per
// earlier failure, at most MaxWait.
func (d *Deliverer) wait(attempts int) time.Duration {
	w := d.cfg.FirstRetry
	for i := 1; i < attempts && w < d.cfg.MaxWait; i++ {
		w *= 2
	}
	return min(w, d.cfg.MaxWait)
}

// SMTP is a sink that sends through a mail server.
type SMTP struct{ Sender *mailer.Sender }

func (s SMTP) Send(ctx context.Context, m mailer.Message) error { return s.Sender.Send(ctx, m) }
func (SMTP) Name() string                                       { return "smtp" }

// Mailbox is a sink that puts messages in the sandbox's mailbox, in this
// process (*mailbox.Box) or in a sandbox process of its own
// (*standalone.Mailbox).
type Mailbox struct {
	Box interface {
		Deliver(ctx context.Context, msg mailbox.Message) (mailbox.Delivery, error)
	}
}

func (b Mailbox) Send(ctx context.Context, m mailer.Message) error {
	_, err := b.Box.Deliver(ctx, mailbox.Message{Key: m.Key, From: m.From, To: m.To, Subject: m.Subject,
		Text: m.Text, HTML: m.HTML, Headers: m.Headers})
	return err
}
func (Mailbox) Name() string { return "sandbox mailbox" }
