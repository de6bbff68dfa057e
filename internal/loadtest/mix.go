package loadtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Weighted is one entry of a mix: a name and its relative weight.
type Weighted struct {
	Name   string
	Weight int
}

// Mix is a weighted choice, in the order it was written.
type Mix []Weighted

// maxWeight keeps each weight small enough that the deck stays small.
const maxWeight = 10_000

// ParseMix reads "name=weight,name=weight" (a bare name weighs 1). Names
// are checked by Options.Validate, which knows which list they belong to.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, weight, hasWeight := strings.Cut(part, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		w := 1
		if hasWeight {
			n, err := strconv.Atoi(strings.TrimSpace(weight))
			if err != nil || n < 0 || n > maxWeight {
				return nil, fmt.Errorf("%q: the weight must be a whole number from 0 to %d", part, maxWeight)
			}
			w = n
		}
		if name == "" {
			return nil, fmt.Errorf("%q: no name before the weight", part)
		}
		if slices.ContainsFunc(m, func(e Weighted) bool { return e.Name == name }) {
			return nil, fmt.Errorf("%q is named twice", name)
		}
		m = append(m, Weighted{Name: name, Weight: w})
	}
	return m, nil
}

// String writes the mix back in the form ParseMix reads.
func (m Mix) String() string {
	parts := make([]string, len(m))
	for i, e := range m {
		parts[i] = e.Name + "=" + strconv.Itoa(e.Weight)
	}
	return strings.Join(parts, ",")
}

func (m Mix) total() int {
	n := 0
	for _, e := range m {
		n += e.Weight
	}
	return n
}

// active lists the names with a positive weight.
func (m Mix) active() []string {
	var names []string
	for _, e := range m {
		if e.Weight > 0 {
			names = append(names, e.Name)
		}
	}
	return names
}

// check reports an empty mix or a name outside known, for the flag named.
func (m Mix) check(flag string, known []string) error {
	if m.total() == 0 {
		return fmt.Errorf("%s: give at least one of %s a positive weight, e.g. %s=1", flag, strings.Join(known, ", "), known[0])
	}
	for _, e := range m {
		if e.Weight < 0 || e.Weight > maxWeight {
			return fmt.Errorf("%s: %s: the weight must be from 0 to %d", flag, e.Name, maxWeight)
		}
		if !slices.Contains(known, e.Name) {
			return fmt.Errorf("%s: unknown %q; the driver knows %s", flag, e.Name, strings.Join(known, ", "))
		}
	}
	return nil
}

// flowSpec is what one flow will do, decided before it starts.
type flowSpec struct {
	N        int // 1-based, in dealing order
	Case     Case
	PayNow   bool
	Instance int // index into the -url list (instanceFor), set when dealt to a run
}

// dealer hands out flows from a shuffled deck holding every provider and
// decision pair in proportion to the product of their weights. So each full
// deck has the exact mix (200 flows of stripe=1,ppro=1 × approve=8,
// decline=1,cancel=1 are exactly 80 stripe/approve, 10 stripe/decline…),
// while the order is random; the seed makes both reproducible, whatever the
// concurrency, because one goroutine deals.
type dealer struct {
	rng      *rand.Rand
	template []Case
	deck     []Case
	payNow   float64
	dealt    int
}

func newDealer(providers, decisions Mix, payNow float64, seed uint64) *dealer {
	var template []Case
	for _, p := range providers {
		for _, d := range decisions {
			for range p.Weight * d.Weight {
				template = append(template, Case{Provider: p.Name, Decision: d.Name})
			}
		}
	}
	return &dealer{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), template: template, payNow: payNow}
}

func (d *dealer) deal() flowSpec {
	if len(d.deck) == 0 {
		d.deck = slices.Clone(d.template)
		d.rng.Shuffle(len(d.deck), func(i, j int) { d.deck[i], d.deck[j] = d.deck[j], d.deck[i] })
	}
	c := d.deck[0]
	d.deck = d.deck[1:]
	d.dealt++
	payNow := false
	if c.Provider == ProviderPPRO && d.payNow > 0 {
		payNow = d.rng.Float64() < d.payNow
	}
	return flowSpec{N: d.dealt, Case: c, PayNow: payNow}
}
