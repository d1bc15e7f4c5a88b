package device

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// browserTests are User-Agents as the browsers send them, with the names
// the sessions page shows for them.
var browserTests = []struct {
	ua, want string
}{
	// Chrome
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome 156 on Linux"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome 156 on Windows"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome 156 on macOS"},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", "Chrome 120 on Android"},
	{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36", "Chrome 119 on ChromeOS"},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/156.0.7778.73 Mobile/15E148 Safari/604.1", "Chrome 156 on iPhone"},
	{"Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/156.0.7778.73 Mobile/15E148 Safari/604.1", "Chrome 156 on iPad"},
	// chromedp's browser.
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Headless Chrome 156 on Linux"},

	// Firefox
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 on Windows"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:140.0) Gecko/20100101 Firefox/140.0", "Firefox 140 on macOS"},
	{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", "Firefox 140 on Linux"},
	{"Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0", "Firefox 121 on Android"},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15", "Firefox 121 on iPhone"},
	// An OS the rules do not know: the browser alone.
	{"Mozilla/5.0 (X11; FreeBSD amd64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128"},

	// Safari
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15", "Safari 17 on macOS"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Safari/605.1.15", "Safari 26 on macOS"},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "Safari 17 on iPhone"},
	{"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "Safari 17 on iPad"},
	// An in-app browser (WKWebView) names no browser.
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "Browser on iPhone"},

	// Edge
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "Edge 120 on Windows"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 Edg/156.0.0.0", "Edge 156 on macOS"},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.0.0", "Edge 120 on Android"},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/120.0.2210.126 Mobile/15E148 Safari/605.1.15", "Edge 120 on iPhone"},

	// Opera
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0", "Opera 106 on Windows"},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 OPR/79.1.4195.76505", "Opera 79 on Android"},

	// Samsung Internet
	{"Mozilla/5.0 (Linux; Android 14; SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "Samsung Internet 23 on Android"},
}

// otherTests are clients that are not browsers, and headers that are not
// User-Agents at all.
var otherTests = []struct {
	name, ua, want string
}{
	{"curl", "curl/8.5.0", "curl 8.5"},
	{"Go HTTP/1.1", "Go-http-client/1.1", "Go HTTP client"},
	{"Go HTTP/2", "Go-http-client/2.0", "Go HTTP client"},
	{"Wget", "Wget/1.21.4", "Wget 1.21"},
	{"python-requests", "python-requests/2.32.3", "python-requests 2.32"},
	{"Postman", "PostmanRuntime/7.43.0", "PostmanRuntime 7.43"},
	{"product and comment", "Prometheus/3.1.0 (+https://prometheus.io)", "Prometheus 3.1"},
	{"major only", "okhttp/4", "okhttp 4"},
	{"version not a number", "foo/bar baz", "foo"},
	{"Mozilla alone", "Mozilla/5.0", "Mozilla 5.0"},
	{"long product", strings.Repeat("A", 100) + "/1.0", strings.Repeat("A", 32) + " 1.0"},
	{"long version", "Chrome/1234567890.0 (X11; Linux x86_64)", "Chrome on Linux"},

	{"empty", "", "Unknown device"},
	{"whitespace", " \t\r\n ", "Unknown device"},
	{"controls only", "\x00\x07\x1b\x7f", "Unknown device"},
	{"invalid UTF-8", "\xff\xfe\xfd", "\uFFFD"},
	{"garbage", "!!! not a user agent !!!", "!!! not a user agent !!!"},
	{"long garbage", "this is definitely not a user agent header, is it?", "this is definitely not a user agent head"},
	{"garbage with controls", "\x1b[2J\r\nhello\tthere", "[2J hello there"},
	{"bidi override", "(\u202egnp.exe)", "( gnp.exe)"},
	// 40 bytes falls inside the 14th three-byte rune; it is left out
	// whole.
	{"garbage cut between runes", strings.Repeat("日", 20), strings.Repeat("日", 13)},
	{"huge garbage", strings.Repeat("x", 1<<20), strings.Repeat("x", 40)},
}

func TestNameBrowsers(t *testing.T) {
	for _, tt := range browserTests {
		if got := Name(tt.ua); got != tt.want {
			t.Errorf("Name(%q)\n = %q, want %q", tt.ua, got, tt.want)
		}
	}
}

func TestNameOthers(t *testing.T) {
	for _, tt := range otherTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Name(tt.ua); got != tt.want {
				t.Errorf("Name(%.80q) = %q, want %q", tt.ua, got, tt.want)
			}
		})
	}
}

func FuzzName(f *testing.F) {
	for _, tt := range browserTests {
		f.Add(tt.ua)
	}
	for _, tt := range otherTests {
		if len(tt.ua) <= 1024 { // the fuzzer mutates the seeds; keep them small
			f.Add(tt.ua)
		}
	}
	f.Fuzz(func(t *testing.T, ua string) {
		got := Name(ua)
		switch {
		case got == "":
			t.Fatalf("Name(%q) is empty", ua)
		case len(got) > maxLen:
			t.Fatalf("Name(%q) = %q, %d bytes, want at most %d", ua, got, len(got), maxLen)
		case !utf8.ValidString(got):
			t.Fatalf("Name(%q) = %q, not valid UTF-8", ua, got)
		case got != strings.TrimSpace(got):
			t.Fatalf("Name(%q) = %q, not trimmed", ua, got)
		}
		for _, r := range got {
			// IsPrint is stricter than !IsControl: it also rules out
			// format characters such as bidi overrides, and every space
			// but ' '.
			if unicode.IsControl(r) || !unicode.IsPrint(r) {
				t.Fatalf("Name(%q) = %q, holds %U", ua, got, r)
			}
		}
	})
}
