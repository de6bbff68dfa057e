package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// The presenter's "decline the next payments": a payment method (Stripe)
// or agreement (PPRO) whose charges all decline with a magic amount's
// code, whatever their amount, until turned off, so the all-sandbox demo
// shows a decline, its retries and the end for non-payment on the shop
// that is running (no restart with a magic plan price).

// declineRow is one payment method or agreement whose charges decline.
type declineRow struct {
	ID, Label string
}

// declinesView is the index's "Declines" section.
type declinesView struct {
	Action string
	Rows   []declineRow
	// ID and Back prefill the form, from the query (?decline=…&back=…):
	// the merchant dashboard links here with the mandate's reference.
	ID, Back string
	Notice   string
}

// magicLabel says what a magic case does to a charge.
func magicLabel(magic int64) string {
	switch magic {
	case simkit.DeclineGeneric:
		return "declined (generic_decline, as …01)"
	case simkit.DeclineInsufficientFunds:
		return "declined (insufficient_funds, as …02)"
	}
	return "by its amount"
}

// declines lists the declines set, for the index page.
func (s *Sandbox) declines(ctx context.Context, q url.Values) (declinesView, error) {
	v := declinesView{Action: s.host.BasePath() + "/declines", ID: truncated(q.Get("decline")), Back: safeBack(q.Get("back"))}
	switch q.Get("declines") {
	case "on":
		v.Notice = "Every charge of " + truncated(q.Get("id")) + " now declines."
	case "off":
		v.Notice = "The charges of " + truncated(q.Get("id")) + " go by their amount again."
	}
	err := s.host.Write(ctx, func(tx *simkit.WriteTx) error {
		rows, err := tx.QueryContext(ctx, `SELECT object_id, magic FROM declines ORDER BY object_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var magic int64
			if err := rows.Scan(&id, &magic); err != nil {
				return err
			}
			v.Rows = append(v.Rows, declineRow{ID: id, Label: magicLabel(magic)})
		}
		return rows.Err()
	})
	if err != nil {
		return v, fmt.Errorf("list declines: %w", err)
	}
	return v, nil
}

// errNoSuchObject: the id is neither a saved payment method nor an agreement.
var errNoSuchObject = errors.New("no such payment method or agreement")

// handleDeclines sets or clears the decline of a payment method or
// agreement, then goes back where the form came from (a path on this
// origin: the dashboard of an in-process demo), or to the index.
func (s *Sandbox) handleDeclines(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.PostFormValue("id"))
	magic, err := strconv.ParseInt(r.PostFormValue("magic"), 10, 64)
	if err != nil || (magic != 0 && magic != simkit.DeclineGeneric && magic != simkit.DeclineInsufficientFunds) {
		magic, id = 0, "" // refused below
	}
	s.host.Lock()
	defer s.host.Unlock()
	err = s.host.Write(r.Context(), func(tx *simkit.WriteTx) error {
		var n int
		if err := tx.QueryRowContext(r.Context(), `SELECT (SELECT count(*) FROM stripe_payment_methods WHERE id = ?)
			+ (SELECT count(*) FROM ppro_agreements WHERE id = ?)`, id, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return errNoSuchObject
		}
		return simkit.SetDecline(r.Context(), tx, id, magic)
	})
	if errors.Is(err, errNoSuchObject) {
		s.host.RenderMessage(w, r, http.StatusUnprocessableEntity, s.host.Meta("Payment sandbox", simkit.ThemeSandbox, ""), simkit.MessageView{
			Title: "Nothing was changed", Body: "Give the id of a saved payment method (pm_…) or of an agreement (agr_…), and a decline.",
			LinkURL: s.host.BasePath() + "/#declines", LinkText: "Back to the declines",
		})
		return
	}
	if err != nil {
		s.host.ServerError(w, r, s.host.Meta("Payment sandbox", simkit.ThemeSandbox, ""), err)
		return
	}
	state := "on"
	if magic == 0 {
		state = "off"
	}
	to := s.host.BasePath() + "/?" + url.Values{"declines": {state}, "id": {id}}.Encode() + "#declines"
	if back := safeBack(r.PostFormValue("back")); back != "" {
		to = back
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// safeBack is back if it is a path on this origin (never another site's
// address), else "".
func safeBack(back string) string {
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") || len(back) > 300 {
		return ""
	}
	return back
}

func truncated(s string) string {
	if len(s) > 80 {
		return s[:80]
	}
	return s
}
