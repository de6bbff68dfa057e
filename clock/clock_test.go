package clock

import (
	"testing"
	"time"
)

func TestOffset(t *testing.T) {
	base := time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC)
	c := New(func() time.Time { return base })
	if !c.Now().Equal(base) || c.Offset() != 0 {
		t.Fatalf("new clock at %s, offset %s", c.Now(), c.Offset())
	}
	c.Set(28 * 24 * time.Hour)
	if got := c.Now(); !got.Equal(base.AddDate(0, 0, 28)) {
		t.Errorf("after Set: %s", got)
	}
	c.Set(-time.Hour)
	if c.Offset() != 0 {
		t.Errorf("negative offset kept: %s", c.Offset())
	}
	var zero Clock
	if d := time.Since(zero.Now()); d < 0 || d > time.Second {
		t.Errorf("zero clock is %s off real time", d)
	}
}

func TestStoppedClockMovesOnlyWhenAdvanced(t *testing.T) {
	base := time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)
	c := Stopped(base)
	time.Sleep(2 * time.Millisecond)
	if !c.Now().Equal(base) {
		t.Fatalf("stopped clock moved by itself: %s", c.Now())
	}
	c.Advance(time.Hour)
	c.Advance(30 * time.Minute)
	if want := base.Add(90 * time.Minute); !c.Now().Equal(want) || c.Offset() != 90*time.Minute {
		t.Errorf("after advancing 1h and 30m: %s (offset %s), want %s", c.Now(), c.Offset(), want)
	}
}
