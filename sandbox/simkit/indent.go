package simkit

// Indented is the compact JSON src (as json.Marshal or an Encoder writes
// it: no white space outside strings) indented as json.Indent(dst, src,
// "", indent) would indent it, in one pass. The Stripe part answers and
// delivers its events indented, as Stripe does, and encoding/json's
// Indent, which checks its input with its scanner byte by byte, was most
// of the cost of each answer and event; src here is known to be valid.
func Indented(src []byte, indent string) []byte {
	dst := make([]byte, 0, len(src)*3/2)
	depth := 0
	newline := func(dst []byte) []byte {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, indent...)
		}
		return dst
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '"':
			// Copy the string whole: up to its closing quote, skipping
			// escaped characters.
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			end := min(j+1, len(src))
			dst = append(dst, src[i:end]...)
			i = end - 1
		case '{', '[':
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, c, src[i+1]) // empty: "{}", "[]"
				i++
				continue
			}
			depth++
			dst = newline(append(dst, c))
		case '}', ']':
			depth--
			dst = append(newline(dst), c)
		case ',':
			dst = newline(append(dst, c))
		case ':':
			dst = append(dst, ':', ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
