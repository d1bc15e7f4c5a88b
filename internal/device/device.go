// Package device turns a raw User-Agent header into a short device name,
// such as "Firefox 128 on Windows", for the "your sessions" page: a user
// tells their sessions apart at a glance, where the raw header is long and
// wraps mid-token.
//
// It is a few rules over the common browsers, not a User-Agent parser. A
// sessions list needs no more, and the project adds no dependency for it.
// What the rules miss still gets a name: the first product token of the
// header ("curl 8.5"), or failing that its first bytes.
package device

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// maxLen bounds every name, so that one long header cannot stretch the
	// page.
	maxLen = 64
	// maxGarbage is how much of a header without a product token is shown:
	// enough to recognise it, short enough to stay on one line.
	maxGarbage = 40
	// maxProduct bounds the product name of a non-browser client.
	maxProduct = 32
	// maxDigits bounds a version number; a longer one is not a real
	// version, and is left out rather than cut into a wrong one.
	maxDigits = 6

	unknown = "Unknown device"
)

// browsers are matched in order, and the first whose token occurs in the
// header wins. The order matters because User-Agents lie for compatibility:
// Edge, Opera and Samsung Internet also send "Chrome/", HeadlessChrome/
// contains "Chrome/", every browser on iOS (CriOS, FxiOS, EdgiOS) sends
// "Safari/" and some "Version/", and Chrome sends "Safari/" too. So each
// rule comes before every rule whose token its browser also sends.
var browsers = []struct {
	token string // what identifies the browser
	name  string
	// version is the token the major version follows, when it is not token
	// itself.
	version string
}{
	{token: "Edg/", name: "Edge"},
	{token: "EdgA/", name: "Edge"},   // Android
	{token: "EdgiOS/", name: "Edge"}, // iOS
	{token: "OPR/", name: "Opera"},
	{token: "SamsungBrowser/", name: "Samsung Internet"},
	{token: "CriOS/", name: "Chrome"},  // iOS
	{token: "FxiOS/", name: "Firefox"}, // iOS
	{token: "HeadlessChrome/", name: "Headless Chrome"},
	{token: "Chrome/", name: "Chrome"},
	{token: "Firefox/", name: "Firefox"},
	// Safari's "Safari/" carries the WebKit build; the release is in
	// "Version/".
	{token: "Safari/", name: "Safari", version: "Version/"},
}

// systems are matched in order too: Android and ChromeOS headers may also
// say "Linux". iPhone and iPad headers say "like Mac OS X" but not
// "Macintosh"; an iPad that asks for desktop sites sends a Mac's header and
// is named a Mac, there is no telling them apart.
var systems = []struct{ token, name string }{
	{"Windows", "Windows"},
	{"iPhone", "iPhone"},
	{"iPad", "iPad"},
	{"Macintosh", "macOS"},
	{"Android", "Android"},
	{"CrOS", "ChromeOS"},
	{"Linux", "Linux"},
}

// Name returns a short name for the device that sent userAgent: "Chrome 156
// on Linux", "Safari 17 on iPhone", "curl 8.5". The name is never empty, at
// most 64 bytes of valid UTF-8, and holds only printable characters and
// single spaces, whatever the header holds.
func Name(userAgent string) string {
	ua := strings.TrimSpace(userAgent)
	if ua == "" {
		return unknown
	}
	name := browser(ua)
	if name == "" {
		name = program(ua)
	}
	if name == "" {
		name = truncate(ua, maxGarbage)
	}
	// The names built above are ASCII already, except the garbage; tidy
	// them all anyway, so that the guarantee does not hang on each rule.
	if name = tidy(name); name == "" {
		return unknown
	}
	return name
}

// browser names a known browser, or returns "".
func browser(ua string) string {
	for _, b := range browsers {
		if !strings.Contains(ua, b.token) {
			continue
		}
		vtok := b.version
		if vtok == "" {
			vtok = b.token
		}
		name := b.name
		if v := major(after(ua, vtok)); v != "" {
			name += " " + v
		}
		if os := system(ua); os != "" {
			name += " on " + os
		}
		return name
	}
	// An in-app browser (a WKWebView, say) names no browser, but still
	// tells which device it runs on, and that tells sessions apart better
	// than the "Mozilla 5.0" every browser starts with.
	if strings.HasPrefix(ua, "Mozilla/") {
		if os := system(ua); os != "" {
			return "Browser on " + os
		}
	}
	return ""
}

// system names the operating system, or returns "".
func system(ua string) string {
	for _, s := range systems {
		if strings.Contains(ua, s.token) {
			return s.name
		}
	}
	return ""
}

// program names a client by the first product token of its header,
// "Product/1.2.3 ..." as "Product 1.2", or returns "" when the header does
// not start with one.
func program(ua string) string {
	word, _, _ := strings.Cut(ua, " ")
	product, version, ok := strings.Cut(word, "/")
	if !ok || !isProduct(product) {
		return ""
	}
	if product == "Go-http-client" {
		// Its version is the HTTP version, not Go's.
		return "Go HTTP client"
	}
	name := truncate(product, maxProduct)
	if v := majorMinor(version); v != "" {
		name += " " + v
	}
	return name
}

// isProduct reports whether s is an HTTP token (RFC 9110, section 5.6.2)
// that starts with a letter, as every real product name does; this is what
// tells "curl/8.5.0" from garbage.
func isProduct(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !isDigit(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// after returns what follows the first tok in s, or "".
func after(s, tok string) string {
	if i := strings.Index(s, tok); i >= 0 {
		return s[i+len(tok):]
	}
	return ""
}

// major returns the leading number of a version ("156" of "156.0.0.0"),
// or "".
func major(v string) string {
	n := digits(v)
	return v[:n]
}

// majorMinor returns "1.2" of "1.2.3", "1" of "1", or "".
func majorMinor(v string) string {
	n := digits(v)
	if n == 0 {
		return ""
	}
	if n < len(v) && v[n] == '.' {
		if m := digits(v[n+1:]); m > 0 {
			return v[:n+1+m]
		}
	}
	return v[:n]
}

// digits returns how many ASCII digits s starts with, or 0 if that is more
// than maxDigits.
func digits(s string) int {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	if n > maxDigits {
		return 0
	}
	return n
}

// tidy makes s fit for the page: valid UTF-8, every run of non-printable
// characters and spaces (controls, line breaks, bidi overrides, invalid
// bytes) one space, trimmed, at most maxLen bytes.
func tidy(s string) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	return strings.TrimSpace(truncate(s, maxLen))
}

// truncate cuts s to at most n bytes, without splitting the rune at the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Back off to the start of the rune that straddles the cut, but no
	// further than a rune is long: invalid UTF-8 may have no start.
	for i := n; i > 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i]
		}
	}
	return s[:n]
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
