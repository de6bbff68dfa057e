// Package static holds the storefront's CSS, icon and the one small script,
// embedded so the binary is self-contained.
package static

import "embed"

// FS is served under /static/.
//
//go:embed *.css *.js *.svg
var FS embed.FS
