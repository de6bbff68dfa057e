package main

import (
	"fmt"
	"log/slog"

	"example.com/storefront/delivery"
	"example.com/storefront/mailer"
	"example.com/storefront/store"
)

// newDeliverer makes the deliverer of messages to shoppers: through
// SMTP_URL's server when it is set, and into the sandbox's mailbox in an
// all-sandbox demo (whether or not SMTP_URL is set, so a presenter shows
// what the shopper receives). With neither, nil: messages wait in the
// outbox, which the dashboard shows, until SMTP_URL is set.
func newDeliverer(cfg config, st *store.Store, render delivery.Render, mailbox delivery.Sink, logger *slog.Logger) (*delivery.Deliverer, error) {
	var sinks []delivery.Sink
	if mailbox != nil {
		sinks = append(sinks, mailbox)
	}
	if cfg.SMTP != nil {
		sender, err := mailer.NewSender(*cfg.SMTP)
		if err != nil {
			return nil, fmt.Errorf("SMTP_URL: %w", err)
		}
		sinks = append(sinks, delivery.SMTP{Sender: sender})
	}
	if len(sinks) == 0 {
		logger.Warn("SMTP_URL is not set: messages to shoppers (confirmations, receipts, notices of a price change) wait in the outbox, shown on the dashboard, until it is")
		return nil, nil
	}
	attrs := []any{"from", cfg.MailFrom, "smtp", "off", "sandbox_mailbox", mailbox != nil}
	if cfg.SMTP != nil {
		attrs[3] = cfg.SMTP.String()
	}
	logger.Info("messages to shoppers", attrs...)
	return delivery.New(delivery.Config{Store: st, Render: render, From: cfg.MailFrom, Sinks: sinks,
		Logger: logger.With("component", "delivery")})
}
