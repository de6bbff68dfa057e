package mandate

import (
	"testing"

	"example.com/storefront/payments"
)

// Every pair of statuses, spelled out, so that a change to the graph has to
// change this table too.
func TestDecideEveryTransition(t *testing.T) {
	want := map[Status]map[Status]Decision{
		Pending:  {Pending: Repeat, Active: Move, Failed: Move, Canceled: Move, Revoked: Stale},
		Active:   {Pending: Stale, Active: Repeat, Failed: Stale, Canceled: Stale, Revoked: Move},
		Failed:   {Pending: Stale, Active: Stale, Failed: Repeat, Canceled: Stale, Revoked: Stale},
		Canceled: {Pending: Stale, Active: Stale, Failed: Stale, Canceled: Repeat, Revoked: Stale},
		Revoked:  {Pending: Stale, Active: Stale, Failed: Stale, Canceled: Stale, Revoked: Repeat},
	}
	if len(want) != len(statuses) {
		t.Fatalf("table covers %d statuses, there are %d", len(want), len(statuses))
	}
	for _, from := range statuses {
		for _, to := range statuses {
			if got := Decide(from, to); got != want[from][to] {
				t.Errorf("Decide(%s, %s) = %s, want %s", from, to, got, want[from][to])
			}
		}
	}
}

// A late "pending" after "active", or a repeated success, never regresses.
func TestLateAndRepeatedEvents(t *testing.T) {
	events := []Status{Active, Pending, Active, Failed, Canceled}
	s := Pending
	for _, e := range events {
		if Decide(s, e) == Move {
			s = e
		}
	}
	if s != Active {
		t.Fatalf("after %v the mandate is %s, want active", events, s)
	}
}

func TestTerminal(t *testing.T) {
	for _, s := range statuses {
		moves := 0
		for _, to := range statuses {
			if Decide(s, to) == Move {
				moves++
			}
		}
		if got, want := s.Terminal(), moves == 0; got != want {
			t.Errorf("%s.Terminal() = %v, but it has %d moves", s, got, moves)
		}
	}
	if Status("paused").Valid() {
		t.Error("unknown status reported valid")
	}
}

func TestFromSetup(t *testing.T) {
	for in, want := range map[payments.SetupState]Status{
		payments.SetupPending:   Pending,
		payments.SetupSucceeded: Active,
		payments.SetupFailed:    Failed,
		payments.SetupCanceled:  Canceled,
		payments.SetupRevoked:   Revoked,
		"something else":        Pending,
	} {
		if got := FromSetup(in); got != want {
			t.Errorf("FromSetup(%s) = %s, want %s", in, got, want)
		}
	}
}
