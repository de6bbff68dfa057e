// Package terms holds the versioned mandate terms, embedded as Markdown
// templates, and fills them from the plan and merchant.
//
// A published version never changes (a test pins the SHA-256 of each
// template): to change the wording, add a new file and make it Current. The
// consent record stores the version and the SHA-256 of the filled text, which
// is exactly what the shopper saw.
package terms

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"strings"
	"text/template"

	"example.com/storefront/payments"
)

//go:embed versions/*.md
var versions embed.FS

// Current is the version shown to new shoppers.
const Current = "v3"

// Document is a filled version of the terms.
type Document struct {
	Version string
	// Text is the filled Markdown: everything the shopper is shown, the
	// authorisation sentence included.
	Text string
	// SHA256 is the hex digest of Text.
	SHA256 string
	// Blocks is Text parsed for display, without the authorisation.
	Blocks []Block
	// Authorization is the one sentence the shopper opts in to, shown next
	// to the checkbox and passed to the provider's page.
	Authorization string
}

// BlockKind is a kind of Markdown block the terms use.
type BlockKind int

const (
	Heading BlockKind = iota
	Paragraph
	List
)

// Block is one displayed block: a heading (Level 1–3), a paragraph or a
// bulleted list (Items).
type Block struct {
	Kind  BlockKind
	Level int
	Text  string
	Items []string
}

// Merchant and plan details that fill a template.
type fill struct {
	Merchant string
	Contact  string // where shoppers write (v2 and later)
	PlanName string
	Price    string
	Interval payments.Interval
	Adverb   string
}

// Render fills version for this merchant (and its contact address, which
// versions from v2 name) and plan.
func Render(version, merchant, contact string, plan payments.Plan) (Document, error) {
	raw, err := Template(version)
	if err != nil {
		return Document{}, err
	}
	tmpl, err := template.New(version).Option("missingkey=error").Parse(string(raw))
	if err != nil {
		return Document{}, fmt.Errorf("terms %s: %w", version, err)
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, fill{
		Merchant: merchant,
		Contact:  contact,
		PlanName: plan.Name,
		Price:    plan.Price.String(),
		Interval: plan.Interval,
		Adverb:   plan.Interval.Adverb(),
	})
	if err != nil {
		return Document{}, fmt.Errorf("terms %s: %w", version, err)
	}
	text := buf.String()
	sum := sha256.Sum256([]byte(text))
	doc := Document{Version: version, Text: text, SHA256: hex.EncodeToString(sum[:])}
	doc.Blocks, doc.Authorization = parse(text)
	if doc.Authorization == "" {
		return Document{}, fmt.Errorf("terms %s: no authorisation sentence (a line starting with \"> \")", version)
	}
	return doc, nil
}

// Template returns the raw, unfilled template of version.
func Template(version string) ([]byte, error) {
	if strings.ContainsAny(version, "/.") {
		return nil, fmt.Errorf("terms: bad version %q", version)
	}
	raw, err := versions.ReadFile("versions/" + version + ".md")
	if err != nil {
		return nil, fmt.Errorf("terms: unknown version %q", version)
	}
	return raw, nil
}

// parse reads the small Markdown subset the terms use: "#" headings,
// paragraphs, "- " lists and one "> " authorisation line. It yields plain
// text blocks, so the views escape everything and no HTML is ever trusted.
func parse(text string) (blocks []Block, authorization string) {
	var para []string
	var list []string
	flush := func() {
		if len(para) > 0 {
			blocks = append(blocks, Block{Kind: Paragraph, Text: strings.Join(para, " ")})
			para = nil
		}
		if len(list) > 0 {
			blocks = append(blocks, Block{Kind: List, Items: list})
			list = nil
		}
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "#"):
			flush()
			level := len(line) - len(strings.TrimLeft(line, "#"))
			blocks = append(blocks, Block{Kind: Heading, Level: min(level, 3), Text: strings.TrimSpace(line[level:])})
		case strings.HasPrefix(line, "- "):
			if len(para) > 0 {
				flush()
			}
			list = append(list, strings.TrimPrefix(line, "- "))
		case strings.HasPrefix(line, "> "):
			flush()
			authorization = strings.TrimPrefix(line, "> ")
		default:
			if len(list) > 0 {
				flush()
			}
			para = append(para, line)
		}
	}
	flush()
	return blocks, authorization
}
