package simkit

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestDeliveryBodyIndentsCompactPayloadsOnly(t *testing.T) {
	compact := []byte(`{"id":"evt_1","data":{"object":{"note":"a\nb","list":[1,2],"empty":{}}}}`)
	var indented bytes.Buffer
	if err := json.Indent(&indented, compact, "", "  "); err != nil {
		t.Fatal(err)
	}
	stripe := WebhookEndpoint{Indent: "  "}
	if got := body(stripe, compact); !bytes.Equal(got, indented.Bytes()) {
		t.Errorf("a compact payload went as\n%s\nwant\n%s", got, indented.Bytes())
	}
	// Stored indented by an earlier version: sent as it is, not indented twice.
	if got := body(stripe, indented.Bytes()); !bytes.Equal(got, indented.Bytes()) {
		t.Errorf("an indented payload went as\n%s", got)
	}
	// An endpoint that does not indent gets the payload as stored.
	if got := body(WebhookEndpoint{}, compact); !bytes.Equal(got, compact) {
		t.Errorf("went as %s, want it as stored", got)
	}
}
