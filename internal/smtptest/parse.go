package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
)

// Header is a parsed message header.
type Header = mail.Header

// parse fills the header, subject and text parts of r from r.Raw, as a mail
// reader would show them: transfer encodings and encoded words decoded, lines
// ending in "\n".
func parse(r *Received) error {
	msg, err := mail.ReadMessage(bytes.NewReader(r.Raw))
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	r.Header = msg.Header
	var dec mime.WordDecoder
	if r.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return fmt.Errorf("decode subject: %w", err)
	}
	return walk(r, textproto.MIMEHeader(msg.Header), msg.Body)
}

// walk descends into multipart bodies and keeps the first text/plain and
// text/html leaf.
func walk(r *Received, h textproto.MIMEHeader, body io.Reader) error {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ct, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart: decode transfer encodings here, for every part alike.
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := walk(r, p.Header, p); err != nil {
				return err
			}
		}
	}
	var decoded io.Reader
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		decoded = quotedprintable.NewReader(body)
	case "base64":
		decoded = base64.NewDecoder(base64.StdEncoding, &newlineStripper{r: body})
	default:
		decoded = body
	}
	b, err := io.ReadAll(decoded)
	if err != nil {
		return fmt.Errorf("decode %s part: %w", mediaType, err)
	}
	// SMTP carries lines ending in CRLF; a reader shows plain lines.
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch {
	case mediaType == "text/plain" && r.Text == "":
		r.Text = text
	case mediaType == "text/html" && r.HTML == "":
		r.HTML = text
	}
	return nil
}

// newlineStripper drops CR and LF so base64 split into lines decodes.
type newlineStripper struct{ r io.Reader }

func (n *newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
