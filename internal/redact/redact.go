package redact

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
)

// Mask stands in for every secret removed.
const Mask = "REDACTED"

// minSecret is the shortest secret Scrubber hides where it stands alone in
// text. Shorter query values ("page=2", "v=1") are rarely credentials, and
// replacing every "2" in an error message would garble it; the URL around
// them is still hidden wherever it appears whole.
const minSecret = 6

// URL returns s with whatever may be a credential masked: the password of
// the userinfo (the user name alone when there is no password: an API key
// sent as the basic-auth user), the value of every query parameter (a bare
// parameter whole), and the fragment. Scheme, host, path and parameter
// names stay, which is what an operator needs to tell URLs apart. A string
// that does not parse keeps only what comes before anything that might be a
// credential.
//
// Every query value is masked rather than those whose names look secret:
// "?t=", "?s=" and "?X-Amz-Signature=" all carry credentials, and no list of
// names keeps up with what services call theirs.
func URL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.IndexAny(s, "@?#"); i >= 0 {
			if j := strings.Index(s, "://"); j >= 0 && j < i {
				return s[:j+3] + Mask
			}
			return Mask
		}
		return s
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Mask)
		} else if u.User.Username() != "" {
			u.User = url.User(Mask)
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = query(u.RawQuery)
	}
	if u.Fragment != "" {
		u.Fragment, u.RawFragment = Mask, ""
	}
	return u.String()
}

// query masks the values of a raw query by hand rather than through
// url.Values, so that parameter order and names stay as written.
func query(q string) string {
	parts := strings.Split(q, "&")
	for i, part := range parts {
		name, value, hasValue := strings.Cut(part, "=")
		switch {
		case !hasValue && part != "":
			parts[i] = Mask // "?<token>"
		case value != "":
			parts[i] = name + "=" + Mask
		}
	}
	return strings.Join(parts, "&")
}

// Scrubber hides one URL's secrets in text that may quote them: errors from
// net/http, which quote the URL whole, and response bodies, which may echo
// the request line or the token. Build it once per URL; it is safe for
// concurrent use.
type Scrubber struct {
	r       *strings.Replacer
	longest int
}

// NewScrubber returns the Scrubber for rawURL.
func NewScrubber(rawURL string) *Scrubber {
	masked := URL(rawURL)
	var pairs []string
	add := func(old, new string) {
		if old != "" && old != new {
			pairs = append(pairs, old, new)
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		add(rawURL, masked)
		return newScrubber(pairs)
	}
	mu, _ := url.Parse(masked)
	// Whole forms first: strings.Replacer prefers the earlier pair at a
	// position, so the URL is replaced by its masked form (still readable)
	// before any of its parts is.
	add(rawURL, masked)
	add(u.String(), masked)
	if _, ok := u.User.Password(); ok {
		// net/http quotes the URL with the password as "***", written in
		// by hand (url.UserPassword would escape the stars).
		add(strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":***@", 1), masked)
	}
	if mu != nil {
		add(u.RequestURI(), mu.RequestURI())
	}
	var secrets []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p, url.PathEscape(p), url.QueryEscape(p))
		} else {
			name := u.User.Username()
			secrets = append(secrets, name, url.PathEscape(name), url.QueryEscape(name))
		}
	}
	for _, part := range strings.Split(u.RawQuery, "&") {
		_, v, ok := strings.Cut(part, "=")
		if !ok {
			v = part
		}
		secrets = append(secrets, v)
		if dec, err := url.QueryUnescape(v); err == nil {
			secrets = append(secrets, dec)
		}
	}
	secrets = append(secrets, u.Fragment, u.EscapedFragment())
	// Longest first, so a secret that contains another is hidden whole.
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, s := range slices.Compact(secrets) {
		if len(s) >= minSecret {
			add(s, Mask)
		}
	}
	return newScrubber(pairs)
}

func newScrubber(pairs []string) *Scrubber {
	s := &Scrubber{r: strings.NewReplacer(pairs...)}
	for i := 0; i < len(pairs); i += 2 {
		s.longest = max(s.longest, len(pairs[i]))
	}
	return s
}

// Longest is the length of the longest text String replaces. A caller that
// quotes only the first n bytes of something should scrub its first
// n+Longest() bytes and cut after: a secret the cut would split is then
// still seen whole.
func (s *Scrubber) Longest() int { return s.longest }

// String returns text with the URL's secrets masked.
func (s *Scrubber) String(text string) string {
	return s.r.Replace(text)
}

// Error returns err with its message scrubbed. errors.Is and errors.As still
// see err and what it wraps, so a timeout is still told from a refused
// connection. A *url.Error, which net/http returns for every failed request
// and whose URL field holds the whole URL, stays a *url.Error with the URL
// masked, so that even code that digs it out with errors.As sees no secret.
func (s *Scrubber) Error(err error) error {
	if err == nil {
		return nil
	}
	if ue, ok := err.(*url.Error); ok {
		return &url.Error{Op: ue.Op, URL: s.String(ue.URL), Err: s.Error(ue.Err)}
	}
	msg := s.String(err.Error())
	if msg == err.Error() {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
