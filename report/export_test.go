package report

import (
	"bytes"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// NoFetch fails t if the page would make the browser fetch anything: an
// element that loads (img, script, link, iframe, object, embed, source,
// video, audio, use, image, input type=image), a src, srcset, poster,
// data, background or xlink:href attribute, a CSS @import or url() in a
// <style> or a style attribute, a <meta http-equiv=refresh>, or a
// Content-Security-Policy that would allow a fetch. <a href> is a link
// the reader follows, not a fetch; it must go to https. Shared with
// html_browser_test.go (package report_test).
func NoFetch(t testing.TB, page []byte) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("the page does not parse: %v", err)
	}
	css := regexp.MustCompile(`(?i)@import|url\s*\(|image-set\s*\(|expression\s*\(`)
	csp := ""
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "img", "script", "link", "iframe", "frame", "object", "embed", "source", "video", "audio", "track", "use", "image", "picture", "base", "form", "portal":
			t.Errorf("the page has a <%s> element", n.Data)
		case "style":
			if n.FirstChild != nil && css.MatchString(n.FirstChild.Data) {
				t.Errorf("<style> loads something: %s", css.FindString(n.FirstChild.Data))
			}
		case "meta":
			var equiv, content string
			for _, a := range n.Attr {
				switch strings.ToLower(a.Key) {
				case "http-equiv":
					equiv = strings.ToLower(a.Val)
				case "content":
					content = a.Val
				}
			}
			if equiv == "refresh" {
				t.Errorf("<meta http-equiv=refresh>")
			}
			if equiv == "content-security-policy" {
				csp = content
			}
		}
		for _, a := range n.Attr {
			switch key := strings.ToLower(a.Key); {
			case key == "src", key == "srcset", key == "poster", key == "data", key == "background", key == "xlink:href", key == "ping", key == "action", key == "formaction":
				t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
			case key == "style" && css.MatchString(a.Val):
				t.Errorf("<%s style=%q> loads something", n.Data, a.Val)
			case key == "href":
				u, err := url.Parse(a.Val)
				if n.Data != "a" || err != nil || u.Scheme != "https" || u.Host == "" {
					t.Errorf("<%s href=%q>: only https links are allowed", n.Data, a.Val)
				}
			}
		}
	}
	if !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q, want default-src 'none'", csp)
	}
}
