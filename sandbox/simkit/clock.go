package simkit

import (
	"context"
	"fmt"
	"time"
)

// ClockOffset is the stored offset of the demo clock (see SetClockOffset).
func (h *Host) ClockOffset(ctx context.Context) (time.Duration, error) {
	var sec int64
	if err := h.db.QueryRowContext(ctx, `SELECT offset_seconds FROM clock WHERE id = 1`).Scan(&sec); err != nil {
		return 0, fmt.Errorf("read the clock offset: %w", err)
	}
	return time.Duration(sec) * time.Second, nil
}

// SetClockOffset stores how far ahead of real time the demo clock runs
// (whole seconds, never negative), for a sandbox that is its own process
// and so keeps the clock the storefront's instances push to it.
func (h *Host) SetClockOffset(ctx context.Context, d time.Duration) error {
	if err := h.writer.exec(ctx, `UPDATE clock SET offset_seconds = ? WHERE id = 1`, int64(max(d, 0)/time.Second)); err != nil {
		return fmt.Errorf("store the clock offset: %w", err)
	}
	return nil
}
