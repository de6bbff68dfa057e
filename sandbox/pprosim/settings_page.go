package pprosim

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// The index page's controls for the settings and the chargebacks: plain
// forms that answer 303 back to the index, like the revocation buttons.

func (s *Sim) pproSettingsRoutes(mux *http.ServeMux, pages *simkit.Pages) {
	mux.Handle("POST /sandbox/ppro/settings", pages.Page(s.handlePPROSettings))
	mux.Handle("POST /sandbox/ppro/chargebacks/{id}", pages.Page(s.handlePPROChargeback))
}

// Form fields of the settings form; durations in seconds.
const (
	fieldSettleAfter   = "settle_after_s"
	fieldEchoReference = "echo_charge_reference"
	fieldRevocationLag = "revocation_lag_s"
	fieldProcessing    = "processing_s"
)

// maxSettingSeconds bounds the durations the form takes: a day.
const maxSettingSeconds = 86400

func (s *Sim) handlePPROSettings(w http.ResponseWriter, r *http.Request) {
	if !s.parseIndexForm(w, r) {
		return
	}
	var v Settings
	for _, f := range []struct {
		field string
		into  *time.Duration
	}{{fieldSettleAfter, &v.SettleAfter}, {fieldRevocationLag, &v.RevocationLag}, {fieldProcessing, &v.Processing}} {
		d, err := formSeconds(r.PostForm.Get(f.field))
		if err != nil {
			s.indexRefusal(w, r, http.StatusBadRequest, "A setting is not a number of seconds",
				fmt.Sprintf("%s: %v. Nothing was changed.", f.field, err))
			return
		}
		*f.into = d
	}
	v.EchoChargeReference = r.PostForm.Get(fieldEchoReference) == "on"
	s.SetSettings(v)
	http.Redirect(w, r, s.host.BasePath()+"/#ppro-settings", http.StatusSeeOther)
}

// formSeconds reads a whole number of seconds, 0 to a day; "" is 0.
func formSeconds(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxSettingSeconds {
		return 0, fmt.Errorf("%q is not a whole number from 0 to %d", v, maxSettingSeconds)
	}
	return time.Duration(n) * time.Second, nil
}

func (s *Sim) handlePPROChargeback(w http.ResponseWriter, r *http.Request) {
	if !s.parseIndexForm(w, r) {
		return
	}
	var won bool
	switch r.PostForm.Get("outcome") {
	case "won":
		won = true
	case "lost":
	default:
		s.indexRefusal(w, r, http.StatusBadRequest, "Choose an outcome", "The merchant won or lost the chargeback; nothing was changed.")
		return
	}
	err := s.ResolveChargeback(r.Context(), r.PathValue("id"), won)
	switch {
	case errors.Is(err, simkit.ErrNotFound):
		s.indexRefusal(w, r, http.StatusNotFound, "There is no such chargeback", "It may belong to another sandbox database; nothing was changed.")
	case errors.Is(err, ErrChargebackResolved):
		s.indexRefusal(w, r, http.StatusConflict, "This chargeback is already decided", "Nothing was changed.")
	case err != nil:
		s.host.ServerError(w, r, s.indexMeta(), err)
	default:
		http.Redirect(w, r, s.host.BasePath()+"/#ppro-chargebacks", http.StatusSeeOther)
	}
}

// indexChargeback is one row of the index page's chargebacks.
type indexChargeback struct {
	Chargeback
	Action string // the outcome form's action; only while open
}

// indexChargebacks lists the newest chargebacks for the index page.
func (s *Sim) indexChargebacks(r []Chargeback) []indexChargeback {
	out := make([]indexChargeback, 0, len(r))
	for _, cb := range r {
		row := indexChargeback{Chargeback: cb}
		if cb.Outcome == "" {
			row.Action = s.host.BasePath() + "/ppro/chargebacks/" + cb.ID
		}
		out = append(out, row)
	}
	return out
}

// seconds writes a duration as whole seconds, for the form's fields.
func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
