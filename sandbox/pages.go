package sandbox

import (
	"net/http"

	"example.com/storefront/sandbox/simkit"
	"github.com/a-h/templ"
)

// The pages that belong to no provider: the index, the not-found page and
// the refusal of cross-origin form posts.

func (s *Sandbox) handleIndex(w http.ResponseWriter, r *http.Request) {
	var stripe, ppro templ.Component
	if s.stripe != nil {
		stripe = s.stripe.IndexSection()
	}
	if s.ppro != nil {
		ppro = s.ppro.IndexSection()
	}
	declines, err := s.declines(r.Context(), r.URL.Query())
	if err != nil {
		s.host.ServerError(w, r, s.host.Meta("Payment sandbox", simkit.ThemeSandbox, ""), err)
		return
	}
	s.host.Render(w, r, http.StatusOK, indexPage(s.host.Meta("Payment sandbox", simkit.ThemeSandbox, ""), s.shopURL, declines, stripe, ppro))
}

func (s *Sandbox) handlePageNotFound(w http.ResponseWriter, r *http.Request) {
	s.host.RenderMessage(w, r, http.StatusNotFound, s.host.Meta("Not found", simkit.ThemeSandbox, ""), simkit.MessageView{
		Title:    "There is no sandbox page here",
		Body:     "Check the address, or start again from the sandbox's index.",
		LinkURL:  s.host.BasePath() + "/",
		LinkText: "Sandbox index",
	})
}

// handleCrossOrigin answers form posts that another site made, which
// http.CrossOriginProtection refuses.
func (s *Sandbox) handleCrossOrigin(w http.ResponseWriter, r *http.Request) {
	s.host.RenderMessage(w, r, http.StatusForbidden, s.host.Meta("Request refused", simkit.ThemeSandbox, ""), simkit.MessageView{
		Title: "This form was sent from another site",
		Body:  "The sandbox only accepts its own forms. Go back to the page and submit it again.",
	})
}
